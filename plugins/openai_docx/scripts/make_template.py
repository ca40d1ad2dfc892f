"""Write the default Word template shipped with the plugin.

    python plugins/openai_docx/scripts/make_template.py

The .docx it writes is committed as package data; run this again after changing it. It uses
every template variable once, so that it doubles as an example for template authors.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from docx import Document
from docx.shared import Cm, Pt

TARGET = (
    Path(__file__).resolve().parent.parent
    / "src"
    / "gated_delivery_openai_docx"
    / "templates"
    / "default.docx"
)

#: The organisation sheet: a label and the variable shown next to it.
SHEET = (
    ("Organisation", "organization_name"),
    ("Personne de contact", "contact_name"),
    ("E-mail", "email"),
    ("Statut juridique", "statut_juridique"),
    ("Localisation", "location"),
    ("Secteur", "sector"),
    ("Effectif", "staff_size"),
    ("Budget annuel", "budget_range"),
    ("Sources de financement", "funding_sources"),
    ("Audits attendus", "audits_types"),
    ("Fréquence des audits", "audits_frequency"),
    ("Documents transmis", "documents_count"),
)
#: Free-text answers, each under its own heading, shown only when the buyer wrote something.
SECTIONS = (
    ("Mission", "mission_text"),
    ("Contexte", "context_text"),
    ("Organigramme", "org_chart_text"),
    ("Remarques", "notes_text"),
)


def build(target: Path) -> None:
    """Write the template to ``target``."""
    document = Document()
    section = document.sections[0]
    section.left_margin = section.right_margin = Cm(2.2)
    normal = document.styles["Normal"]
    normal.font.name = "Calibri"
    normal.font.size = Pt(11)

    document.add_paragraph("Kit d'audit : {{ organization_name }}", style="Title")
    document.add_paragraph(
        "Projet établi pour {{ contact_name }} ({{ email }}). "
        "Ce document est un brouillon, relu par notre équipe avant sa remise."
    )

    document.add_paragraph("Fiche de l'organisation", style="Heading 1")
    table = document.add_table(rows=len(SHEET), cols=2)
    table.style = "Table Grid"
    for row, (label, variable) in zip(table.rows, SHEET, strict=True):
        row.cells[0].paragraphs[0].add_run(label).bold = True
        row.cells[1].paragraphs[0].add_run("{{ %s }}" % variable)  # noqa: UP031 - braces

    for title, variable in SECTIONS:
        # {%p %} tags take their whole paragraph away: nothing is left when the answer is blank
        document.add_paragraph("{%%p if %s %%}" % variable)  # noqa: UP031 - braces
        document.add_paragraph(title, style="Heading 2")
        document.add_paragraph("{{ %s }}" % variable)  # noqa: UP031 - braces
        document.add_paragraph("{%p endif %}")

    document.add_paragraph("Kit d'audit", style="Heading 1")
    document.add_paragraph("{{p generated_content }}")

    properties = document.core_properties
    properties.title = "Kit d'audit"
    properties.author = "gated-delivery"
    properties.comments = ""
    # a fixed date keeps the file identical from one run of this script to the next
    properties.created = properties.modified = datetime(2025, 1, 1, tzinfo=UTC)
    properties.revision = 1
    target.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(target))


if __name__ == "__main__":
    build(TARGET)
    print(f"wrote {TARGET}")
