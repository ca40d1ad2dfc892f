"""Write the data files Kit Complet ships: the Word template, the instruction, the guide.

    python examples/kit_complet/scripts/make_files.py

The files land in ``src/kit_complet/files`` and are committed as package data; run this again
after changing it. Every run writes the same bytes (fixed dates, no timestamps), so a rerun
without a change leaves ``git status`` clean.
"""

from __future__ import annotations

import io
import unicodedata
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.section import WD_SECTION_START
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from docx.styles.style import BaseStyle
from docx.table import _Cell
from docx.text.paragraph import Paragraph
from docx.text.run import Run

FILES_DIR: Final = Path(__file__).resolve().parent.parent / "src" / "kit_complet" / "files"
TEMPLATE_TARGET: Final = FILES_DIR / "modele_kit_complet.docx"
INSTRUCTIONS_TARGET: Final = FILES_DIR / "consigne_kit_complet_fr.md"
GUIDE_TARGET: Final = FILES_DIR / "guide-audit-associatif.pdf"

#: The one date written into the files: a moving one would change them at every run.
FIXED_DATE: Final = datetime(2025, 1, 1, tzinfo=UTC)
CONFIDENTIAL: Final = "Kit Complet — document confidentiel"
ACCENT: Final = RGBColor(0x0E, 0x5A, 0x61)
MUTED: Final = RGBColor(0x59, 0x59, 0x59)
LABEL_SHADING: Final = "E3EFF0"

# ---------------------------------------------------------------------------------------------
# The Word template
# ---------------------------------------------------------------------------------------------

#: The organisation sheet: a label and the variable shown next to it.
SHEET: Final = (
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
SECTIONS: Final = (
    ("Mission", "mission_text"),
    ("Contexte", "context_text"),
    ("Organigramme", "org_chart_text"),
    ("Remarques", "notes_text"),
)
#: The cover's detail lines; each one disappears when its answer is blank.
COVER_DETAILS: Final = (
    ("Statut juridique", "statut_juridique"),
    ("Localisation", "location"),
    ("Secteur", "sector"),
)


def _tag(text: str) -> str:
    """``text`` with ``[`` and ``]`` turned into Jinja braces, so no format string needs them."""
    return text.replace("[[", "{{").replace("]]", "}}").replace("[%", "{%").replace("%]", "%}")


def _set_font(style: BaseStyle, name: str, size: float, color: RGBColor | None = None) -> None:
    """Give ``style`` a fixed font, dropping the theme fonts Word would prefer to it."""
    font = style.font  # type: ignore[attr-defined]  # paragraph and character styles have one
    font.name = name
    font.size = Pt(size)
    if color is not None:
        font.color.rgb = color
    fonts = style.element.rPr.rFonts
    for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(theme), None)


def _set_styles(document: DocumentObject) -> None:
    """One font family throughout, headings in the accent colour."""
    styles = document.styles
    _set_font(styles["Normal"], "Calibri", 11)
    styles["Normal"].paragraph_format.space_after = Pt(6)
    _set_font(styles["Title"], "Calibri", 36, ACCENT)
    _set_font(styles["Heading 1"], "Calibri", 16, ACCENT)
    _set_font(styles["Heading 2"], "Calibri", 13, ACCENT)
    _set_font(styles["Heading 3"], "Calibri", 11.5, ACCENT)
    # Title draws a blue rule under itself in python-docx's default template: ours is plainer
    borders = styles["Title"].element.pPr.find(qn("w:pBdr"))
    if borders is not None:
        borders.getparent().remove(borders)


def _set_page(document: DocumentObject) -> None:
    """A4 with comfortable margins, and the confidentiality mark on every page."""
    section = document.sections[0]
    section.start_type = WD_SECTION_START.NEW_PAGE
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.left_margin = section.right_margin = Cm(2.3)
    section.top_margin, section.bottom_margin = Cm(2.5), Cm(2.2)
    header = section.header.paragraphs[0]
    header.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    _small(header.add_run(CONFIDENTIAL))
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _small(footer.add_run("Page "))
    _page_number(footer)


def _small(run: Run) -> None:
    """Header and footer text: small and grey, out of the reader's way."""
    run.font.size = Pt(8.5)
    run.font.color.rgb = MUTED


def _page_number(paragraph: Paragraph) -> None:
    """A PAGE field: Word fills in the number on each page."""
    run = paragraph.add_run()
    _small(run)
    for kind, text in (("begin", None), (None, "PAGE"), ("end", None)):
        if kind is not None:
            element = OxmlElement("w:fldChar")
            element.set(qn("w:fldCharType"), kind)
        else:
            element = OxmlElement("w:instrText")
            element.set(qn("xml:space"), "preserve")
            element.text = f" {text} "
        run._r.append(element)


@contextmanager
def _conditional(document: DocumentObject, variable: str) -> Iterator[None]:
    """Wrap what the caller adds in ``{%p if variable %}`` ... ``{%p endif %}``."""
    # {%p %} tags take their whole paragraph away: nothing is left when the answer is blank
    document.add_paragraph(_tag(f"[%p if {variable} %]"))
    yield
    document.add_paragraph(_tag("[%p endif %]"))


def _cover(document: DocumentObject) -> None:
    """The first page: the product, the organisation, who it is for, and its draft status."""
    kicker = document.add_paragraph()
    kicker.paragraph_format.space_before = Cm(5)
    run = kicker.add_run("KIT COMPLET")
    run.bold, run.font.size, run.font.color.rgb = True, Pt(11), ACCENT
    document.add_paragraph("Kit d'audit", style="Title")
    name = document.add_paragraph()
    name.paragraph_format.space_before, name.paragraph_format.space_after = Pt(12), Pt(18)
    run = name.add_run(_tag("[[ organization_name ]]"))
    run.bold, run.font.size = True, Pt(22)
    for label, variable in COVER_DETAILS:
        with _conditional(document, variable):
            line = document.add_paragraph()
            line.paragraph_format.space_after = Pt(2)
            line.add_run(f"{label} : ").bold = True
            line.add_run(_tag(f"[[ {variable} ]]"))
    _cover_footer(document)


def _cover_footer(document: DocumentObject) -> None:
    """Who the kit was prepared for, the draft notice, then the break to page two."""
    with _conditional(document, "contact_name"):
        prepared = document.add_paragraph()
        prepared.paragraph_format.space_before = Cm(3)
        prepared.add_run(_tag("Préparé pour [[ contact_name ]]")).font.size = Pt(12)
    note = document.add_paragraph()
    note.paragraph_format.space_before = Pt(18)
    run = note.add_run(
        "Document de travail : ce projet a été préparé à partir de vos réponses et de vos "
        "documents ; il est relu et complété par l'équipe Kit Complet avant sa remise."
    )
    run.italic, run.font.size, run.font.color.rgb = True, Pt(9.5), MUTED
    document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)


def _shade(cell: _Cell, fill: str) -> None:
    """Fill a table cell with a background colour."""
    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), fill)
    cell._tc.get_or_add_tcPr().append(shading)


def _sheet(document: DocumentObject) -> None:
    """The organisation sheet: every answer, labelled, in a two-column table."""
    document.add_paragraph("Fiche de l'organisation", style="Heading 1")
    table = document.add_table(rows=len(SHEET), cols=2)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for row, (label, variable) in zip(table.rows, SHEET, strict=True):
        label_cell, value_cell = row.cells
        label_cell.width, value_cell.width = Cm(5.4), Cm(11)
        _shade(label_cell, LABEL_SHADING)
        label_cell.paragraphs[0].add_run(label).bold = True
        value_cell.paragraphs[0].add_run(_tag(f"[[ {variable} ]]"))


def _body(document: DocumentObject) -> None:
    """The free-text answers when given, then the generated kit itself."""
    for title, variable in SECTIONS:
        with _conditional(document, variable):
            document.add_paragraph(title, style="Heading 2")
            document.add_paragraph(_tag(f"[[ {variable} ]]"))
    document.add_paragraph("Kit d'audit", style="Heading 1")
    document.add_paragraph(_tag("[[p generated_content ]]"))


def _fixed_zip(data: bytes) -> bytes:
    """``data`` (a .docx) with every zip entry dated ``FIXED_DATE`` instead of now."""
    out = io.BytesIO()
    stamp = FIXED_DATE.timetuple()[:6]
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for entry in source.infolist():
            fixed = zipfile.ZipInfo(entry.filename, date_time=stamp)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(fixed, source.read(entry))
    return out.getvalue()


def build_template(target: Path) -> None:
    """Write the Word template to ``target``."""
    document = Document()
    _set_styles(document)
    _set_page(document)
    _cover(document)
    _sheet(document)
    _body(document)
    properties = document.core_properties
    properties.title = "Kit d'audit"
    properties.subject = "Kit Complet"
    properties.author = "Kit Complet"
    properties.comments = ""
    properties.created = properties.modified = FIXED_DATE
    properties.last_modified_by = "Kit Complet"
    properties.revision = 1
    buffer = io.BytesIO()
    document.save(buffer)
    # python-docx dates zip entries with the current time: the bytes would change every run
    target.write_bytes(_fixed_zip(buffer.getvalue()))


# ---------------------------------------------------------------------------------------------
# The instruction file
# ---------------------------------------------------------------------------------------------

INSTRUCTIONS: Final = """\
# Consigne : Kit Complet, kit d'audit pour une organisation

Tu es un consultant expérimenté qui prépare des associations, des ONG et des coopératives
d'Afrique de l'Ouest et du Centre francophone à leurs audits : audit financier annuel, audit
de projet exigé par un bailleur, contrôle de conformité. Tu travailles pour **Kit Complet**,
un service qui remet à chaque organisation un kit d'audit sur mesure.

Tu reçois les réponses du formulaire rempli par l'organisation et la liste des noms des
documents qu'elle a transmis (tu n'as pas leur contenu). Rédige en français un **kit
d'audit** qui lui permette d'aborder l'audit sereinement.

## Contenu attendu

Utilise exactement ces titres `##`, dans cet ordre :

1. `## Synthèse` : la situation de l'organisation en un ou deux paragraphes (statut,
   activités, financements, audits attendus) et les deux ou trois enjeux principaux.
2. `## Points de contrôle prioritaires` : une liste à puces ; pour chaque point, le sujet en
   **gras**, puis ce que l'auditeur vérifiera et pourquoi c'est important pour cette
   organisation (pièces justificatives, rapprochements bancaires, caisse et mobile money,
   procès-verbaux des instances, suivi des subventions, paie et déclarations sociales,
   achats, immobilisations), en retenant ceux que les réponses rendent pertinents.
3. `## Plan d'action` : une liste numérotée, de l'action la plus urgente à la moins urgente ;
   chaque action est concrète et commence par un verbe.
4. `## Calendrier` : un tableau Markdown à trois colonnes, `Étape`, `Échéance`,
   `Responsable`. Exprime les échéances en délais relatifs (« semaine 1 », « J-15 avant
   l'audit ») sauf si les réponses donnent des dates ; le responsable est une fonction
   (trésorier, coordinateur, comptable), jamais un nom de personne.
5. `## Documents reçus et documents manquants` : d'abord la liste des documents reçus, par
   leur nom ; puis la liste des documents qui manquent encore pour ce type d'audit, chacun
   avec une ligne disant à quoi il sert.
6. `## Préparation de la journée sur site` : seulement si les réponses indiquent un audit
   sur place ou une visite d'un bailleur ; la salle, la personne référente, les originaux à
   avoir sous la main, les questions probables de l'auditeur.

## Règles

- Réponds uniquement en Markdown : titres `##` et `###`, paragraphes, listes à puces ou
  numérotées, tableaux, **gras** et *italique*. Pas de HTML, pas de blocs de code, pas de
  lien, pas d'image, pas de titre `#` (le document porte déjà son titre).
- N'invente aucun fait : ni chiffre, ni date, ni nom de bailleur, ni document qui ne figure
  pas dans les réponses. Quand une information manque, dis-le et indique comment l'obtenir.
- N'écris aucune donnée personnelle : ni nom de personne, ni adresse e-mail, ni numéro de
  téléphone, même s'il en apparaît dans les réponses ou les noms de documents.
- Adapte les conseils à la taille de l'organisation : une petite association sans salarié
  n'a pas les moyens d'une grande ONG.
- Quand un référentiel est utile, cite-le sans en inventer le contenu : par exemple le
  système comptable des entités à but non lucratif de l'OHADA (SYCEBNL).
- Ton professionnel et bienveillant, phrases courtes, vocabulaire accessible à un trésorier
  bénévole. Pas de formule d'introduction ni de conclusion hors des sections demandées.
"""


def build_instructions(target: Path) -> None:
    """Write the instruction file to ``target``, UTF-8 with Unix line ends."""
    target.write_bytes(INSTRUCTIONS.encode("utf-8"))


# ---------------------------------------------------------------------------------------------
# The guide (PDF)
# ---------------------------------------------------------------------------------------------

#: The guide's text: ("h", heading), ("p", paragraph) or ("li", list item).
GUIDE: Final = (
    (
        "p",
        "Un audit se gagne avant l'arrivée de l'auditeur. Ce guide rassemble ce qu'une "
        "association, une ONG ou une coopérative peut préparer elle-même, dans l'ordre où "
        "l'auditeur le demandera. Il ne remplace pas le kit d'audit établi pour votre "
        "organisation : il vous permet de commencer dès aujourd'hui.",
    ),
    ("h", "1. Les pièces justificatives"),
    (
        "p",
        "L'auditeur vérifie qu'à chaque écriture comptable correspond une pièce. Une dépense "
        "bien justifiée réunit trois éléments : la pièce qui la prouve (facture, reçu, "
        "contrat, état de paie), l'autorisation de la dépenser (bon de commande, visa du "
        "responsable, décision du bureau) et la preuve du paiement (relevé bancaire, reçu de "
        "caisse, confirmation de transfert mobile money).",
    ),
    (
        "li",
        "Classez les pièces par mois, dans l'ordre du journal, et reportez sur chacune le "
        "numéro de l'écriture.",
    ),
    (
        "li",
        "Exigez des factures au nom de l'organisation, datées, avec le montant et la nature "
        "de la dépense ; un simple ticket sans en-tête sera contesté.",
    ),
    (
        "li",
        "Pour une dépense sans facture possible (transport local, petit achat au marché), "
        "établissez un état de dépense signé par le bénéficiaire et visé par un responsable.",
    ),
    (
        "li",
        "Gardez les originaux : une photocopie ou une photo ne suffit souvent pas à un bailleur.",
    ),
    ("h", "2. Les rapprochements bancaires et la caisse"),
    (
        "p",
        "Le rapprochement bancaire explique, à la fin de chaque mois, l'écart entre le solde "
        "du relevé et celui de la comptabilité : chèques émis non encaissés, virements en "
        "cours, frais bancaires pas encore comptabilisés. Un rapprochement daté et signé "
        "pour chaque mois de l'exercice est l'une des premières pièces demandées.",
    ),
    (
        "li",
        "Faites un rapprochement par compte : banque, compte d'épargne et chaque compte "
        "mobile money utilisé par l'organisation.",
    ),
    (
        "li",
        "Comptez la caisse en fin de mois et consignez le comptage dans un procès-verbal "
        "signé par deux personnes ; le solde doit égaler celui du livre de caisse.",
    ),
    (
        "li",
        "Expliquez tout écart ancien ou inhabituel par une note : un écart sans explication "
        "fait presque toujours l'objet d'une remarque.",
    ),
    ("h", "3. Les procès-verbaux et la gouvernance"),
    (
        "p",
        "L'auditeur s'assure que les décisions importantes ont été prises par les bonnes "
        "instances, conformément aux statuts. Rassemblez les statuts à jour, le récépissé de "
        "déclaration ou l'agrément, et les procès-verbaux de l'exercice : assemblée "
        "générale, conseil d'administration, bureau.",
    ),
    (
        "li",
        "Vérifiez que le procès-verbal d'approbation des comptes de l'exercice précédent et "
        "celui d'adoption du budget existent et sont signés.",
    ),
    (
        "li",
        "Tenez à jour la liste des personnes autorisées à signer sur chaque compte, et les "
        "délégations de pouvoir, avec leurs plafonds.",
    ),
    (
        "li",
        "Conservez les feuilles de présence : elles prouvent que le quorum était atteint.",
    ),
    ("h", "4. La comptabilité et les états financiers"),
    (
        "p",
        "Préparez le journal, le grand livre, la balance générale et les états financiers de "
        "l'exercice, établis selon le référentiel applicable (dans l'espace OHADA, le "
        "système comptable des entités à but non lucratif, SYCEBNL). Joignez le détail des "
        "soldes importants : créances, dettes fournisseurs, fonds dédiés non utilisés.",
    ),
    ("h", "5. Les subventions et les bailleurs"),
    (
        "p",
        "Pour chaque financement, l'auditeur rapproche la convention, le budget approuvé, "
        "les dépenses imputées et le rapport financier envoyé au bailleur.",
    ),
    (
        "li",
        "Tenez un suivi budgétaire par projet, ligne par ligne, et documentez toute "
        "réallocation entre lignes avec l'accord écrit du bailleur quand il est exigé.",
    ),
    (
        "li",
        "Vérifiez l'éligibilité des dépenses : période du projet, nature autorisée, "
        "plafonds ; gardez la trace du taux de change utilisé pour les fonds en devises.",
    ),
    (
        "li",
        "Justifiez le cofinancement promis dans la convention, en argent comme en nature.",
    ),
    ("h", "6. Le personnel, les achats et les biens"),
    (
        "li",
        "Personnel : contrats, bulletins de paie, déclarations sociales et fiscales, et "
        "feuilles de temps pour les salaires imputés sur un projet.",
    ),
    (
        "li",
        "Achats : la procédure écrite, et pour les achats au-dessus du seuil fixé, plusieurs "
        "devis ou factures pro forma et la décision motivant le choix du fournisseur.",
    ),
    (
        "li",
        "Biens : un registre des immobilisations et un inventaire physique récent ; "
        "étiquetez le matériel acheté sur fonds de projet.",
    ),
    ("h", "7. La journée sur site"),
    (
        "p",
        "Réservez une pièce calme avec une table et une prise électrique, désignez une "
        "personne référente qui connaît la comptabilité et reste disponible toute la "
        "journée, et ayez les originaux classés à portée de main. Notez chaque document "
        "remis à l'auditeur. En fin de mission, demandez une réunion de restitution : c'est "
        "le moment d'apporter une pièce manquante ou une explication.",
    ),
    ("h", "8. Après l'audit"),
    (
        "p",
        "Lisez attentivement le projet de rapport et la lettre de recommandations, et "
        "répondez par écrit aux points que vous contestez. Transformez ensuite chaque "
        "recommandation en action datée, avec un responsable, et faites le point à chaque "
        "réunion du bureau : l'auditeur suivant commencera par là.",
    ),
    ("h", "Liste de contrôle express"),
    ("li", "Statuts, récépissé ou agrément, liste des membres des instances."),
    ("li", "Procès-verbaux de l'exercice, signés, avec les feuilles de présence."),
    ("li", "Journal, grand livre, balance et états financiers."),
    ("li", "Relevés et rapprochements bancaires de chaque mois ; comptages de caisse."),
    ("li", "Pièces justificatives classées et numérotées ; conventions et budgets."),
    ("li", "Contrats, paie, déclarations ; registre des immobilisations ; inventaire."),
)

PAGE_WIDTH: Final = 595.0  # A4, in points
PAGE_HEIGHT: Final = 842.0
MARGIN: Final = 64.0
TOP: Final = PAGE_HEIGHT - 72.0
BOTTOM: Final = 72.0
BODY_SIZE: Final = 10.5
LEADING: Final = 14.5
BULLET_INDENT: Final = 14.0
#: Helvetica's advance widths (thousandths of an em) for ASCII 32 to 126, from its AFM file.
_ASCII_WIDTHS: Final = (
    (278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278)
    + (556,) * 10
    + (278, 278, 584, 584, 584, 556, 1015)
    + (667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667)
    + (778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, 333)
    + (556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, 556)
    + (556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584)
)
#: Widths of the other characters the guide uses; accented letters take their base letter's.
_OTHER_WIDTHS: Final = {
    "«": 556,
    "»": 556,
    "\u2014": 1000,  # em dash
    "\u2013": 556,  # en dash
    "\u2019": 222,  # typographic apostrophe
    "•": 350,
    "œ": 944,
    "·": 278,
    "\xa0": 278,  # no-break space
}
# Helvetica-Bold is wider; headings are short, so a generous factor is enough to wrap them
_BOLD_FACTOR: Final = 1.1


@dataclass(frozen=True)
class Line:
    """One line of text placed on a page."""

    text: str
    x: float
    y: float
    size: float
    bold: bool = False


def text_width(text: str, size: float, *, bold: bool = False) -> float:
    """How wide ``text`` is in Helvetica at ``size`` points."""
    total = 0
    for char in text:
        base = unicodedata.normalize("NFD", char)[0]
        if " " <= base <= "~":
            total += _ASCII_WIDTHS[ord(base) - 32]
        else:
            total += _OTHER_WIDTHS.get(char, 556)
    return total * size / 1000 * (_BOLD_FACTOR if bold else 1)


def french_spacing(text: str) -> str:
    """``text`` with a no-break space before ``;``, ``:``, ``?`` and ``!``, as French wants."""
    for mark in ";:?!":
        text = text.replace(f" {mark}", f"\xa0{mark}")
    return text


def wrap(text: str, width: float, size: float, *, bold: bool = False) -> list[str]:
    """``text`` cut into lines no wider than ``width``, at spaces."""
    lines: list[str] = []
    current = ""
    # split at plain spaces only: the no-break spaces of French punctuation hold words together
    for word in filter(None, text.split(" ")):
        candidate = f"{current} {word}" if current else word
        if current and text_width(candidate, size, bold=bold) > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    return [*lines, current] if current else lines


class Layout:
    """Places lines top to bottom, starting a new page when one is full."""

    def __init__(self) -> None:
        self.pages: list[list[Line]] = [[]]
        self.y = TOP

    def space(self, points: float) -> None:
        """Leave ``points`` of blank space (none at the top of a page)."""
        if self.y < TOP:
            self.y -= points

    def add(
        self, texts: Sequence[str], x: float, size: float, *, bold: bool = False, keep: int = 0
    ) -> None:
        """Place lines that belong together.

        A block never starts in a page's last two lines, and a heading (``keep`` > 0) moves
        to the next page unless ``keep`` body lines fit below it.
        """
        leading = size * LEADING / BODY_SIZE
        needed = leading * min(len(texts), 3) + LEADING * keep
        if self.y - needed < BOTTOM:
            self.pages.append([])
            self.y = TOP
        for text in texts:
            if self.y - leading < BOTTOM:
                self.pages.append([])
                self.y = TOP
            self.y -= leading
            self.pages[-1].append(Line(text, x, self.y, size, bold))


def lay_out_guide() -> list[list[Line]]:
    """The guide as pages of placed lines: the title, then each block of ``GUIDE``."""
    layout = Layout()
    layout.add(["Guide de l'audit associatif"], MARGIN, 22, bold=True)
    layout.space(4)
    layout.add(["Préparer son organisation à un audit, pas à pas — Kit Complet"], MARGIN, 11)
    layout.space(14)
    width = PAGE_WIDTH - 2 * MARGIN
    for kind, raw in GUIDE:
        text = french_spacing(raw)
        if kind == "h":
            layout.space(10)
            layout.add(wrap(text, width, 13, bold=True), MARGIN, 13, bold=True, keep=3)
            layout.space(3)
        elif kind == "p":
            layout.add(wrap(text, width, BODY_SIZE), MARGIN, BODY_SIZE)
            layout.space(5)
        else:
            lines = wrap(text, width - BULLET_INDENT, BODY_SIZE)
            layout.add(["•"], MARGIN + 3, BODY_SIZE)
            layout.y += LEADING  # the bullet shares the first line of its item
            layout.add(lines, MARGIN + BULLET_INDENT, BODY_SIZE)
            layout.space(2)
    return layout.pages


def pdf_string(text: str) -> bytes:
    """``text`` as a PDF literal string in WinAnsi (cp1252), non-ASCII bytes in octal."""
    out = bytearray(b"(")
    for byte in text.encode("cp1252"):
        if byte in b"()\\":
            out += b"\\" + bytes([byte])
        elif 32 <= byte < 127:
            out.append(byte)
        else:
            # octal escapes keep the file ASCII, so it diffs and greps like text
            out += b"\\%03o" % byte
    return bytes(out + b")")


def info_string(text: str) -> bytes:
    """``text`` as a PDF text string for the Info dictionary (UTF-16BE with a BOM, in hex)."""
    return b"<FEFF" + text.encode("utf-16-be").hex().upper().encode("ascii") + b">"


def page_stream(lines: Sequence[Line], number: int, count: int) -> bytes:
    """The content stream of one page: its lines, a rule, and the page footer."""
    ops = [b"0.2 0.2 0.2 rg"]
    for line in lines:
        font = b"/F2" if line.bold else b"/F1"
        colour = b"0.055 0.353 0.38 rg" if line.bold else b"0.2 0.2 0.2 rg"
        ops.append(colour)
        ops.append(
            b"BT %s %g Tf %.2f %.2f Td %s Tj ET"
            % (font, line.size, line.x, line.y, pdf_string(line.text))
        )
    footer = f"Guide de l'audit associatif — Kit Complet · page {number} / {count}"
    footer_x = (PAGE_WIDTH - text_width(footer, 8.5)) / 2
    ops.append(b"0.75 G 0.5 w %.2f 52 m %.2f 52 l S" % (MARGIN, PAGE_WIDTH - MARGIN))
    ops.append(b"0.45 g BT /F1 8.5 Tf %.2f 38 Td %s Tj ET" % (footer_x, pdf_string(footer)))
    return b"\n".join(ops) + b"\n"


def pdf_objects(pages: Sequence[Sequence[Line]]) -> list[bytes]:
    """The guide's objects in order, object 1 first; page ``i`` is ``6 + 2i``, its stream next."""
    kids = b" ".join(b"%d 0 R" % (6 + 2 * i) for i in range(len(pages)))
    font = b"<< /Type /Font /Subtype /Type1 /BaseFont /%s /Encoding /WinAnsiEncoding >>"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(pages)),
        font % b"Helvetica",
        font % b"Helvetica-Bold",
        b"<< /Title %s /Author %s /Subject %s /Creator %s >>"
        % (
            info_string("Guide de l'audit associatif"),
            info_string("Kit Complet"),
            info_string("Préparer son organisation à un audit"),
            info_string("Kit Complet make_files.py"),
        ),
    ]
    for index, lines in enumerate(pages):
        stream = page_stream(lines, index + 1, len(pages))
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] "
            b"/Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents %d 0 R >>"
            % (PAGE_WIDTH, PAGE_HEIGHT, 7 + 2 * index)
        )
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    return objects


def pdf_file(objects: Sequence[bytes]) -> bytes:
    """A complete PDF: header, numbered objects, cross-reference table, trailer."""
    # the second line's high bytes tell transfer tools the file is binary, as the spec advises
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 5 0 R >>\n" % (len(objects) + 1)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def build_guide(target: Path) -> None:
    """Write the guide to ``target``."""
    target.write_bytes(pdf_file(pdf_objects(lay_out_guide())))


def main() -> None:
    """Write the three files and say where they went."""
    FILES_DIR.mkdir(parents=True, exist_ok=True)
    build_template(TEMPLATE_TARGET)
    build_instructions(INSTRUCTIONS_TARGET)
    build_guide(GUIDE_TARGET)
    for target in (TEMPLATE_TARGET, INSTRUCTIONS_TARGET, GUIDE_TARGET):
        print(f"wrote {target}")


if __name__ == "__main__":
    main()
