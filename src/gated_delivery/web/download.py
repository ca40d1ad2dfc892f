"""Download links: a landing page (GET/HEAD, consumes nothing), the download (POST).

Mail scanners prefetch links, so only the button on the landing page, a POST, takes a use.
Every refusal is its own page and status: unknown 404, expired/used up/revoked 410, not
paid 403; an expired or used-up link offers "send me a new link".
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from gated_delivery import delivery, downloads, logcontext, metrics, stamping, tokens
from gated_delivery.runtime import Runtime
from gated_delivery.web.deps import runtime, url_for_app
from gated_delivery.web.templating import templates

log = logging.getLogger(__name__)
RENEWABLE = frozenset({tokens.Problem.EXPIRED, tokens.Problem.USED_UP})


def _refusal(request: Request, problem: tokens.Problem) -> Response:
    return templates.TemplateResponse(
        request,
        "download_refused.html",
        {
            "problem": problem.value,
            "can_renew": problem in RENEWABLE,
            "renew_url": url_for_app(request, f"/download/{request.path_params['token']}/renew"),
        },
        status_code=problem.status_code,
        headers={"cache-control": "no-store"},
    )


async def landing(request: Request) -> Response:
    """``GET``/``HEAD /download/{token}``: the file's name and size, and a button."""
    rt = runtime(request)
    token_id = tokens.unsign(rt.settings, request.path_params["token"])
    try:
        grant = await downloads.check_link(rt, token_id)
    except tokens.LinkRefused as refused:
        return _refusal(request, refused.problem)
    return templates.TemplateResponse(
        request,
        "download.html",
        {
            "filename": grant.asset.filename,
            "size": _size(grant.asset.size_bytes),
            "uses_left": grant.token.max_uses - grant.token.use_count,
            "expires": grant.token.expires_at.strftime("%Y-%m-%d %H:%M"),
            # "stamped", "unstamped" (the product stamps, this type cannot be) or ""
            "stamp": _stamp_note(grant),
        },
        headers={"cache-control": "no-store", "referrer-policy": "no-referrer"},
    )


async def download(request: Request) -> Response:
    """``POST /download/{token}``: consume one use and stream the file."""
    rt = runtime(request)
    token_id = tokens.unsign(rt.settings, request.path_params["token"])
    try:
        # stamped before the use is taken: a stamp that fails costs the buyer nothing
        stamped = await stamping.stamped_copy_for_link(rt, token_id)
    except tokens.LinkRefused as refused:
        log.info("download refused: %s", refused.problem.value)
        metrics.DOWNLOADS.labels(refused.problem.value).inc()
        return _refusal(request, refused.problem)
    evidence = {"stamped_sha256": stamped.sha256} if stamped else None
    try:
        grant = await downloads.record_download(rt, token_id, evidence)
    except tokens.LinkRefused as refused:
        if stamped:
            stamped.discard()
        return _refusal(request, refused.problem)
    asset = grant.asset
    logcontext.add(order_id=grant.order.id)
    log.info("download served (use %s of %s)", grant.token.use_count, grant.token.max_uses)
    metrics.DOWNLOADS.labels("served").inc()
    quoted = quote(asset.filename, safe="")
    return StreamingResponse(
        stamped.stream() if stamped else _stream(rt, asset.key),
        media_type=asset.media_type,
        headers={
            "content-disposition": f"attachment; filename*=UTF-8''{quoted}",
            "content-length": str(stamped.size_bytes if stamped else asset.size_bytes),
            "cache-control": "no-store",
            "x-content-type-options": "nosniff",
        },
    )


def _stamp_note(grant: tokens.Grant) -> str:
    if not grant.order.product.stamp_files:
        return ""
    return "stamped" if stamping.is_stamped(grant.order, grant.asset) else "unstamped"


async def _stream(rt: Runtime, key: str) -> AsyncIterator[bytes]:
    async for chunk in rt.storage.open(key):
        yield chunk


async def renew(request: Request) -> Response:
    """``POST /download/{token}/renew``: "send me a new link", to the order's address only."""
    rt = runtime(request)
    token_id = tokens.unsign(rt.settings, request.path_params["token"])
    client = request.client.host if request.client else "unknown"
    await delivery.request_new_link(rt, token_id, client)
    # the same answer whatever happened: it must not tell whether anything exists
    return templates.TemplateResponse(
        request,
        "download_renewed.html",
        {},
        status_code=202,
        headers={"cache-control": "no-store"},
    )


def _size(size_bytes: int) -> str:
    """A size people read: 812 o, 45.2 Ko, 3.1 Mo."""
    if size_bytes < 1024:
        return f"{size_bytes} o"
    value = size_bytes / 1024
    for unit in ("Ko", "Mo"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} Go"
