"""The public API: every name a plugin or a host app may import from gated-delivery.

Import from here (``from gated_delivery.api import Money, hookimpl``) and from the test kit
``gated_delivery.testing``; every other module of the package is private and may change in any
release. ``tests/test_public_api.py`` walks the plugins and the Kit Complet and fails on any
other import of the core, so this list is what they rely on, no more.

The names fall into five groups:

- writing a plugin: the hook specifications' data classes (``plugin_types``) and protocols
  (``plugin_protocols``), the ``hookimpl`` marker, the errors a provider raises, ``Money``,
  and the settings helpers a plugin's own settings use;
- mounting the app: ``create_app``, the runtime, the settings, the security headers and the
  error pages, for a host app that adds routes of its own;
- selling from a host app's own forms: finding products, creating an order with its uploads,
  the open-form limits, the order page's state words and the payment methods for a price;
- the catalogue and staff accounts, for a host app's set-up commands;
- the command line, for a host app that adds the core's commands to its own.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from gated_delivery.assets import add_uploads, product_file, upload_names
from gated_delivery.catalogue import (
    add_product_file,
    find_product,
    list_products,
    tiers_by_price,
    upsert_product,
)
from gated_delivery.checkout import providers_for
from gated_delivery.cli import bind_or_exit, reconcile_command
from gated_delivery.cli import worker as worker_command
from gated_delivery.clock import Clock
from gated_delivery.config import (
    CoreSettings,
    check_secret_key,
    derive_secret,
    describe_validation_error,
    load_settings,
)
from gated_delivery.errors import (
    ActionRefused,
    ConfigurationError,
    GatedDeliveryError,
    InvalidInput,
    MoneyError,
    NotFound,
    NotificationRejected,
    ProviderError,
    ProviderUnavailable,
    RetryLater,
    TooManyRequests,
)
from gated_delivery.hookspecs import hookimpl
from gated_delivery.inquiries import FULL as UNPAID_BUDGET_FULL
from gated_delivery.inquiries import admit_client, admit_email, check_budget, tell_admins
from gated_delivery.logcontext import configure_logging_from
from gated_delivery.models import Order, PriceTier, Product
from gated_delivery.money import Money
from gated_delivery.orders import check_email, create_order, find_order, get_order
from gated_delivery.payments import buyer_returned
from gated_delivery.plugin_protocols import (
    CredentialCheck,
    Generator,
    MailTransport,
    PaymentProvider,
    RefundCapable,
    StaffAuthenticator,
    StorageBackend,
)
from gated_delivery.plugin_types import (
    AttemptView,
    FindAttempt,
    FormField,
    FormSchema,
    GeneratedDocument,
    GenerationRequest,
    NotificationRef,
    PaymentRequest,
    PaymentStart,
    ProviderStatus,
    RawNotification,
    ReportedStatus,
    StaffUser,
    StoredObject,
)
from gated_delivery.runtime import Runtime, build_runtime
from gated_delivery.safe_json import JSONTooDeep
from gated_delivery.safe_json import loads as parse_json
from gated_delivery.serving import run as run_server
from gated_delivery.staff_accounts import create_account, set_password
from gated_delivery.states import FulfilmentState, PaymentStatus
from gated_delivery.text import LINE_BREAKS, unsafe_characters
from gated_delivery.uploads import (
    MIB,
    ReceivedFile,
    UploadLimits,
    UploadRefused,
    receive_upload,
    with_archive_settings,
)
from gated_delivery.web import create_app
from gated_delivery.web.body import read_limited
from gated_delivery.web.deps import client_ip, runtime
from gated_delivery.web.errors import exception_handlers
from gated_delivery.web.scripts import script_route
from gated_delivery.web.security_headers import SecurityHeaders, is_https
from gated_delivery.web.status import DELIVERABLE, buyer_message

__all__ = [
    "DELIVERABLE",
    "LINE_BREAKS",
    "MIB",
    "UNPAID_BUDGET_FULL",
    "ActionRefused",
    "AttemptView",
    "Clock",
    "ConfigurationError",
    "CoreSettings",
    "CredentialCheck",
    "FindAttempt",
    "FormField",
    "FormSchema",
    "FulfilmentState",
    "GatedDeliveryError",
    "GeneratedDocument",
    "GenerationRequest",
    "Generator",
    "InvalidInput",
    "JSONTooDeep",
    "MailTransport",
    "Money",
    "MoneyError",
    "NotFound",
    "NotificationRef",
    "NotificationRejected",
    "Order",
    "PaymentProvider",
    "PaymentRequest",
    "PaymentStart",
    "PaymentStatus",
    "PriceTier",
    "Product",
    "ProviderError",
    "ProviderStatus",
    "ProviderUnavailable",
    "RawNotification",
    "ReceivedFile",
    "RefundCapable",
    "ReportedStatus",
    "RetryLater",
    "Runtime",
    "SecurityHeaders",
    "StaffAuthenticator",
    "StaffUser",
    "StorageBackend",
    "StoredObject",
    "TooManyRequests",
    "UploadLimits",
    "UploadRefused",
    "add_product_file",
    "add_uploads",
    "admit_client",
    "admit_email",
    "bind_or_exit",
    "build_runtime",
    "buyer_message",
    "buyer_returned",
    "check_budget",
    "check_email",
    "check_secret_key",
    "client_ip",
    "configure_logging_from",
    "create_account",
    "create_app",
    "create_order",
    "derive_secret",
    "describe_validation_error",
    "exception_handlers",
    "find_order",
    "find_product",
    "get_order",
    "hookimpl",
    "is_https",
    "list_products",
    "load_settings",
    "parse_json",
    "product_file",
    "providers_for",
    "read_limited",
    "receive_upload",
    "reconcile_command",
    "run_server",
    "runtime",
    "script_route",
    "set_password",
    "tell_admins",
    "tiers_by_price",
    "unsafe_characters",
    "upload_names",
    "upsert_product",
    "with_archive_settings",
    "worker_command",
]


#: What the reference says of names without a docstring of their own.
_SUMMARIES: dict[str, str] = {
    "FindAttempt": "The lookup a provider gets in ``verify_notification``: an attempt by our "
    "transaction id, or None if there is no such attempt.",
    "hookimpl": "The marker of a plugin's hook implementations (``@hookimpl``).",
}


def _homes() -> dict[str, str]:
    """Where each public name is defined, read from this module's own imports."""
    tree = ast.parse(Path(__file__).read_text())
    return {
        alias.asname or alias.name: node.module
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.module and node.module != "__future__"
        for alias in node.names
    }


def _summary(name: str) -> str:
    value = globals()[name]
    if name in _SUMMARIES:
        return _SUMMARIES[name]
    if isinstance(value, frozenset):  # sorted: a set's own order changes from run to run
        items = sorted(repr(getattr(item, "value", item)) for item in value)
        return f"A constant set: `{{{', '.join(items)}}}`."
    if not callable(value):
        return f"A constant: `{value!r}`."
    return (inspect.getdoc(value) or "").split("\n\n")[0].replace("\n", " ")


def render_reference() -> str:
    """``docs/api.md``: every public name, where it is defined, and what it is."""
    homes = _homes()
    lines = [
        "# The public API",
        "",
        "<!-- rendered by `python -m gated_delivery.api > docs/api.md`; do not edit -->",
        "",
        *(__doc__ or "").strip().splitlines()[2:],
        "",
        "| Name | Defined in | What it is |",
        "| --- | --- | --- |",
    ]
    for name in sorted(__all__, key=str.lower):
        cell = _summary(name).replace("|", r"\|")
        lines.append(f"| `{name}` | `{homes[name]}` | {cell} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render_reference(), end="")
