"""The hook reference of docs/plugins.md is the rendering of hookspecs.py, plugin_protocols.py
and plugin_types.py, and says enough."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import re
from pathlib import Path

import pytest

from gated_delivery import hook_reference, plugin_protocols
from gated_delivery.hook_reference import END, START, RegionNotFound

PLUGINS_MD = Path(__file__).resolve().parent.parent / "docs" / "plugins.md"


def test_plugins_md_holds_the_rendered_reference() -> None:
    on_disk = hook_reference.region(PLUGINS_MD.read_text())
    assert on_disk == hook_reference.render(), (
        f"docs/plugins.md's hook reference is stale: run `{hook_reference.COMMAND}`"
    )


def test_every_rendered_name_says_something() -> None:
    assert hook_reference.undocumented() == []


def test_the_reference_names_every_hook_protocol_and_data_class() -> None:
    rendered = hook_reference.render()
    headings = set(re.findall(r"^### (\S+)$", rendered, re.MULTILINE))
    public = {
        name
        for module in hook_reference.MODULES
        for name, obj in vars(module).items()
        if not name.startswith("_")
        and (
            (inspect.isfunction(obj) and hasattr(obj, "gated_delivery_spec"))
            or (inspect.isclass(obj) and obj.__module__ == module.__name__)
        )
    }
    assert public <= headings, f"not rendered: {sorted(public - headings)}"
    assert {"FindAttempt", "BUYER_DETAIL_KEYS", "ReportedStatus"} <= headings


def test_fields_carry_type_default_and_comment() -> None:
    rendered = hook_reference.render()
    assert "| `provider_ref` | `str \\| None` | `None` | The provider's own id" in rendered
    assert "| `attempt_id` | `str` | required | Our transaction id" in rendered
    assert "| `path_params` | `Mapping[str, str]` | `{}` |" in rendered


def test_firstresult_hooks_say_so() -> None:
    rendered = hook_reference.render()
    mail = rendered.split("### mail_transport", 1)[1].split("### ", 1)[0]
    providers = rendered.split("### payment_providers", 1)[1].split("### ", 1)[0]
    assert hook_reference.FIRSTRESULT in mail
    assert hook_reference.FIRSTRESULT not in providers


def test_inline_literals_become_code_and_links() -> None:
    links = frozenset({"PaymentProvider"})
    text = hook_reference.inline("``PaymentProvider``, ``x`` and ``docs/states.md``", links)
    assert text == "[`PaymentProvider`](#paymentprovider), `x` and [`docs/states.md`](states.md)"


def test_a_literal_block_becomes_fenced_python_and_the_text_goes_on() -> None:
    doc = "Intro. For example::\n\n    x = 1\n        y = 2\n\nAfter the block."
    assert hook_reference.markdown(doc, frozenset()) == (
        "Intro. For example:\n\n```python\nx = 1\n    y = 2\n```\n\nAfter the block."
    )


def test_rewrite_replaces_only_the_region() -> None:
    page = f"# Title\n\nhand-written\n\n{START}\nold\n{END}\n\nmore prose\n"
    rewritten = hook_reference.rewrite(page)
    assert rewritten.startswith("# Title\n\nhand-written\n\n" + START)
    assert rewritten.endswith(END + "\n\nmore prose\n")
    assert "old" not in rewritten.split(START)[1].split(END)[0].split()
    assert hook_reference.rewrite(rewritten) == rewritten


@pytest.mark.parametrize(
    "page", ["no markers", f"{START} only", f"{END}\n{START}", f"{START}{END}{START}{END}"]
)
def test_a_page_without_one_ordered_pair_of_markers_is_refused(page: str) -> None:
    with pytest.raises(
        RegionNotFound, match=re.escape("run python -m gated_delivery.hook_reference")
    ):
        hook_reference.rewrite(page)


def test_main_rewrites_the_page_named(tmp_path: Path) -> None:
    page = tmp_path / "plugins.md"
    page.write_text(f"before\n{START}\n{END}\nafter\n")
    assert hook_reference.main([str(page)]) == 0
    assert page.read_text() == f"before\n{hook_reference.render()}\nafter\n"
    broken = tmp_path / "broken.md"
    broken.write_text("no markers\n")
    assert hook_reference.main([str(broken)]) == 1


def test_dotted_names_cited_by_the_rendered_modules_exist() -> None:
    source = "".join(inspect.getsource(module) for module in hook_reference.MODULES)
    cited = set(re.findall(r"``(gated_delivery(?:\.\w+)+)``", source))
    assert "gated_delivery.testing.ProviderContract" in cited
    for dotted in cited:
        module_name, _, attribute = dotted.rpartition(".")
        module = importlib.import_module(module_name)
        exists = hasattr(module, attribute) or importlib.util.find_spec(dotted) is not None
        assert exists, f"the reference cites {dotted}, which does not exist"


def test_verify_notification_says_what_to_do_with_an_unknown_attempt() -> None:
    doc = inspect.getdoc(plugin_protocols.PaymentProvider.verify_notification) or ""
    assert "does not know" in doc
    assert "empty ``attempt_id``" in doc
    assert "``NotificationRejected``" in doc
