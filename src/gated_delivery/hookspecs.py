"""The plugin reference: every hook gated-delivery calls.

Plugins are found through the entry-point group ``gated_delivery``; our own defaults (local
storage, the folder mail transport, the sandbox fake provider) are registered the same way,
first, so that any installed plugin is called before them. Hook implementations may accept
fewer arguments than the spec. Specs may gain arguments but never lose or rename one.

A payment provider is one module: a ``payment_providers`` hook returning an object that
follows ``PaymentProvider``. The core does everything else: orders, attempts, the webhook
pipeline, retries, reconciliation, audit and delivery. Every provider proves itself with
``gated_delivery.testing.ProviderContract`` run against its simulator, and follows the
sandbox conventions of ``sandbox_routes``.

The objects plugins hand over are in ``gated_delivery.plugin_protocols`` (what the hooks
return) and ``gated_delivery.plugin_types`` (the data classes they exchange).

The hook reference of ``docs/plugins.md`` is rendered from this module's docstrings and ``#:``
comments, and those of the other two, by ``python -m gated_delivery.hook_reference
docs/plugins.md``; a test fails when the two differ.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterable, Mapping
from typing import TYPE_CHECKING

from pluggy import HookimplMarker, HookspecMarker

from gated_delivery.money import Money
from gated_delivery.plugin_protocols import (
    Generator,
    MailTransport,
    PaymentProvider,
    StaffAuthenticator,
    StorageBackend,
)
from gated_delivery.plugin_types import FormSchema

if TYPE_CHECKING:
    from starlette.routing import BaseRoute

    from gated_delivery.config import CoreSettings

hookspec = HookspecMarker("gated_delivery")
#: Mark your hook implementations with this (or ``pluggy.HookimplMarker("gated_delivery")``).
hookimpl = HookimplMarker("gated_delivery")


# --- the hooks --------------------------------------------------------------------------


@hookspec
def payment_providers(settings: CoreSettings) -> Iterable[PaymentProvider]:
    """Offer payment providers; called once, when the app or worker starts.

    ``settings`` are the core settings (a plugin reads its own variables itself). Return
    nothing if your variables are unset; if only some are set, raise ``ConfigurationError``
    naming the missing one. Two plugins offering the same ``name`` stop start-up.

    Each object returned must follow ``PaymentProvider`` (checked at start-up). The checkout
    page shows one button per provider offered.
    """


@hookspec
def generators(settings: CoreSettings) -> Iterable[Generator]:
    """Offer document generators; a product names the one it uses.

    ``settings`` are the core settings. Return nothing if your variables are unset.

    Each object follows ``Generator``; a product chooses one by its ``name``
    (``gated-delivery products add ... --generator NAME``).
    """


@hookspec
def storage_backends(settings: CoreSettings) -> Iterable[StorageBackend]:
    """Offer storage backends; ``GD_STORAGE`` picks one by name (default ``local``).

    ``settings`` are the core settings (``PRIVATE_MEDIA_ROOT`` among them).

    Each object follows ``StorageBackend``. The core's default offers ``local``, a private
    folder under ``PRIVATE_MEDIA_ROOT``. A ``GD_STORAGE`` naming no backend stops start-up,
    listing the installed ones.
    """


@hookspec(firstresult=True)
def mail_transport(settings: CoreSettings) -> MailTransport | None:
    """Return the mail transport to use, or None to let the next plugin decide.

    ``settings`` are the core settings. The built-in default writes each message as a
    ``.eml`` file under ``GD_MAIL_DIR``; installed plugins are asked first. The object
    follows ``MailTransport``.
    """


@hookspec(firstresult=True)
def staff_authenticator(settings: CoreSettings) -> StaffAuthenticator | None:
    """Return how staff are authenticated, or None to keep the built-in login.

    ``settings`` are the core settings. A host app with its own users returns an object
    that reads its session and maps it to a ``StaffUser``, following ``StaffAuthenticator``.
    """


@hookspec(firstresult=True)
def form_schema(product_slug: str, lang: str) -> FormSchema | None:
    """Return the labels of a product's order form, or None to let the next plugin answer.

    ``product_slug`` names the product; ``lang`` is the reader's language (``fr`` or
    ``en``): return labels in it if you have them, else in your own. The staff order page,
    the staff mails and ``gated-delivery orders show`` then show each answer under its label,
    a multiple choice as a list of choice labels and a long text with its paragraphs; the raw
    keys stay in ``orders show --json`` and the exports. Without a schema an answer key is
    shown made readable (``mission_text`` as "Mission text"). For example::

        @hookimpl
        def form_schema(product_slug: str, lang: str) -> FormSchema | None:
            if product_slug != "kit-complet":
                return None
            return FormSchema(
                fields=[
                    FormField("organization_name", "Nom de l'organisation"),
                    FormField("audits_types", "Types d'audit", {"financier": "Audit financier"}),
                ]
            )
    """


@hookspec
def sandbox_routes(
    settings: CoreSettings, providers: Mapping[str, PaymentProvider]
) -> Iterable[BaseRoute]:
    """Offer routes mounted under ``/sandbox`` when ``GD_SANDBOX`` is on (simulators).

    ``settings`` are the core settings; ``providers`` the payment providers in use, by name.
    The routes are Starlette routes added to the app as they are, never outside sandbox mode.

    The sandbox conventions, which every provider plugin shipped with the core follows:

    - Mount your simulator under ``/sandbox/<your provider name>`` and give the routes their
      full path (``Route("/sandbox/examplepay/pay/{attempt_id}", ...)``).
    - With none of your variables set, offer your provider only when ``settings.sandbox`` is
      on, pointed at that simulator (``settings.base_url`` + its prefix), with sandbox
      credentials only the simulator accepts (fixed public ones, or derived from
      ``GD_SECRET_KEY``); with them set, talk to the real API.
    - Return no route unless ``providers[<your name>]`` is your provider pointed at your
      simulator: a simulator must never hold a real key.
    - Run the real client code against the simulator, and run ``ProviderContract`` on it.
    """


@hookspec
def payment_confirmed(order_id: str, attempt_id: str, amount: Money) -> Awaitable[None] | None:
    """Called once an order is PAID (``amount`` confirmed by the provider for ``attempt_id``).

    Called by the worker after the transaction committed, at least once: make it idempotent
    keyed on ``order_id``. ``order_id`` is the public order id. May be a coroutine function.
    It runs from an outbox job: a failing implementation is retried with backoff.
    """


@hookspec
def fulfilment_published(order_id: str, asset_id: str) -> Awaitable[None] | None:
    """Called once an order's deliverable is published (``asset_id`` is the delivered file).

    Called by the worker after the commit, at least once: keep it idempotent; ``order_id``
    is the public order id. May be a coroutine function. It runs from an outbox job: a
    failing implementation is retried with backoff.
    """


@hookspec
def download_token_consumed(order_id: str, token_id: str, use_count: int) -> Awaitable[None] | None:
    """Called after a download link was used (``use_count`` uses so far of ``token_id``).

    Called by the worker after the commit, at least once: keep it idempotent; ``order_id``
    is the public order id. May be a coroutine function. It runs from an outbox job: a
    failing implementation is retried with backoff.
    """
