"""The hook reference of ``docs/plugins.md``, rendered from the hook specifications.

Its three sections are built from the source of three modules: the hooks from
``gated_delivery.hookspecs``, the protocols from ``gated_delivery.plugin_protocols`` and the
data classes from ``gated_delivery.plugin_types``. Each shows its own source:
signatures as written, docstrings, annotations, defaults and the ``#:`` comment above each
field. They sit between two markers of the page; the prose around them is written by hand.
``python -m gated_delivery.hook_reference docs/plugins.md`` rewrites the region in place
(without an argument it prints it), and a test fails when page and code differ.
"""

from __future__ import annotations

import ast
import dataclasses
import enum
import inspect
import json
import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Final

from pluggy import HookimplMarker, HookspecMarker

from gated_delivery import hookspecs, plugin_protocols, plugin_types

START: Final = "<!-- hook-reference:start -->"
END: Final = "<!-- hook-reference:end -->"
COMMAND: Final = "python -m gated_delivery.hook_reference docs/plugins.md"
#: The modules rendered, hooks first; each section takes its items from all of them.
MODULES: Final = (hookspecs, plugin_protocols, plugin_types)

HOOKS_INTRO: Final = f"""\
This section is generated from `gated_delivery/hookspecs.py` and the next two from
`gated_delivery/plugin_protocols.py` and `gated_delivery/plugin_types.py` (their docstrings,
signatures, annotations and `#:` comments): change the code, then run
`{COMMAND}`. A test fails when this page and the code disagree."""
PROTOCOLS_INTRO: Final = """\
The objects the hooks return. They are `typing.Protocol` classes in
`gated_delivery.plugin_protocols`: follow them, no need to inherit from them."""
DATA_INTRO: Final = """\
What plugins receive and return: frozen dataclasses of `gated_delivery.plugin_types`, with
the enum and the names they use. Amounts are always [`Money`](#money)."""
FIRSTRESULT: Final = (
    "A `firstresult` hook: the first plugin returning something other than None wins."
)


class RegionNotFound(ValueError):
    """The page lacks the generated region's markers (or has them twice, or out of order)."""


@dataclasses.dataclass(frozen=True)
class Item:
    """One documented name of a module, with the source it is rendered from."""

    name: str
    kind: str  # "hook", "protocol", "data class", "enum" or "name"
    node: ast.stmt
    obj: object
    source: Source


class Source:
    """The module's source, parsed, with the ``#:`` comments written above its lines."""

    def __init__(self, module: ModuleType) -> None:
        self.text = inspect.getsource(module)
        self.lines = self.text.splitlines()
        self.tree = ast.parse(self.text)
        self.module = module

    def comment_above(self, node: ast.stmt) -> str:
        """The ``#:`` lines right above ``node``, joined; empty when there are none."""
        found: list[str] = []
        row = node.lineno - 2
        while row >= 0 and self.lines[row].strip().startswith("#:"):
            found.insert(0, self.lines[row].strip()[2:].strip())
            row -= 1
        return " ".join(found)

    def segment(self, node: ast.AST) -> str:
        """The exact source text of ``node``."""
        return ast.get_source_segment(self.text, node) or ast.unparse(node)

    def header(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
        """Decorators and ``def`` line(s) as written, dedented, without the final colon."""
        first = min([d.lineno for d in node.decorator_list] + [node.lineno])
        lines = self.lines[first - 1 : node.body[0].lineno - 1]
        text = inspect.cleandoc("\n".join(lines))
        return text.removesuffix(":")

    def items(self) -> Iterator[Item]:
        """Every public hook, class and commented name of the module, in source order."""
        for node in self.tree.body:
            name = _bound_name(node)
            if name is None or name.startswith("_"):
                continue
            obj = getattr(self.module, name)
            kind = _kind(node, obj, self.comment_above(node))
            if kind is not None:
                yield Item(name, kind, node, obj, self)


def _bound_name(node: ast.stmt) -> str | None:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return node.name
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return node.target.id
    if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
        return node.targets[0].id
    return None


def _kind(node: ast.stmt, obj: object, comment: str) -> str | None:
    if isinstance(node, ast.FunctionDef):
        return "hook" if hasattr(obj, "gated_delivery_spec") else None
    if isinstance(node, ast.ClassDef):
        if getattr(obj, "_is_protocol", False):
            return "protocol"
        if isinstance(obj, type) and issubclass(obj, enum.Enum):
            return "enum"
        return "data class" if dataclasses.is_dataclass(obj) else None
    if isinstance(obj, HookspecMarker | HookimplMarker) or not comment:
        return None  # the markers are shown in the prose; an uncommented name is private
    return "name"


# --- docstrings and comments as Markdown -----------------------------------------------------


def anchor(name: str) -> str:
    """The anchor GitHub gives the heading ``### name``."""
    return re.sub(r"[^a-z0-9_-]", "", name.lower())


def inline(text: str, links: frozenset[str]) -> str:
    """RST inline literals as Markdown code; a documented name or a page links to it."""

    def code(match: re.Match[str]) -> str:
        word = match.group(1)
        if word in links:
            return f"[`{word}`](#{anchor(word)})"
        page = re.fullmatch(r"docs/([\w-]+\.md)", word)  # the reference lives in docs/ too
        return f"[`{word}`]({page.group(1)})" if page else f"`{word}`"

    return re.sub(r"``(.+?)``", code, text)


def markdown(doc: str | None, links: frozenset[str]) -> str:
    """A docstring as Markdown: lines kept, the indented block after ``::`` as fenced Python."""
    lines = inspect.cleandoc(doc or "").splitlines()
    out: list[str] = []
    row = 0
    while row < len(lines):
        line = lines[row]
        row += 1
        if not line.endswith("::"):
            out.append(inline(line, links))
            continue
        end = row
        while end < len(lines) and (not lines[end] or lines[end].startswith(" ")):
            end += 1
        block = inspect.cleandoc("\n".join(lines[row:end]))
        out += [inline(line[:-1], links), "", "```python", block, "```", ""]
        row = end
    return "\n".join(out).strip()


def cell(text: str) -> str:
    """Text fit for one Markdown table cell."""
    return text.replace("|", "\\|")


# --- rendering -------------------------------------------------------------------------------


class Renderer:
    """Renders the items of the modules' sources as the three sections of the reference.

    Each method returns Markdown blocks (no blank line at either end); ``render`` joins them
    with one blank line.
    """

    def __init__(self, sources: Sequence[Source]) -> None:
        self.items = [item for source in sources for item in source.items()]
        self.names = frozenset(item.name for item in self.items)

    def doc(self, doc: str | None, own: str) -> str:
        return markdown(doc, self.names - {own})

    def text(self, comment: str, own: str) -> str:
        return cell(inline(comment, self.names - {own}))

    def render(self) -> str:
        """The whole region, markers included."""
        blocks = [START, "## Hooks", HOOKS_INTRO]
        blocks += [b for item in self.items if item.kind == "hook" for b in self.hook(item)]
        blocks += ["## Protocols", PROTOCOLS_INTRO]
        blocks += [b for i in self.items if i.kind == "protocol" for b in self.protocol(i)]
        blocks += ["## Data classes", DATA_INTRO]
        by_kind = {"data class": self.data_class, "enum": self.enumeration, "name": self.alias}
        blocks += [b for i in self.items if i.kind in by_kind for b in by_kind[i.kind](i)]
        return "\n\n".join([*blocks, END])

    def hook(self, item: Item) -> list[str]:
        assert isinstance(item.node, ast.FunctionDef)
        blocks = [f"### {item.name}", self.code(item.source.header(item.node))]
        blocks.append(self.doc(ast.get_docstring(item.node), item.name))
        if getattr(item.obj, "gated_delivery_spec", {}).get("firstresult"):
            blocks.append(FIRSTRESULT)
        return blocks

    def protocol(self, item: Item) -> list[str]:
        rows = [self.attribute(item, node) for node in _fields(item.node)]
        table = ["| attribute | type | what |\n|---|---|---|", *rows] if rows else []
        return [*self.heading(item), *(["\n".join(table)] if table else []), *self.methods(item)]

    def data_class(self, item: Item) -> list[str]:
        defaults = {f.name: _default(f) for f in dataclasses.fields(item.obj)}  # type: ignore[arg-type]
        rows = ["| field | type | default | what |", "|---|---|---|---|"]
        for node in _fields(item.node):
            name = _bound_name(node) or ""
            what = self.text(item.source.comment_above(node), item.name)
            kind = cell(item.source.segment(node.annotation))
            rows.append(f"| `{name}` | `{kind}` | {defaults[name]} | {what} |")
        return [*self.heading(item), "\n".join(rows), *self.methods(item)]

    def enumeration(self, item: Item) -> list[str]:
        assert isinstance(item.obj, type)
        assert issubclass(item.obj, enum.Enum)
        rows = ["| member | value |", "|---|---|"]
        rows += [f"| `{m.name}` | `{json.dumps(m.value)}` |" for m in item.obj]
        return [*self.heading(item), "\n".join(rows)]

    def alias(self, item: Item) -> list[str]:
        text = inline(item.source.comment_above(item.node), self.names - {item.name})
        return [f"### {item.name}", self.code(item.source.segment(item.node)), text]

    def heading(self, item: Item) -> list[str]:
        assert isinstance(item.node, ast.ClassDef)
        return [f"### {item.name}", self.doc(ast.get_docstring(item.node), item.name)]

    def attribute(self, item: Item, node: ast.AnnAssign) -> str:
        what = self.text(item.source.comment_above(node), item.name)
        kind = cell(item.source.segment(node.annotation))
        return f"| `{_bound_name(node)}` | `{kind}` | {what} |"

    def methods(self, item: Item) -> list[str]:
        assert isinstance(item.node, ast.ClassDef)
        blocks: list[str] = []
        for node in item.node.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not (
                node.name.startswith("_")
            ):
                blocks.append(self.code(item.source.header(node)))
                blocks.append(self.doc(ast.get_docstring(node), item.name))
        return blocks

    @staticmethod
    def code(text: str) -> str:
        return f"```python\n{text}\n```"


def _fields(node: ast.stmt) -> list[ast.AnnAssign]:
    assert isinstance(node, ast.ClassDef)
    return [n for n in node.body if isinstance(n, ast.AnnAssign)]


def _default(f: dataclasses.Field[object]) -> str:
    if f.default is not dataclasses.MISSING:
        value = f.default
    elif f.default_factory is not dataclasses.MISSING:
        value = f.default_factory()
    else:
        return "required"
    shown = json.dumps(value) if isinstance(value, str) else repr(value)
    return f"`{cell(shown)}`"


def render(modules: Sequence[ModuleType] = MODULES) -> str:
    """The generated region of ``docs/plugins.md``, markers included."""
    return Renderer([Source(module) for module in modules]).render()


def undocumented(modules: Sequence[ModuleType] = MODULES) -> list[str]:
    """What the reference would show with nothing said about it, and how to say it."""
    missing: list[str] = []
    for item in (item for module in modules for item in Source(module).items()):
        if not isinstance(item.node, ast.ClassDef):
            if item.kind == "hook" and not ast.get_docstring(item.node):  # type: ignore[arg-type]
                missing.append(f"{item.name}: give it a docstring")
            continue
        if not ast.get_docstring(item.node):
            missing.append(f"{item.name}: give it a docstring")
        if item.kind in ("protocol", "data class"):
            missing += [
                f"{item.name}.{_bound_name(node)}: write a #: comment above it"
                for node in _fields(item.node)
                if not item.source.comment_above(node)
            ]
        missing += [
            f"{item.name}.{node.name}: give it a docstring"
            for node in item.node.body
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and not node.name.startswith("_")
            and not ast.get_docstring(node)
        ]
    return missing


def region(page: str) -> str:
    """The generated region as it stands in ``page``, markers included."""
    if page.count(START) != 1 or page.count(END) != 1 or page.index(START) > page.index(END):
        raise RegionNotFound(
            f"the page needs exactly one {START} line followed by one {END} line; "
            "put them around the hook reference, then run " + COMMAND
        )
    return page[page.index(START) : page.index(END) + len(END)]


def rewrite(page: str, modules: Sequence[ModuleType] = MODULES) -> str:
    """``page`` with its generated region replaced by the current rendering."""
    return page.replace(region(page), render(modules))


def main(argv: list[str]) -> int:
    """Rewrite the region of each page named, or print the region when none is."""
    if not argv:
        print(render())
        return 0
    for name in argv:
        path = Path(name)
        try:
            path.write_text(rewrite(path.read_text()))
        except (OSError, RegionNotFound) as exc:
            print(f"{name}: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
