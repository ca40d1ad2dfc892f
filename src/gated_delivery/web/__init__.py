"""The mountable Starlette app: checkout, notifications, status, downloads."""

from gated_delivery.web.app import create_app

__all__ = ["create_app"]
