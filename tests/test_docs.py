"""The documentation follows the code: hooks, protocols, states, settings and commands."""

from __future__ import annotations

import dataclasses
import inspect
import re
import shlex
from pathlib import Path
from typing import Any

import click
import pluggy
import pytest

from gated_delivery import hookspecs, plugin_protocols, plugin_types, states
from gated_delivery.config import CoreSettings, env_name

DOCS = Path(__file__).resolve().parent.parent / "docs"
SRC = Path(hookspecs.__file__).resolve().parent
PLUGINS_MD = DOCS / "plugins.md"
QUICKSTART_MD = DOCS / "quickstart.md"


def hook_specs() -> dict[str, Any]:
    """Every hook spec, by name, as the plugin manager sees them."""
    pm = pluggy.PluginManager("gated_delivery")
    pm.add_hookspecs(hookspecs)
    return {name: caller.spec for name, caller in vars(pm.hook).items() if caller.spec}


def marked_specs() -> set[str]:
    """Every function of ``hookspecs`` carrying the ``gated_delivery`` spec marker."""
    return {
        name
        for name, obj in vars(hookspecs).items()
        if inspect.isfunction(obj) and hasattr(obj, "gated_delivery_spec")
    }


def protocols() -> list[str]:
    """The public protocols defined in ``plugin_protocols`` (what hooks return)."""
    return sorted(
        name
        for name, obj in vars(plugin_protocols).items()
        if inspect.isclass(obj)
        and obj.__module__ == plugin_protocols.__name__
        and getattr(obj, "_is_protocol", False)
        and not name.startswith("_")
    )


def data_classes() -> list[str]:
    """The public data classes defined in ``plugin_types`` (what plugins exchange)."""
    return sorted(
        name
        for name, obj in vars(plugin_types).items()
        if inspect.isclass(obj)
        and obj.__module__ == plugin_types.__name__
        and dataclasses.is_dataclass(obj)
        and not name.startswith("_")
    )


def sections(text: str, level: int) -> dict[str, str]:
    """The body of each heading of ``level`` (``###``), up to the next heading at most as deep.

    Lines inside fenced code blocks are never headings (``# a comment`` in Python or TOML).
    """
    found: dict[str, str] = {}
    current: str | None = None
    in_code = False
    for line in text.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        heading = None if in_code else re.match(r"^(#+) (.*)$", line)
        if heading and len(heading.group(1)) <= level:
            current = heading.group(2).strip() if len(heading.group(1)) == level else None
            if current is not None:
                found[current] = ""
            continue
        if current is not None:
            found[current] += line + "\n"
    return found


def part(text: str, title: str) -> str:
    """The body of the ``## title`` section."""
    found = sections(text, 2)
    assert title in found, f"no '## {title}' section"
    return found[title]


SPECS = hook_specs()


def test_hook_specs_are_found() -> None:
    # guards the parametrized tests below against passing on an empty list
    assert "payment_providers" in SPECS
    assert len(SPECS) >= 9
    assert set(SPECS) == marked_specs()


@pytest.mark.parametrize("name", sorted(SPECS))
def test_hook_spec_has_a_docstring(name: str) -> None:
    doc = inspect.getdoc(SPECS[name].function)
    assert doc, f"hook {name} has no docstring"
    assert len(doc.split()) >= 5, f"hook {name}'s docstring says too little: {doc!r}"


@pytest.mark.parametrize("name", sorted(SPECS))
def test_hook_docstring_names_every_argument(name: str) -> None:
    spec = SPECS[name]
    doc = inspect.getdoc(spec.function) or ""
    assert spec.argnames, f"hook {name} takes no argument?"
    missing = [arg for arg in spec.argnames if f"``{arg}``" not in doc]
    assert not missing, f"hook {name}'s docstring does not name {missing} (write ``arg``)"


@pytest.mark.parametrize("name", sorted(SPECS))
def test_hook_is_documented_in_plugins_md(name: str) -> None:
    documented = sections(part(PLUGINS_MD.read_text(), "Hooks"), 3)
    assert name in documented, f"docs/plugins.md has no '### {name}' under '## Hooks'"
    body = documented[name]
    spec = SPECS[name]
    for arg in spec.argnames:
        assert f"{arg}:" in body, f"the signature of {name} in docs/plugins.md lacks {arg}"
    if spec.opts.get("firstresult"):
        assert "firstresult" in body, f"docs/plugins.md does not say {name} is firstresult"


def test_plugins_md_documents_no_unknown_hook() -> None:
    documented = sections(part(PLUGINS_MD.read_text(), "Hooks"), 3)
    assert set(documented) == set(SPECS)


def test_protocols_are_found() -> None:
    assert {
        "PaymentProvider",
        "Generator",
        "StorageBackend",
        "MailTransport",
        "StaffAuthenticator",
    } <= set(protocols())


@pytest.mark.parametrize("name", protocols())
def test_protocol_is_documented_in_plugins_md(name: str) -> None:
    text = PLUGINS_MD.read_text()
    assert re.search(rf"\b{name}\b", text), f"docs/plugins.md never mentions {name}"
    documented = sections(text, 3)
    assert name in documented, f"docs/plugins.md has no '### {name}' heading"
    cls = getattr(plugin_protocols, name)
    members = set(getattr(cls, "__annotations__", {})) | {
        member for member, value in vars(cls).items() if inspect.isfunction(value)
    }
    members = {m for m in members if not m.startswith("_")}
    assert members, f"{name} has no public member?"
    missing = sorted(
        m for m in members if f"`{m}`" not in documented[name] and f" {m}(" not in documented[name]
    )
    assert not missing, f"the '### {name}' section of docs/plugins.md lacks {missing}"


@pytest.mark.parametrize("name", data_classes())
def test_data_class_is_documented_in_plugins_md(name: str) -> None:
    documented = sections(PLUGINS_MD.read_text(), 3)
    assert name in documented, f"docs/plugins.md has no '### {name}' heading"
    fields = [f.name for f in dataclasses.fields(getattr(plugin_types, name))]
    missing = [f for f in fields if f"`{f}`" not in documented[name]]
    assert not missing, f"the '### {name}' section of docs/plugins.md lacks {missing}"


def test_states_md_is_the_rendered_tables() -> None:
    on_disk = (DOCS / "states.md").read_text()
    assert on_disk == states.render_markdown(), (
        "docs/states.md is stale: python -m gated_delivery.states > docs/states.md"
    )


@pytest.mark.parametrize("page", sorted(p.name for p in DOCS.glob("*.md")))
def test_relative_links_resolve(page: str) -> None:
    text = (DOCS / page).read_text()
    for target in re.findall(r"\]\(([^)#]+?)(?:#[^)]*)?\)", text):
        if "://" in target:
            continue
        assert (DOCS / target).exists(), f"{page} links to {target}, which does not exist"


def test_index_links_to_every_page() -> None:
    text = (DOCS / "index.md").read_text()
    for page in ("quickstart.md", "plugins.md", "states.md"):
        assert f"]({page})" in text


@pytest.mark.parametrize("field", sorted(CoreSettings.model_fields))
def test_every_setting_is_in_quickstart(field: str) -> None:
    assert f"`{env_name(field)}`" in QUICKSTART_MD.read_text()


def test_quickstart_names_no_unknown_core_setting() -> None:
    known = {env_name(field) for field in CoreSettings.model_fields}
    known.add("GD_TEST_DATABASE_URL")  # read by the test fixtures, not a setting
    named = set(re.findall(r"\b(?:GD_[A-Z_]+|PRIVATE_MEDIA_ROOT)\b", QUICKSTART_MD.read_text()))
    assert named, "no setting found in docs/quickstart.md"
    assert named <= known, f"docs/quickstart.md names unknown settings {sorted(named - known)}"


def documented_commands() -> list[str]:
    """The synopsis lines ``gated-delivery ...`` of quickstart.md's command sections."""
    text = QUICKSTART_MD.read_text()
    return re.findall(
        r"^### `gated-delivery [^`]+`\n\n    (gated-delivery .+)$", text, re.MULTILINE
    )


def test_command_synopses_are_found() -> None:
    heads = {" ".join(synopsis.split()[1:3]) for synopsis in documented_commands()}
    for command in ("db upgrade", "products add", "products list", "orders create", "orders show"):
        assert command in heads
    for command in ("serve", "worker", "reconcile"):
        assert any(head.split()[0] == command for head in heads)


@pytest.mark.parametrize("synopsis", documented_commands())
def test_documented_command_exists_with_its_options(synopsis: str) -> None:
    from gated_delivery.cli import main

    command: click.Command = main
    words = shlex.split(synopsis)[1:]
    path = []
    while isinstance(command, click.Group) and words and words[0] in command.commands:
        path.append(words.pop(0))
        command = command.commands[path[-1]]
    assert not isinstance(command, click.Group), f"{synopsis!r} names no command"
    by_option = {  # secondary_opts: the --no-x of an --x/--no-x flag
        opt: param for param in command.params for opt in (*param.opts, *param.secondary_opts)
    }
    positional: list[str] = []
    named: set[str] = set()
    rest = iter(words)
    for word in rest:
        bare = word.strip("[]")
        if not bare.startswith("--"):
            positional.append(bare)
            continue
        named.add(bare)
        param = by_option.get(bare)
        if isinstance(param, click.Option) and not param.is_flag:
            next(rest, None)  # the option's value, such as T in --title T
    unknown = named - set(by_option)
    assert not unknown, f"gated-delivery {' '.join(path)} has no {sorted(unknown)}"
    arguments = [p for p in command.params if isinstance(p, click.Argument)]
    assert len(positional) == len(arguments), f"{synopsis!r}: arguments {positional}"
    required = {p.opts[0] for p in command.params if isinstance(p, click.Option) and p.required}
    shown = {word for word in words if word.startswith("--")}  # outside [...]
    assert required <= shown, f"{synopsis!r} does not show {sorted(required - shown)}"


def test_webhooks_md_has_the_generated_events_table() -> None:
    from gated_delivery.webhooks.events import render_markdown

    text = (DOCS / "webhooks.md").read_text()
    start, end = "<!-- events table: generated -->\n", "<!-- end of the generated table -->"
    assert start in text, "docs/webhooks.md lost its table's start marker"
    assert end in text, "docs/webhooks.md lost its table's end marker"
    table = text.split(start, 1)[1].split(end, 1)[0]
    assert table == render_markdown(), (
        "docs/webhooks.md's events table differs from the code; paste the output of "
        "`python -m gated_delivery.webhooks.events`"
    )


def payment_flow_section() -> str:
    text = (DOCS / "index.md").read_text()
    start = text.index("## How a payment flows")
    return text[start : text.index("\n## ", start + 1)]


def test_how_a_payment_flows_cites_code_that_exists() -> None:
    section = payment_flow_section()
    cited = re.findall(r"`([\w/]+\.py)` `([\w.]+)`", section)
    assert len(cited) >= 10, "the walk found too few file/function pairs"
    missing = []
    for path, name in cited:
        source = (SRC / path).read_text()
        function = name.rsplit(".", 1)[-1]
        if not re.search(rf"^\s*(async )?def {function}\(", source, re.MULTILINE):
            missing.append(f"{path} {name}")
    assert not missing, f"docs/index.md cites functions that are not there: {missing}"
    files = set(re.findall(r"`([\w/]+\.py)`", section))
    assert len(files) <= 10, f"the flow should be readable in at most 10 files: {sorted(files)}"


def test_how_a_payment_flows_names_only_hooks_and_jobs_that_exist() -> None:
    section = payment_flow_section()
    protocols = (SRC / "plugin_protocols.py").read_text()
    for hook in ("verify_notification", "check_status"):
        assert f"`{hook}`" in section
        assert f"def {hook}(" in protocols
    handlers = (SRC / "jobs" / "handlers.py").read_text()
    assert "async def verify_payment(" in handlers
