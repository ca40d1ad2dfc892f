"""``GET /metrics``: the Prometheus text format, for a scraper that proves who it is.

Mounted only with ``GD_METRICS=1``. With ``GD_METRICS_TOKEN`` set the scraper sends it as
``Authorization: Bearer <token>``; without one, only loopback clients are answered (run the
scraper on the same host, or set a token).
"""

from __future__ import annotations

import hmac
import ipaddress

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from gated_delivery import metrics
from gated_delivery.web.deps import runtime


def _allowed(request: Request, token: str | None) -> bool:
    if token:
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        return hmac.compare_digest(given.encode(), token.encode())
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def scrape(request: Request) -> Response:
    """Every metric, or 403 for a scraper without the token (or not on loopback)."""
    rt = runtime(request)
    secret = rt.settings.metrics_token
    if not _allowed(request, secret.get_secret_value() if secret else None):
        return PlainTextResponse(
            "metrics need the bearer token of GD_METRICS_TOKEN", status_code=403
        )
    return Response(await metrics.render(rt), media_type=CONTENT_TYPE_LATEST)
