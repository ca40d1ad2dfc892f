"""The import boundary: plugins and the Kit Complet use only the public API, the core never
imports them, and the pure modules import nothing that does I/O."""

from __future__ import annotations

import ast
import inspect
from collections.abc import Iterator
from pathlib import Path

import pytest

from gated_delivery import api

ROOT = Path(__file__).parent.parent
CORE = ROOT / "src" / "gated_delivery"
#: The source of every distribution built on the core (their tests may reach further).
USERS = sorted([*ROOT.glob("plugins/*/src"), ROOT / "examples" / "kit_complet" / "src"])
#: What a user of the core may import: the API and the test kit.
PUBLIC_MODULES = {"gated_delivery.api", "gated_delivery.testing"}
#: Everything the pure modules may import: the standard library's pure parts and the errors.
PURE_IMPORTS = {
    "__future__",
    "collections.abc",
    "dataclasses",
    "enum",
    "re",
    "typing",
    "gated_delivery.errors",
}


def imports(path: Path) -> Iterator[tuple[str, list[str], int]]:
    """Every import of a file, anywhere in it: (module, names, line)."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, [], node.lineno
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module, [alias.name for alias in node.names], node.lineno


def core_imports(root: Path) -> Iterator[tuple[str, str, list[str]]]:
    """The imports of the core's package found under ``root``: (where, module, names)."""
    for path in sorted(root.rglob("*.py")):
        for module, names, line in imports(path):
            if module == "gated_delivery" or module.startswith("gated_delivery."):
                yield f"{path.relative_to(ROOT)}:{line}", module, names


@pytest.mark.parametrize("source", USERS, ids=lambda p: p.parent.name)
def test_plugins_and_the_kit_import_only_the_public_api(source: Path) -> None:
    found = list(core_imports(source))
    assert found, "the walk found no import of the core at all"
    private = [
        f"{where} imports {module}" for where, module, _ in found if module not in PUBLIC_MODULES
    ]
    assert not private, "only gated_delivery.api and gated_delivery.testing are public:\n" + (
        "\n".join(private)
    )
    unknown = [
        f"{where}: {name}"
        for where, module, names in found
        if module == "gated_delivery.api"
        for name in names
        if name not in api.__all__
    ]
    assert not unknown, "not in gated_delivery.api.__all__:\n" + "\n".join(unknown)


def test_the_core_never_imports_a_plugin_or_the_kit() -> None:
    ours = {path.name for path in ROOT.glob("plugins/*/src/*") if path.is_dir()} | {"kit_complet"}
    assert "gated_delivery_wave" in ours  # the walk knows the plugins' package names
    found = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in sorted(CORE.rglob("*.py"))
        for module, _, line in imports(path)
        if module.split(".")[0] in ours
    ]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("name", ["states.py", "money.py", "errors.py"])
def test_the_pure_modules_import_nothing_with_io(name: str) -> None:
    modules = {module for module, _, _ in imports(CORE / name)}
    assert modules, "the walk found no import"
    assert modules <= PURE_IMPORTS, f"{name} imports {sorted(modules - PURE_IMPORTS)}"


def test_every_public_name_exists_and_says_what_it_is() -> None:
    assert len(api.__all__) == len(set(api.__all__))
    for name in api.__all__:
        value = getattr(api, name)  # an AttributeError names a stale entry
        if inspect.isclass(value) or inspect.isfunction(value):
            assert inspect.getdoc(value), f"gated_delivery.api.{name} has no docstring"


def test_the_api_names_every_name_it_imports() -> None:
    tree = ast.parse((CORE / "api.py").read_text())
    bound = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("gated_delivery")
        for alias in node.names
    }
    assert "Money" in bound  # the walk saw the imports
    assert bound == set(api.__all__), sorted(bound ^ set(api.__all__))


def test_docs_api_md_is_the_rendered_reference() -> None:
    on_disk = (ROOT / "docs" / "api.md").read_text()
    assert on_disk == api.render_reference(), (
        "docs/api.md is stale: python -m gated_delivery.api > docs/api.md"
    )
