"""The shipped data files: the Word template, the instruction file and the PDF guide."""

from __future__ import annotations

import importlib.util
import io
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import docx
import pytest
from docx.text.paragraph import Paragraph
from gated_delivery_openai_docx import load_config
from gated_delivery_openai_docx.prompt import TEMPLATE_VARIABLES
from gated_delivery_openai_docx.rendering import render_docx
from kit_complet.files import (
    GUIDE_FILENAME,
    GUIDE_MEDIA_TYPE,
    GUIDE_PDF,
    KIT_INSTRUCTIONS,
    KIT_TEMPLATE,
)

from gated_delivery import uploads
from gated_delivery.config import CoreSettings

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "make_files.py"
KIT_MARKDOWN = "## Synthèse\n\nUne association **active**.\n\n- point un\n- point deux\n"


@pytest.fixture(scope="module")
def make_files() -> Iterator[ModuleType]:
    """The generating script, imported from its file (it is not part of the package)."""
    name = "kit_complet_make_files"
    spec = importlib.util.spec_from_file_location(name, SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # its dataclass looks its own module up while being defined
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[name]


def answers(**given: Any) -> dict[str, Any]:
    """A template context: every variable blank, then ``given``."""
    context: dict[str, Any] = {name: "" for name in TEMPLATE_VARIABLES}
    context.pop("generated_content")
    context["documents_count"] = 0
    return {**context, **given}


SAMPLE = answers(
    organization_name="Coopérative Tisserands & Fils",
    contact_name="Awa Diop",
    email="awa@example.org",
    statut_juridique="Société coopérative simplifiée",
    location="Bobo-Dioulasso, Burkina Faso",
    sector="Artisanat",
    mission_text="Former et équiper des tisserandes.",
    documents_count=2,
)


def render(context: dict[str, Any]) -> docx.document.Document:
    """The kit the plugin would deliver for ``context``, opened with python-docx."""
    data = render_docx(KIT_TEMPLATE, context, KIT_MARKDOWN)
    return docx.Document(io.BytesIO(data))


def has_page_break(paragraph: Paragraph) -> bool:
    """Whether ``paragraph`` holds a page break."""
    return 'w:type="page"' in paragraph._p.xml


def cover_text(document: docx.document.Document) -> list[str]:
    """The texts of the paragraphs before the first page break: the cover page."""
    texts: list[str] = []
    for paragraph in document.paragraphs:
        if has_page_break(paragraph):
            return texts
        texts.append(paragraph.text)
    raise AssertionError("the template has no page break after its cover")


def test_the_cover_carries_the_organisation() -> None:
    cover = cover_text(render(SAMPLE))
    assert "Kit d'audit" in cover
    assert "Coopérative Tisserands & Fils" in cover
    assert "Statut juridique : Société coopérative simplifiée" in cover
    assert "Localisation : Bobo-Dioulasso, Burkina Faso" in cover
    assert "Secteur : Artisanat" in cover
    assert "Préparé pour Awa Diop" in cover
    assert any("relu" in text for text in cover)


def test_blank_answers_leave_no_trace() -> None:
    document = render(answers(organization_name="Association Sahel Vert"))
    cover = cover_text(document)
    assert not any(t.startswith(("Statut", "Localisation", "Secteur", "Préparé")) for t in cover)
    texts = [p.text for p in document.paragraphs]
    for title in ("Mission", "Contexte", "Organigramme", "Remarques"):
        assert title not in texts
    assert not any("{" in text or "}" in text for text in texts)


def test_the_sheet_sections_and_kit_follow_the_cover() -> None:
    document = render(SAMPLE)
    texts = [p.text for p in document.paragraphs]
    assert texts.index("Fiche de l'organisation") < texts.index("Mission")
    assert "Former et équiper des tisserandes." in texts
    assert "Contexte" not in texts  # left blank
    assert texts.index("Kit d'audit", 3) < texts.index("Synthèse")
    sheet = {row.cells[0].text: row.cells[1].text for row in document.tables[0].rows}
    assert sheet["Organisation"] == "Coopérative Tisserands & Fils"
    assert sheet["E-mail"] == "awa@example.org"
    assert sheet["Documents transmis"] == "2"


def test_every_page_is_marked_confidential() -> None:
    section = render(SAMPLE).sections[0]
    assert section.header.paragraphs[0].text == "Kit Complet — document confidentiel"
    assert section.page_width is not None
    assert round(section.page_width.cm, 1) == 21.0  # A4


@pytest.fixture
def core(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CoreSettings:
    """Sandbox settings, with no variable of the plugin's and no .env file from the host."""
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "GD_PROMPT_PATH", "GD_DOCX_TEMPLATE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return CoreSettings(
        secret_key="files-test-secret-key-" + "z" * 32,
        base_url="http://kit.test:8000",
        sandbox=True,
    )


def test_the_plugin_accepts_the_template_and_the_instruction(
    monkeypatch: pytest.MonkeyPatch, core: CoreSettings
) -> None:
    monkeypatch.setenv("GD_DOCX_TEMPLATE", str(KIT_TEMPLATE))
    monkeypatch.setenv("GD_PROMPT_PATH", str(KIT_INSTRUCTIONS))
    config = load_config(core)  # checks both files, as at start-up
    assert config is not None
    assert (config.template_path, config.prompt_path) == (KIT_TEMPLATE, KIT_INSTRUCTIONS)


def test_the_instruction_asks_for_the_kit_sections() -> None:
    text = KIT_INSTRUCTIONS.read_text(encoding="utf-8")
    for title in (
        "## Synthèse",
        "## Points de contrôle prioritaires",
        "## Plan d'action",
        "## Calendrier",
        "## Documents reçus et documents manquants",
        "## Préparation de la journée sur site",
    ):
        assert f"`{title}`" in text
    assert "uniquement en Markdown" in text
    assert "N'invente aucun fait" in text
    assert "aucune donnée personnelle" in text


def xref_offsets(pdf: bytes) -> list[int]:
    """The in-use object offsets listed by the PDF's cross-reference table."""
    start = int(re.search(rb"startxref\n(\d+)\n%%EOF\n$", pdf).group(1))  # type: ignore[union-attr]
    assert pdf[start:].startswith(b"xref\n0 ")
    entries = re.findall(rb"(\d{10}) (\d{5}) ([nf]) \n", pdf[start:])
    return [int(offset) for offset, _, kind in entries if kind == b"n"]


def test_the_guide_is_a_well_formed_pdf() -> None:
    pdf = GUIDE_PDF.read_bytes()
    assert pdf.startswith(b"%PDF-1.4\n")
    offsets = xref_offsets(pdf)
    assert len(offsets) == int(re.search(rb"/Size (\d+)", pdf).group(1)) - 1  # type: ignore[union-attr]
    for number, offset in enumerate(offsets, start=1):
        assert pdf[offset:].startswith(b"%d 0 obj\n" % number)
    pages = int(re.search(rb"/Type /Pages /Kids \[[^]]*\] /Count (\d+)", pdf).group(1))  # type: ignore[union-attr]
    assert 2 <= pages <= 3
    for match in re.finditer(rb"<< /Length (\d+) >>\nstream\n", pdf):
        assert pdf[match.end() + int(match.group(1)) :].startswith(b"\nendstream")


def test_the_guide_is_served_as_what_uploads_call_a_pdf() -> None:
    assert GUIDE_PDF.name == GUIDE_FILENAME
    assert GUIDE_MEDIA_TYPE == uploads.PDF
    # the upload checker recognises a PDF by these first bytes
    assert GUIDE_PDF.read_bytes().startswith(b"%PDF-")


def test_french_text_is_written_in_winansi(make_files: ModuleType) -> None:
    assert make_files.pdf_string("Procès (2) é\\") == b"(Proc\\350s \\(2\\) \\351\\\\)"
    assert b"(Guide de l'audit associatif)" in GUIDE_PDF.read_bytes()


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")
def test_the_guide_text_reads_back_with_its_accents() -> None:
    pdftotext = shutil.which("pdftotext")
    assert pdftotext is not None
    text = subprocess.run(  # noqa: S603 - a fixed program on a file of ours
        [pdftotext, str(GUIDE_PDF), "-"], capture_output=True, check=True, text=True
    ).stdout
    assert "Les pièces justificatives" in text
    assert "rapprochement bancaire" in text
    assert "procès-verbaux" in text


def test_the_committed_files_are_what_the_script_writes(
    make_files: ModuleType, tmp_path: Path
) -> None:
    for build, shipped in (
        (make_files.build_template, KIT_TEMPLATE),
        (make_files.build_instructions, KIT_INSTRUCTIONS),
        (make_files.build_guide, GUIDE_PDF),
    ):
        target = tmp_path / shipped.name
        build(target)
        assert target.read_bytes() == shipped.read_bytes(), f"rerun {SCRIPT.name}"
