"""What the model is told, and what the template receives, built from one paid order.

The prompt carries the organisation's answers and the names of the uploaded documents, but
not the buyer's contact details (name, e-mail): the model does not need them to write the kit,
so they are never sent to the API. The template gets them, straight from the order.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from gated_delivery.api import GenerationRequest

#: The form answers the template receives, in the order the prompt lists them.
ANSWER_VARIABLES: Final = (
    "organization_name",
    "contact_name",
    "email",
    "statut_juridique",
    "location",
    "sector",
    "mission_text",
    "context_text",
    "budget_range",
    "funding_sources",
    "audits_types",
    "audits_frequency",
    "staff_size",
    "org_chart_text",
    "notes_text",
)
#: Every variable a template may use; each is always defined (an empty string when blank).
TEMPLATE_VARIABLES: Final = (*ANSWER_VARIABLES, "generated_content", "documents_count")
#: Answers kept out of the prompt: personal data the model has no use for.
NOT_SENT_TO_MODEL: Final = frozenset({"contact_name", "email", "buyer_name", "buyer_email"})

# characters XML 1.0 refuses (they would corrupt the .docx) and those docxtpl reads as
# paragraph and page breaks (\a, \f) in rendered text
_NOT_XML: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


def clean_text(value: str) -> str:
    """``value`` with Windows line ends unified and characters Word cannot hold removed."""
    return _NOT_XML.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))


def answer_text(value: Any) -> str:
    """An answer as text: lists joined with commas, None and blanks as an empty string."""
    if value is None:
        return ""
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(t for t in (answer_text(v) for v in value) if t)
    if isinstance(value, bool):
        return "oui" if value else "non"  # the forms and the kit are in French
    return clean_text(str(value)).strip()


def template_context(request: GenerationRequest) -> dict[str, Any]:
    """The template variables known before generation (all but ``generated_content``)."""
    answers = request.answers
    context: dict[str, Any] = {name: answer_text(answers.get(name)) for name in ANSWER_VARIABLES}
    # the checkout asks for a name and an e-mail; the form may not repeat them
    context["contact_name"] = context["contact_name"] or answer_text(request.buyer_name)
    context["email"] = context["email"] or answer_text(request.buyer_email)
    context["documents_count"] = len(request.document_names)
    return context


def user_message(answers: Mapping[str, Any], document_names: tuple[str, ...]) -> str:
    """The order as the model reads it: the answers given, then the documents' names."""
    known = [n for n in ANSWER_VARIABLES if n in answers]
    others = sorted(str(k) for k in answers if k not in ANSWER_VARIABLES)
    lines = ["Order answers:"]
    for name in (*known, *others):
        if name in NOT_SENT_TO_MODEL:
            continue
        text = answer_text(answers[name])
        if text:
            # an answer on several lines stays one list item, indented
            lines.append(f"- {name}: " + text.replace("\n", "\n  "))
    lines.append(f"Uploaded documents ({len(document_names)}):")
    lines.extend(f"- {clean_text(name)}" for name in document_names)
    return "\n".join(lines)


def build_messages(instruction: str, request: GenerationRequest) -> list[dict[str, str]]:
    """The Chat Completions messages: the instruction file, then the order."""
    return [
        {"role": "system", "content": instruction.strip()},
        {"role": "user", "content": user_message(request.answers, request.document_names)},
    ]
