"""Database tables (SQLAlchemy 2). Every table is prefixed ``gd_``: host apps share the database.

Datetimes are stored timezone-aware in UTC on every backend, enums by their value, money as an
integer number of minor units next to its currency code.

One module per part of the schema; every table is importable from here.
"""

from gated_delivery.models.access import Heartbeat, PurchasesLink, RateCounter, StaffAccount
from gated_delivery.models.base import NAMING, AssetKind, Base, JobState, UTCDateTime, utcnow
from gated_delivery.models.sales import (
    Asset,
    AuditEvent,
    DownloadToken,
    Job,
    Notification,
    Order,
    PaymentAttempt,
    PriceTier,
    Product,
)
from gated_delivery.models.webhooks import WebhookAttempt, WebhookEndpoint, WebhookEvent

__all__ = [
    "NAMING",
    "Asset",
    "AssetKind",
    "AuditEvent",
    "Base",
    "DownloadToken",
    "Heartbeat",
    "Job",
    "JobState",
    "Notification",
    "Order",
    "PaymentAttempt",
    "PriceTier",
    "Product",
    "PurchasesLink",
    "RateCounter",
    "StaffAccount",
    "UTCDateTime",
    "WebhookAttempt",
    "WebhookEndpoint",
    "WebhookEvent",
    "utcnow",
]
