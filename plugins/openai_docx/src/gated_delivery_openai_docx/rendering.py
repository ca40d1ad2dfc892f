"""The Word template: checked at start-up, rendered with docxtpl for each draft.

The generated content is built with python-docx inside the template's own document (so it
uses the template's styles and numbering), lifted out as Word XML, and inserted by docxtpl
where the template says ``{{p generated_content }}``: the same thing docxtpl's sub-documents
do, without their extra dependency. Every other variable is plain text, XML-escaped.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from docx.opc.exceptions import PackageNotFoundError
from docxtpl import DocxTemplate  # type: ignore[import-untyped]  # docxtpl ships no type hints
from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment
from lxml import etree  # type: ignore[import-untyped]  # lxml ships no type hints

from gated_delivery_openai_docx.markdown_docx import write_markdown
from gated_delivery_openai_docx.prompt import TEMPLATE_VARIABLES

DOCX_MEDIA_TYPE: Final = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_W_BODY: Final = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}body"
_W_SECT_PR: Final = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}sectPr"
# {{ generated_content }} without the "p" would put paragraphs inside a run: a broken file
_CONTENT_TAG: Final = re.compile(r"\{\{\s*([a-z]?)\s*generated_content\b")
_UNDEFINED_NAME: Final = re.compile(r"'([^']+)' is undefined")


class TemplateProblem(Exception):
    """The template cannot be rendered; the message says what to change in it."""


class WordXml:
    """Word body XML that docxtpl inserts as is (``__html__`` stops it being escaped)."""

    def __init__(self, xml: str) -> None:
        self.xml = xml

    def __html__(self) -> str:
        return self.xml

    def __str__(self) -> str:
        return self.xml


def jinja_environment() -> SandboxedEnvironment:
    """Escaping on (answers may hold ``&`` or ``<``), and unknown variables are errors."""
    return SandboxedEnvironment(autoescape=True, undefined=StrictUndefined)


def _open(path: Path) -> DocxTemplate:
    if not path.is_file():
        raise TemplateProblem(f"{path} does not exist or is not a file")
    template = DocxTemplate(str(path))
    try:
        template.init_docx()
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise TemplateProblem(
            f"{path} is not a Word .docx file ({type(exc).__name__}); save it as .docx"
        ) from None
    return template


def check_template(path: Path) -> None:
    """Raise ``TemplateProblem`` unless ``path`` is a .docx using only known variables."""
    template = _open(path)
    body = re.sub(r"<[^>]+>", "", etree.tostring(template.docx.element.body, encoding="unicode"))
    for match in _CONTENT_TAG.finditer(body):
        if match.group(1) != "p":
            raise TemplateProblem(
                "write {{p generated_content }} (with the p), alone in its own paragraph: "
                "the generated content is made of whole paragraphs and tables"
            )
    try:
        used = template.get_undeclared_template_variables(jinja_environment())
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"{path} has a Jinja syntax error: {exc.message}") from None
    unknown = sorted(set(used) - set(TEMPLATE_VARIABLES))
    if unknown:
        raise TemplateProblem(_unknown_message(path, unknown))


def _unknown_message(path: Path, names: list[str]) -> str:
    return (
        f"{path} uses {', '.join(names)}, which the plugin does not define; "
        f"the variables are {', '.join(TEMPLATE_VARIABLES)}"
    )


def render_docx(
    template_path: Path,
    context: Mapping[str, Any],
    markdown: str,
    *,
    comments: str | None = None,
) -> bytes:
    """Render the template with ``context`` plus ``markdown`` as ``generated_content``.

    ``comments`` replaces the document's Comments property (File > Properties in Word).
    Raise ``TemplateProblem`` when the template names an unknown variable or is not valid.
    """
    template = _open(template_path)
    document = template.docx
    body = document.element.body
    # python-docx adds blocks just before the section properties; whatever lands between
    # the template's last block and them is the generated content
    section = body.find(_W_SECT_PR)
    first_new = len(body) - (1 if section is not None else 0)
    write_markdown(markdown, document)
    last_new = len(body) - (1 if section is not None else 0)
    holder = etree.Element(_W_BODY, nsmap=body.nsmap)
    for element in list(body)[first_new:last_new]:
        holder.append(element)  # moves it out of the template body
    content = re.sub(r"</?w:body[^>]*>", "", etree.tostring(holder, encoding="unicode"))
    try:
        template.render(
            {**context, "generated_content": WordXml(content)},
            jinja_environment(),
            autoescape=True,
        )
    except UndefinedError as exc:
        found = _UNDEFINED_NAME.search(str(exc.message or ""))
        name = found.group(1) if found else str(exc.message)
        raise TemplateProblem(_unknown_message(template_path, [name])) from None
    except TemplateError as exc:
        raise TemplateProblem(f"{template_path} could not be rendered: {exc.message}") from None
    if comments is not None:
        document.core_properties.comments = comments
    out = io.BytesIO()
    template.save(out)
    return out.getvalue()
