"""Rendering a long generated document to .docx, against python-docx writing it directly.

    python bench/openai_docx_render.py [--pages 40] [--repeat 2]

Ours: parse the model's Markdown, build Word structures in the template, render the template
with docxtpl, save. Baseline, in the same run: python-docx writes the same paragraphs and
tables (already split, no parsing, no template) and saves. Prints the best time of each and
their ratio; the page count is estimated at 500 words a page.
"""

from __future__ import annotations

import argparse
import io
import re
import time
from collections.abc import Callable

import docx
from docx.document import Document
from gated_delivery_openai_docx import DEFAULT_TEMPLATE, TEMPLATE_VARIABLES, render_docx
from gated_delivery_openai_docx.simulator import audit_kit_markdown

WORDS_PER_PAGE = 500
#: Blocks of the baseline: a paragraph (style, text) or a table (rows of cells).
Block = tuple[str, str] | list[list[str]]


def markdown_for(pages: int) -> str:
    """The simulator's audit kit, with as many checklist chapters as ``pages`` needs."""
    chapters = 1
    while True:
        text = audit_kit_markdown(
            "ONG Baobab", ["statuts.pdf", "budget.pdf"], "KIT-BENCH", chapters=chapters
        )
        if len(text.split()) >= pages * WORDS_PER_PAGE:
            return text
        chapters += 1


def blocks_of(markdown: str) -> list[Block]:
    """The same content as plain blocks, split once outside the timing."""
    blocks: list[Block] = []
    table: list[list[str]] = []
    for line in markdown.splitlines():
        if line.startswith("|"):
            if not set(line) <= set("|-: "):
                table.append([cell.strip() for cell in line.strip("|").split("|")])
            continue
        if table:
            blocks.append(table)
            table = []
        text = re.sub(r"[*_]", "", line).strip()
        if not text:
            continue
        if text.startswith("#"):
            level = len(text) - len(text.lstrip("#"))
            blocks.append((f"Heading {level}", text.lstrip("# ")))
        elif text.startswith("- "):
            blocks.append(("List Bullet", text[2:]))
        elif re.match(r"\d+\. ", text):
            blocks.append(("List Number", text.split(" ", 1)[1]))
        else:
            blocks.append(("Normal", text.lstrip("> ")))
    if table:
        blocks.append(table)
    return blocks


def direct(blocks: list[Block]) -> bytes:
    """python-docx alone: add the blocks to a blank document and save it."""
    document: Document = docx.Document()
    for block in blocks:
        if isinstance(block, tuple):
            document.add_paragraph(block[1], style=block[0])
        else:
            table = document.add_table(rows=len(block), cols=len(block[0]))
            for row, cells in zip(table.rows, block, strict=True):
                for cell, text in zip(row.cells, cells, strict=True):
                    cell.text = text
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def best(action: Callable[[], bytes], repeat: int) -> tuple[float, bytes]:
    """The fastest of ``repeat`` runs, in seconds, and the last output."""
    times = []
    output = b""
    for _ in range(repeat):
        started = time.perf_counter()
        output = action()
        times.append(time.perf_counter() - started)
    return min(times), output


def main() -> None:
    """Run both, print the figures."""
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--pages", type=int, default=40)
    options.add_argument("--repeat", type=int, default=2)
    args = options.parse_args()

    markdown = markdown_for(args.pages)
    blocks = blocks_of(markdown)
    context = {name: f"valeur de {name}" for name in TEMPLATE_VARIABLES}
    context["documents_count"] = 2
    del context["generated_content"]

    ours, rendered = best(lambda: render_docx(DEFAULT_TEMPLATE, context, markdown), args.repeat)
    baseline, written = best(lambda: direct(blocks), args.repeat)
    words = len(markdown.split())
    pages = words // WORDS_PER_PAGE
    print(f"openai-docx render: ~{pages} pages ({words} words, {len(blocks)} blocks)")
    print(f"  markdown -> docxtpl template: {ours * 1000:8.1f} ms  ({len(rendered)} bytes)")
    print(f"  python-docx direct:           {baseline * 1000:8.1f} ms  ({len(written)} bytes)")
    print(f"  ratio (render / direct):      {ours / baseline:8.2f}x  best of {args.repeat}")


if __name__ == "__main__":
    main()
