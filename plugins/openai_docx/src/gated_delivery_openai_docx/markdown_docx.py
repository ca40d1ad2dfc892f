"""Markdown to real Word structures: headings, paragraphs, emphasis, lists, tables.

The model answers in Markdown; staff edit the draft in Word, so every element becomes what
Word itself would make (a "Heading 2" paragraph, a "List Bullet" item, a real table), never
Markdown characters left in the text. Parsing is CommonMark with GitHub tables
(markdown-it-py); raw HTML in the answer is kept as text, never interpreted.

Styles come from the target document (the template). The default template has them all; a
template without some of them still works: a missing heading style becomes bold text, a missing
list style a "•" or "1." prefix, a missing table style a plain table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from docx.document import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt
from docx.table import _Cell
from docx.text.paragraph import Paragraph
from docx.text.run import Run
from markdown_it import MarkdownIt
from markdown_it.token import Token

from gated_delivery_openai_docx.prompt import clean_text

#: Deepest list style Word templates usually define ("List Bullet 3").
MAX_LIST_STYLE_LEVEL: Final = 3
MONOSPACE_FONT: Final = "Courier New"
_LINK_SCHEMES: Final = ("http://", "https://", "mailto:")
_ALIGNMENTS: Final = {
    "left": WD_ALIGN_PARAGRAPH.LEFT,
    "center": WD_ALIGN_PARAGRAPH.CENTER,
    "right": WD_ALIGN_PARAGRAPH.RIGHT,
}


def parser() -> MarkdownIt:
    """A CommonMark parser with tables and strikethrough, raw HTML off."""
    return MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


def write_markdown(markdown: str, document: Document) -> None:
    """Append ``markdown`` to ``document`` as Word paragraphs, lists and tables."""
    _Writer(document).write(parser().parse(clean_text(markdown)))


@dataclass
class _List:
    is_ordered: bool
    start: int
    num_id: int | None = None  # the restarted numbering of an ordered list
    count: int = 0


@dataclass
class _Format:
    is_bold: bool = False
    is_italic: bool = False
    is_strike: bool = False
    href: str | None = None


@dataclass
class _Writer:
    document: Document
    styles: frozenset[str] = frozenset()
    lists: list[_List] = field(default_factory=list)
    # per open list item: has its first paragraph been written (later ones are continuations)
    items: list[bool] = field(default_factory=list)
    quote_depth: int = 0

    def __post_init__(self) -> None:
        self.styles = frozenset(s.name for s in self.document.styles if s.name)

    def write(self, tokens: Sequence[Token]) -> None:
        index = 0
        while index < len(tokens):
            token = tokens[index]
            kind = token.type
            if kind == "heading_open":
                self._heading(int(token.tag[1:]), tokens[index + 1])
                index += 3
                continue
            if kind == "paragraph_open":
                self._paragraph(tokens[index + 1])
                index += 3
                continue
            if kind == "table_open":
                end = _closing(tokens, index, "table_open", "table_close")
                self._table(tokens[index:end])
                index = end + 1
                continue
            if kind in ("bullet_list_open", "ordered_list_open"):
                start = int(token.attrGet("start") or 1)
                self.lists.append(_List(is_ordered=kind == "ordered_list_open", start=start))
            elif kind in ("bullet_list_close", "ordered_list_close"):
                self.lists.pop()
            elif kind == "list_item_open":
                self.items.append(False)
            elif kind == "list_item_close":
                self.items.pop()
            elif kind == "blockquote_open":
                self.quote_depth += 1
            elif kind == "blockquote_close":
                self.quote_depth -= 1
            elif kind in ("fence", "code_block"):
                self._code(token.content)
            elif kind == "hr":
                self._rule()
            elif kind == "html_block":
                self._plain(token.content.strip())
            index += 1

    # --- blocks

    def _heading(self, level: int, inline: Token) -> None:
        style = f"Heading {min(level, 9)}"
        if style in self.styles:
            self._inline(self.document.add_paragraph(style=style), inline)
        else:
            paragraph = self.document.add_paragraph()
            self._inline(paragraph, inline, _Format(is_bold=True))

    def _paragraph(self, inline: Token) -> None:
        if self.lists and self.items:
            if not self.items[-1]:
                self.items[-1] = True
                self._list_item(inline)
                return
            style = self._existing(self._list_style("List Continue"))
        elif self.quote_depth:
            style = self._existing("Quote")
        else:
            style = None
        self._inline(self.document.add_paragraph(style=style), inline)

    def _list_item(self, inline: Token) -> None:
        current = self.lists[-1]
        current.count += 1
        style = self._list_style("List Number" if current.is_ordered else "List Bullet")
        if style not in self.styles:
            paragraph = self.document.add_paragraph()
            paragraph.paragraph_format.left_indent = Pt(18 * len(self.lists))
            number = current.start + current.count - 1
            paragraph.add_run(f"{number}. " if current.is_ordered else "• ")
            self._inline(paragraph, inline)
            return
        paragraph = self.document.add_paragraph(style=style)
        if current.is_ordered:
            if current.num_id is None:
                current.num_id = self._restarted_numbering(style, current.start)
            if current.num_id is not None:
                num_pr = paragraph._p.get_or_add_pPr().get_or_add_numPr()
                num_pr.get_or_add_ilvl().val = 0
                num_pr.get_or_add_numId().val = current.num_id
        self._inline(paragraph, inline)

    def _table(self, tokens: Sequence[Token]) -> None:
        rows: list[list[tuple[Token, bool, str]]] = []
        for index, token in enumerate(tokens):
            if token.type == "tr_open":
                rows.append([])
            elif token.type in ("th_open", "td_open"):
                style = str(token.attrGet("style") or "")
                align = style.removeprefix("text-align:").strip()
                rows[-1].append((tokens[index + 1], token.type == "th_open", align))
        if not rows:
            return
        columns = max(len(row) for row in rows)
        table = self.document.add_table(rows=len(rows), cols=columns)
        if "Table Grid" in self.styles:
            table.style = "Table Grid"
        for row_index, row in enumerate(rows):
            for column, (inline, is_header, align) in enumerate(row):
                cell: _Cell = table.cell(row_index, column)
                paragraph = cell.paragraphs[0]
                if align in _ALIGNMENTS:
                    paragraph.alignment = _ALIGNMENTS[align]
                self._inline(paragraph, inline, _Format(is_bold=is_header))
            if row and row[0][1]:
                # a header row repeats on each page a long table runs over
                tr_pr = table.rows[row_index]._tr.get_or_add_trPr()
                tr_pr.append(OxmlElement("w:tblHeader"))
        self.document.add_paragraph()  # Word needs a paragraph between two tables

    def _code(self, text: str) -> None:
        paragraph = self.document.add_paragraph()
        for number, line in enumerate(clean_text(text).rstrip("\n").split("\n")):
            if number:
                paragraph.add_run().add_break()
            paragraph.add_run(line).font.name = MONOSPACE_FONT

    def _rule(self) -> None:
        p_pr = self.document.add_paragraph()._p.get_or_add_pPr()
        borders = OxmlElement("w:pBdr")
        bottom = OxmlElement("w:bottom")
        for name, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1")):
            bottom.set(qn(name), value)
        bottom.set(qn("w:color"), "auto")
        borders.append(bottom)
        p_pr.append(borders)

    def _plain(self, text: str) -> None:
        if text:
            self.document.add_paragraph(clean_text(text))

    # --- inline

    def _inline(self, paragraph: Paragraph, inline: Token, base: _Format | None = None) -> None:
        state = _Format(**vars(base)) if base else _Format()
        for child in inline.children or ():
            kind = child.type
            if kind in ("text", "html_inline"):
                self._run(paragraph, child.content, state)
            elif kind == "softbreak":
                self._run(paragraph, " ", state)
            elif kind == "hardbreak":
                paragraph.add_run().add_break()
            elif kind == "code_inline":
                self._run(paragraph, child.content, state).font.name = MONOSPACE_FONT
            elif kind in ("strong_open", "strong_close"):
                state.is_bold = kind == "strong_open" or bool(base and base.is_bold)
            elif kind in ("em_open", "em_close"):
                state.is_italic = kind == "em_open"
            elif kind in ("s_open", "s_close"):
                state.is_strike = kind == "s_open"
            elif kind == "link_open":
                href = str(child.attrGet("href") or "")
                state.href = href if href.startswith(_LINK_SCHEMES) else None
            elif kind == "link_close":
                state.href = None
            elif kind == "image":
                self._run(paragraph, child.content, state)  # the alt text; no images fetched

    def _run(self, paragraph: Paragraph, text: str, state: _Format) -> Run:
        run = paragraph.add_run(clean_text(text))
        run.bold = state.is_bold or None
        run.italic = state.is_italic or None
        if state.is_strike:
            run.font.strike = True
        if state.href is not None:
            run.font.underline = True
            link = OxmlElement("w:hyperlink")
            link.set(
                qn("r:id"),
                paragraph.part.relate_to(state.href, RELATIONSHIP_TYPE.HYPERLINK, is_external=True),
            )
            if "Hyperlink" in self.styles:
                run.style = "Hyperlink"
            paragraph._p.append(link)
            link.append(run._r)  # moves the run inside the link
        return run

    # --- styles and numbering

    def _list_style(self, base: str) -> str:
        level = min(len(self.lists), MAX_LIST_STYLE_LEVEL)
        return base if level <= 1 else f"{base} {level}"

    def _existing(self, style: str) -> str | None:
        return style if style in self.styles else None

    def _restarted_numbering(self, style_name: str, start: int) -> int | None:
        """A new numbering instance of ``style_name``'s list that starts at ``start``.

        List styles share one numbering across the document: without this, a second
        numbered list would go on from where the first stopped.
        """
        p_pr = self.document.styles[style_name].element.pPr
        num_pr = p_pr.numPr if p_pr is not None else None
        if num_pr is None or num_pr.numId is None:
            return None  # the style is not numbered through numbering.xml; leave it be
        numbering = self.document.part.numbering_part.element
        try:
            shared = numbering.num_having_numId(num_pr.numId.val)
        except KeyError:
            return None
        restarted = numbering.add_num(shared.abstractNumId.val)
        restarted.add_lvlOverride(ilvl=0).add_startOverride(start)
        return int(restarted.numId)


def _closing(tokens: Sequence[Token], start: int, opening: str, closing: str) -> int:
    depth = 0
    for index in range(start, len(tokens)):
        if tokens[index].type == opening:
            depth += 1
        elif tokens[index].type == closing:
            depth -= 1
            if depth == 0:
                return index
    return len(tokens) - 1
