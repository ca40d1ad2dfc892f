"""The package's public names, and its entry point."""

from __future__ import annotations

from importlib.metadata import entry_points

import gated_delivery_openai_docx
from gated_delivery_openai_docx import plugin


def test_every_exported_name_is_importable() -> None:
    for name in gated_delivery_openai_docx.__all__:
        assert getattr(gated_delivery_openai_docx, name) is not None, name


def test_the_entry_point_names_the_plugin_module() -> None:
    [found] = [ep for ep in entry_points(group="gated_delivery") if ep.name == "openai_docx"]
    assert found.load() is plugin
