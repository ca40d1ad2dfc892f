"""The names the audit trail files its events under (``AuditEvent.machine``).

The three state machines carry their own (``states.ATTEMPT.name``, ``states.ORDER.name``,
``states.FULFILMENT.name``); these are the other subjects events are written about. The
staff pages' history words and the exports match on them, so they are written once, here.
"""

from __future__ import annotations

from typing import Final

#: An order's own record: created, inquiry received, uploads purged.
ORDER: Final = "order"
#: A download link: created, consumed, revoked, renewed, sent again.
DOWNLOAD_LINK: Final = "download link"
#: A mail of the outbox: sent or skipped.
MAIL: Final = "mail"
#: A provider notification the core turned away.
WEBHOOK: Final = "webhook"
#: An outbound webhook endpoint: disabled, enabled.
WEBHOOK_ENDPOINT: Final = "webhook endpoint"
#: A staff account's log-ins, failures and lockouts.
STAFF_LOGIN: Final = "staff login"
