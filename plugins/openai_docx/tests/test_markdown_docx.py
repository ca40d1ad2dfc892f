"""Markdown to Word: each construct becomes the Word structure staff expect to edit."""

from __future__ import annotations

import io

import docx
from docx.document import Document
from gated_delivery_openai_docx import write_markdown


def converted(markdown: str, document: Document | None = None) -> Document:
    target = document or docx.Document()
    write_markdown(markdown, target)
    out = io.BytesIO()
    target.save(out)  # what Word would open, read back
    return docx.Document(io.BytesIO(out.getvalue()))


def styled(document: Document) -> list[tuple[str, str]]:
    return [(p.style.name if p.style else "", p.text) for p in document.paragraphs]


def test_headings_paragraphs_and_emphasis() -> None:
    document = converted(
        "# Titre\n\n## Sous-titre\n\nDu **gras**, de l'*italique*, ***les deux***."
    )
    assert styled(document) == [
        ("Heading 1", "Titre"),
        ("Heading 2", "Sous-titre"),
        ("Normal", "Du gras, de l'italique, les deux."),
    ]
    runs = {r.text: (bool(r.bold), bool(r.italic)) for r in document.paragraphs[2].runs}
    assert runs["gras"] == (True, False)
    assert runs["italique"] == (False, True)
    assert runs["les deux"] == (True, True)


def test_nested_lists_and_numbering_that_restarts() -> None:
    document = converted("1. un\n2. deux\n   - détail\n\nTexte.\n\n1. encore un\n\n- puce\n")
    assert styled(document) == [
        ("List Number", "un"),
        ("List Number", "deux"),
        ("List Bullet 2", "détail"),
        ("Normal", "Texte."),
        ("List Number", "encore un"),
        ("List Bullet", "puce"),
    ]
    num_ids = [
        p._p.pPr.numPr.numId.val
        for p in document.paragraphs
        if p.style is not None and p.style.name == "List Number"
    ]
    assert num_ids[0] == num_ids[1] != num_ids[2]  # the second list starts at 1 again


def test_a_table_with_a_bold_header_and_alignment() -> None:
    document = converted("| Étape | Jours |\n|---|--:|\n| Revue | 5 |\n| *Entretiens* | 3 |\n")
    [table] = document.tables
    assert [[c.text for c in row.cells] for row in table.rows] == [
        ["Étape", "Jours"],
        ["Revue", "5"],
        ["Entretiens", "3"],
    ]
    assert table.style is not None
    assert table.style.name == "Table Grid"
    assert all(r.bold for r in table.cell(0, 0).paragraphs[0].runs)
    assert table.cell(1, 1).paragraphs[0].alignment == 2  # right
    assert table.cell(2, 0).paragraphs[0].runs[0].italic


def test_links_quotes_code_and_raw_html() -> None:
    document = converted(
        "Voir [le guide](https://example.org/guide).\n\n> Citation\n\n"
        "```\nligne 1\nligne 2\n```\n\n<script>alert(1)</script>\n"
    )
    texts = styled(document)
    assert texts[0] == ("Normal", "Voir le guide.")
    assert document.paragraphs[0].hyperlinks[0].address == "https://example.org/guide"
    assert texts[1] == ("Quote", "Citation")
    assert texts[2][1] == "ligne 1\nligne 2"
    assert texts[3][1] == "<script>alert(1)</script>"  # shown, never interpreted


def test_characters_word_cannot_hold_are_dropped() -> None:
    document = converted("Texte\x00 avec\x0b des\x07 contrôles\x1f.")
    assert document.paragraphs[0].text == "Texte avec des contrôles."


def test_a_template_without_list_or_heading_styles_still_reads_well() -> None:
    bare = docx.Document()
    for name in ("List Bullet", "List Number", "Heading 2"):
        bare.styles[name].delete()
    document = converted("## Partie\n\n- puce\n\n3. trois\n4. quatre\n", bare)
    assert [p.text for p in document.paragraphs] == ["Partie", "• puce", "3. trois", "4. quatre"]
    assert document.paragraphs[0].runs[0].bold
