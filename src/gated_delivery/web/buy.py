"""Buying: create an order for a price tier, choose a provider, start the payment."""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from gated_delivery import inquiries
from gated_delivery.checkout import PAYABLE, providers_for, start_attempt
from gated_delivery.errors import InvalidInput
from gated_delivery.orders import create_order, get_order
from gated_delivery.web.body import read_limited
from gated_delivery.web.deps import client_ip, runtime, url_for_app
from gated_delivery.web.templating import templates

#: Form fields that are about the buyer, not answers to the product's questions.
BUYER_FIELDS = ("email", "name")


async def buy(request: Request) -> Response:
    """``POST /buy/{product_slug}/{tier_id}``: create the order, then show the providers."""
    rt = runtime(request)
    await inquiries.admit_client(rt, client_ip(request))  # an open form: 429 past the limit
    if request.headers.get("content-type", "").split(";")[0] != "application/x-www-form-urlencoded":
        raise HTTPException(415, "send the form as application/x-www-form-urlencoded")
    body = await read_limited(request)
    try:
        fields = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=200))
    except (UnicodeDecodeError, ValueError):
        raise InvalidInput("the form could not be read (UTF-8, at most 200 fields)") from None
    answers = {k: v for k, v in fields.items() if k not in BUYER_FIELDS}
    async with rt.db.transaction() as session:
        order = await create_order(
            session,
            product_slug=request.path_params["product_slug"],
            tier_id=request.path_params["tier_id"],
            buyer_email=fields.get("email", ""),
            buyer_name=fields.get("name", ""),
            answers=answers,
            now=rt.clock.now(),
        )
    return RedirectResponse(url_for_app(request, f"/checkout/{order.id}"), status_code=303)


async def choose_provider(request: Request) -> Response:
    """``GET /checkout/{order_id}``: one button per installed provider."""
    rt = runtime(request)
    async with rt.db.transaction() as session:
        order = await get_order(session, request.path_params["order_id"])
    if order.payment_status not in PAYABLE:
        raise HTTPException(409, f"this order is {order.payment_status.value}; nothing to pay")
    providers = providers_for(rt, order.price)
    return templates.TemplateResponse(
        request,
        "checkout.html",
        {
            "order": order,
            "price": str(order.price),
            "providers": providers,
            "base": request.scope.get("root_path", ""),
        },
    )


async def checkout(request: Request) -> Response:
    """``POST /checkout/{order_id}/{provider}``: open a payment and send the buyer there."""
    rt = runtime(request)
    provider = rt.provider(request.path_params["provider"])
    try:
        started = await start_attempt(rt, request.path_params["order_id"], provider.name)
    except InvalidInput as exc:
        # a price the provider cannot take is 422; an order that cannot be paid again, 409
        raise HTTPException(getattr(exc, "status_code", 409), str(exc)) from None
    return RedirectResponse(started.redirect_url, status_code=303)
