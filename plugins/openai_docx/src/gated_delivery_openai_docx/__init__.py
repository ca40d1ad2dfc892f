"""gated-delivery-openai-docx: AI drafts with the OpenAI API, rendered to Word with docxtpl.

The plugin offers the ``openai_docx`` generator (see ``settings`` for when it is enabled)
and, in sandbox mode, an OpenAI-compatible simulator at ``/sandbox/openai/v1``.

Names are imported on first use: ``openai`` and ``docxtpl`` take seconds to import, and
gated-delivery loads this package on every start, enabled or not.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from gated_delivery_openai_docx.generator import (
        GENERATOR_NAME,
        GenerationFailed,
        OpenAIDocxGenerator,
    )
    from gated_delivery_openai_docx.markdown_docx import write_markdown
    from gated_delivery_openai_docx.prompt import (
        TEMPLATE_VARIABLES,
        build_messages,
        template_context,
    )
    from gated_delivery_openai_docx.rendering import TemplateProblem, check_template, render_docx
    from gated_delivery_openai_docx.settings import (
        DEFAULT_TEMPLATE,
        SANDBOX_INSTRUCTION,
        GeneratorConfig,
        load_config,
    )
    from gated_delivery_openai_docx.simulator import Misbehaviour, OpenAISimulator

__version__ = "0.1.0.dev0"

__all__ = [
    "DEFAULT_TEMPLATE",
    "GENERATOR_NAME",
    "SANDBOX_INSTRUCTION",
    "TEMPLATE_VARIABLES",
    "GenerationFailed",
    "GeneratorConfig",
    "Misbehaviour",
    "OpenAIDocxGenerator",
    "OpenAISimulator",
    "TemplateProblem",
    "build_messages",
    "check_template",
    "load_config",
    "render_docx",
    "template_context",
    "write_markdown",
]

_WHERE: Final = {
    "GENERATOR_NAME": "generator",
    "GenerationFailed": "generator",
    "OpenAIDocxGenerator": "generator",
    "write_markdown": "markdown_docx",
    "TEMPLATE_VARIABLES": "prompt",
    "build_messages": "prompt",
    "template_context": "prompt",
    "TemplateProblem": "rendering",
    "check_template": "rendering",
    "render_docx": "rendering",
    "DEFAULT_TEMPLATE": "settings",
    "SANDBOX_INSTRUCTION": "settings",
    "GeneratorConfig": "settings",
    "load_config": "settings",
    "Misbehaviour": "simulator",
    "OpenAISimulator": "simulator",
}


def __getattr__(name: str) -> Any:
    """Import an exported name from its module on first use."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
