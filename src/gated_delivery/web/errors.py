"""Turning errors into short responses that say what was wrong, never how the code failed."""

from __future__ import annotations

import logging
from typing import Final

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gated_delivery import error_reports, logcontext
from gated_delivery.errors import (
    GatedDeliveryError,
    IllegalTransition,
    InvalidInput,
    NotFound,
    NotificationRejected,
    ProviderError,
    TooManyRequests,
)
from gated_delivery.ids import new_public_id
from gated_delivery.web.request_context import ids_of
from gated_delivery.web.templating import templates

log = logging.getLogger(__name__)

TITLES: Final = {
    400: "Requête refusée",
    403: "Accès refusé",
    404: "Introuvable",
    405: "Méthode non permise",
    409: "Action impossible",
    413: "Trop volumineux",
    415: "Format non pris en charge",
    429: "Réessayez plus tard",
    502: "Le paiement n'a pas pu démarrer",
    500: "Erreur interne",
}


def error_response(request: Request, status: int, detail: str) -> Response:
    """HTML for browsers, JSON for everything else; one sentence either way."""
    if "text/html" in request.headers.get("accept", ""):
        title = TITLES.get(status, "Erreur")
        return templates.TemplateResponse(
            request, "error.html", {"title": title, "detail": detail}, status_code=status
        )
    return JSONResponse({"error": detail}, status_code=status)


async def http_exception(request: Request, exc: Exception) -> Response:
    """Starlette's own errors (404 route, 405...), in our format."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404 and exc.detail == "Not Found":
        detail = f"nothing at {request.url.path}"
    else:
        detail = str(exc.detail)
    return error_response(request, exc.status_code, detail)


async def known_error(request: Request, exc: Exception) -> Response:
    """Our typed errors, each to its status code."""
    if isinstance(exc, NotFound):
        return error_response(request, 404, str(exc))
    if isinstance(exc, InvalidInput | NotificationRejected):
        status = int(getattr(exc, "status_code", 400))  # an UploadRefused may say 413 or 415
        response = error_response(request, status, str(exc))
        if status == 413:
            # otherwise the server would go on reading (and discarding) the refused body
            response.headers["connection"] = "close"
        return response
    if isinstance(exc, IllegalTransition):
        return error_response(request, 409, str(exc))
    if isinstance(exc, TooManyRequests):
        response = error_response(request, 429, str(exc))
        response.headers["retry-after"] = str(exc.retry_after_seconds)
        return response
    if isinstance(exc, ProviderError):
        return error_response(
            request,
            502,
            "the payment could not start; try again or use another payment method "
            "(le paiement n'a pas pu démarrer : réessayez ou choisissez un autre moyen)",
        )
    return await unexpected_error(request, exc)


async def unexpected_error(request: Request, exc: Exception) -> Response:
    """A bug or an outage: log it with a reference, show only the reference."""
    reference = new_public_id()[:10]
    # this handler runs outside the request's middleware: bind its ids again
    with logcontext.bind(**ids_of(request.scope)):
        # the route's pattern, not the path: a download path holds the buyer's token
        route = getattr(request.scope.get("route"), "path", "?")
        log.error("unexpected error %s on %s %s", reference, request.method, route, exc_info=exc)
        error_reports.report(exc, reference=reference, route=route)
    return error_response(request, 500, f"internal error; quote reference {reference}")


def exception_handlers() -> dict[int | type[Exception], object]:
    """The handlers ``create_app`` installs."""
    return {
        HTTPException: http_exception,
        GatedDeliveryError: known_error,
        Exception: unexpected_error,
    }
