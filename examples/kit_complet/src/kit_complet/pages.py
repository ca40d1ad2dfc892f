"""The buyer's pages: catalogue, Kit Complet inquiry, guide order, order page, return address."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from gated_delivery.api import (
    MIB,
    UNPAID_BUDGET_FULL,
    InvalidInput,
    ReceivedFile,
    Runtime,
    TooManyRequests,
    UploadLimits,
    UploadRefused,
    add_uploads,
    admit_client,
    admit_email,
    buyer_returned,
    check_budget,
    client_ip,
    create_order,
    find_order,
    find_product,
    list_products,
    providers_for,
    read_limited,
    receive_upload,
    runtime,
    tell_admins,
    tiers_by_price,
    upload_names,
    with_archive_settings,
)
from kit_complet import forms
from kit_complet.offers import BY_SLUG, GUIDE, KIT, Offer
from kit_complet.status import shown
from kit_complet.templating import templates

#: Up to 10 documents of 10 MB each, as the inquiry form promises.
DOCUMENT_LIMITS: Final = UploadLimits(max_files=10, max_file_bytes=10 * MIB)
DOCUMENTS_FIELD: Final = "documents"
#: What the order page calls each product's deliverable.
NOUNS: Final = {KIT.slug: "votre kit est", GUIDE.slug: "votre guide est"}
ORDER_ID: Final = re.compile(r"^[A-Za-z0-9]{1,32}$")


def _base(request: Request) -> str:
    return str(request.scope.get("root_path", ""))


async def _tiers(rt: Runtime, offer: Offer) -> list[Any]:
    async with rt.db.transaction() as session:
        return tiers_by_price(await find_product(session, offer.slug))


# --- catalogue ------------------------------------------------------------------------


async def catalogue(request: Request) -> Response:
    """``GET /``: the two products and their tiers."""
    rt = runtime(request)
    async with rt.db.transaction() as session:
        products = [p for p in await list_products(session) if p.slug in BY_SLUG]
    offers = [
        (BY_SLUG[p.slug], tiers_by_price(p))
        for p in sorted(products, key=lambda p: list(BY_SLUG).index(p.slug))
    ]
    return templates.TemplateResponse(
        request,
        "catalogue.html",
        {"base": _base(request), "offers": offers, "kit": KIT, "sandbox": rt.settings.sandbox},
    )


# --- the Kit Complet inquiry ----------------------------------------------------------


async def inquiry_form(request: Request) -> Response:
    """``GET /kit-complet``: the empty inquiry form (``?formule=`` picks a tier)."""
    rt = runtime(request)
    tiers = await _tiers(rt, KIT)
    chosen = request.query_params.get("formule", "")
    typed = forms.typed_values(forms.INQUIRY, {})
    typed["tier"] = chosen if any(t.tier_id == chosen for t in tiers) else ""
    return _inquiry_page(request, rt, tiers, typed, {})


async def inquiry_submit(request: Request) -> Response:
    """``POST /kit-complet``: check everything, then create the order with its documents."""
    rt = runtime(request)
    tiers = await _tiers(rt, KIT)
    try:
        # before reading a byte of the body: a refused client stores nothing
        await admit_client(rt, client_ip(request))
        await check_budget(rt)
    except TooManyRequests as busy:
        return try_later(request, busy)
    try:
        limits = with_archive_settings(DOCUMENT_LIMITS, rt.settings)
        upload = await receive_upload(request, rt.storage, limits, key_prefix="demandes")
    except UploadRefused as refused:
        return _refused_upload(request, rt, tiers, refused)
    errors, typed, answers = _check_inquiry(upload.fields, tiers)
    if errors:
        await _discard(rt, upload.files)
        errors.setdefault(DOCUMENTS_FIELD, _join_again(upload.files))
        return _inquiry_page(request, rt, tiers, typed, errors, status_code=400)
    try:
        await admit_email(rt, answers["email"])
        await check_budget(rt, sum(f.size_bytes for f in upload.files))
    except TooManyRequests as busy:
        await _discard(rt, upload.files)
        return try_later(request, busy)
    try:
        order_id = await _create_inquiry_order(rt, typed["tier"], answers, upload.files)
    except BaseException:
        await _discard(rt, upload.files)
        raise
    rt.wake_worker()
    return RedirectResponse(f"{_base(request)}/commande/{order_id}", status_code=303)


def _check_inquiry(
    fields: Mapping[str, str], tiers: list[Any]
) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
    checked = forms.check(forms.INQUIRY, fields)
    typed = dict(checked.typed, tier=fields.get("tier", ""))
    errors = dict(checked.errors)
    if not any(t.tier_id == typed["tier"] for t in tiers):
        errors["tier"] = "Choisissez une formule."
    return errors, typed, checked.answers


def try_later(request: Request, busy: TooManyRequests) -> Response:
    """The French "réessayez plus tard" page (429): too many forms, or no room for files."""
    minutes = max(1, round(busy.retry_after_seconds / 60))
    response = templates.TemplateResponse(
        request,
        "try_later.html",
        {"base": _base(request), "minutes": minutes, "full": busy.args[0] == UNPAID_BUDGET_FULL},
        status_code=429,
        headers={"retry-after": str(busy.retry_after_seconds)},
    )
    response.headers["connection"] = "close"  # do not read the rest of a refused body
    return response


def _join_again(files: list[ReceivedFile]) -> str:
    if not files:
        return ""
    names = ", ".join(f"« {f.filename} »" for f in files)
    return f"Corrigez les champs signalés, puis joignez à nouveau vos documents ({names})."


def _refused_upload(
    request: Request, rt: Runtime, tiers: list[Any], refused: UploadRefused
) -> Response:
    # the text fields come before the file input, so they were all read before the refusal
    errors, typed, _ = _check_inquiry(refused.fields, tiers)
    if refused.field in typed and refused.field != DOCUMENTS_FIELD:
        errors[refused.field] = refused.message_fr
    else:
        errors[DOCUMENTS_FIELD] = (
            f"{refused.message_fr}. Aucun document n'a été conservé : joignez-les à nouveau."
        )
    if not refused.fields:
        errors["form"] = "Le formulaire n'a pas pu être lu en entier ; vérifiez vos réponses."
    response = _inquiry_page(request, rt, tiers, typed, errors, status_code=refused.status_code)
    if refused.status_code == 413:
        response.headers["connection"] = "close"  # do not read the rest of a refused body
    return response


def _inquiry_page(
    request: Request,
    rt: Runtime,
    tiers: list[Any],
    typed: dict[str, Any],
    errors: dict[str, str],
    *,
    status_code: int = 200,
) -> Response:
    extra = {"limits": DOCUMENT_LIMITS, "documents_field": DOCUMENTS_FIELD}
    return _form_page(
        request, "inquiry.html", KIT, forms.INQUIRY, tiers, typed, errors, status_code, extra
    )


def _form_page(
    request: Request,
    template: str,
    offer: Offer,
    fields: tuple[forms.Field, ...],
    tiers: list[Any],
    typed: dict[str, Any],
    errors: dict[str, str],
    status_code: int,
    extra: dict[str, Any] | None = None,
) -> Response:
    """A buyer's form: the offer, its tiers, its fields filled back, a message per error."""
    context = {
        "base": _base(request),
        "offer": offer,
        "tiers": tiers,
        "fields": fields,
        "typed": typed,
        "errors": errors,
        **(extra or {}),
    }
    return templates.TemplateResponse(request, template, context, status_code=status_code)


async def _create_inquiry_order(
    rt: Runtime, tier_id: str, answers: dict[str, Any], files: list[ReceivedFile]
) -> str:
    now = rt.clock.now()
    async with rt.db.transaction() as session:
        order = await create_order(
            session,
            product_slug=KIT.slug,
            tier_id=tier_id,
            buyer_email=answers["email"],
            buyer_name=answers["contact_name"],
            answers={**answers, "lang": "fr"},
            now=now,
        )
        add_uploads(session, order.id, files, storage=rt.storage.name, now=now)
        await tell_admins(rt, session, order.id, now)  # one digest, not one mail each
        return order.id


async def _discard(rt: Runtime, files: list[ReceivedFile]) -> None:
    for received in files:
        await rt.storage.delete(received.key)


# --- the guide ------------------------------------------------------------------------


async def guide_form(request: Request) -> Response:
    """``GET /guide``: name and e-mail, then payment."""
    rt = runtime(request)
    typed = forms.typed_values(forms.GUIDE_ORDER, {})
    return await _guide_page(request, rt, typed, {})


async def guide_submit(request: Request) -> Response:
    """``POST /guide``: create the guide order, or show the form again with its messages."""
    rt = runtime(request)
    try:
        await admit_client(rt, client_ip(request))
    except TooManyRequests as busy:
        return try_later(request, busy)
    body = await read_limited(request)
    try:
        data = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=20))
    except (UnicodeDecodeError, ValueError):
        data = {}
    checked = forms.check(forms.GUIDE_ORDER, data)
    tiers = await _tiers(rt, GUIDE)
    tier = data.get("tier") or (tiers[0].tier_id if len(tiers) == 1 else "")
    errors = dict(checked.errors)
    if not any(t.tier_id == tier for t in tiers):
        errors["tier"] = "Choisissez une formule."
    if errors:
        return await _guide_page(request, rt, {**checked.typed, "tier": tier}, errors, 400)
    try:
        await admit_email(rt, checked.answers["email"])
    except TooManyRequests as busy:
        return try_later(request, busy)
    async with rt.db.transaction() as session:
        order = await create_order(
            session,
            product_slug=GUIDE.slug,
            tier_id=tier,
            buyer_email=checked.answers["email"],
            buyer_name=checked.answers["contact_name"],
            answers={"lang": "fr"},
            now=rt.clock.now(),
        )
        order_id = order.id
    return RedirectResponse(f"{_base(request)}/commande/{order_id}", status_code=303)


async def _guide_page(
    request: Request,
    rt: Runtime,
    typed: dict[str, Any],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    tiers = await _tiers(rt, GUIDE)
    return _form_page(
        request, "guide.html", GUIDE, forms.GUIDE_ORDER, tiers, typed, errors, status_code
    )


# --- the order page -------------------------------------------------------------------


async def order_page(request: Request) -> Response:
    """``GET /commande/{order_id}``: status, payment buttons; reachable only by its link."""
    rt = runtime(request)
    order_id = request.path_params["order_id"]
    async with rt.db.transaction() as session:
        order = await find_order(session, order_id) if ORDER_ID.match(order_id) else None
        if order is None:
            return templates.TemplateResponse(
                request, "not_found.html", {"base": _base(request)}, status_code=404
            )
        documents = await upload_names(session, order.id)
        tier = next((t for t in order.product.tiers if t.tier_id == order.tier_id), None)
    state = shown(order.payment_status, order.fulfilment_status, NOUNS.get(order.product.slug, ""))
    return templates.TemplateResponse(
        request,
        "order.html",
        {
            "base": _base(request),
            "order": order,
            "tier_label": tier.label if tier else order.tier_id,
            "documents": documents,
            "shown": state,
            # a provider that cannot take this price is not offered (CinetPay's amount rules)
            "providers": providers_for(rt, order.price) if state.can_pay else [],
            "returned": "retour" in request.query_params,
        },
        headers={"cache-control": "no-store", "referrer-policy": "no-referrer"},
    )


async def payment_return(request: Request) -> Response:
    """``GET, POST /payments/{provider}/return``: back from the provider, to the order page.

    Shadows the core's own return page: the same ``buyer_returned`` (an open payment is
    checked with the provider at once), then our order page instead of the core's.
    """
    rt = runtime(request)
    rt.provider(request.path_params["provider"])
    order_id = request.query_params.get("order", "")
    if not ORDER_ID.match(order_id):
        raise InvalidInput("the return address names no order (?order=...)")
    order = await buyer_returned(rt, order_id)
    return RedirectResponse(f"{_base(request)}/commande/{order.id}?retour=1", status_code=303)
