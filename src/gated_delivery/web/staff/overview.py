"""The staff home: the overview's figures and charts, and the accountant's exports."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from gated_delivery import exports, formats, overview, wording
from gated_delivery.errors import InvalidInput
from gated_delivery.money import Money
from gated_delivery.plugin_types import StaffUser
from gated_delivery.web.staff import charts, i18n
from gated_delivery.web.staff.site import StaffSite, read_form


async def overview_page(
    site: StaffSite, request: Request, user: StaffUser, *, refusal: str = "", status_code: int = 200
) -> Response:
    """``GET /staff/``: today, 7 and 30 days at a glance, what waits, charts, exports."""
    rt = site.rt
    now = rt.clock.now()
    async with rt.db.transaction() as session:
        found = await overview.build(
            session,
            now=now,
            tz=site.zone,
            min_age=timedelta(minutes=rt.settings.reconcile_min_age_minutes),
        )
    lang = i18n.language(request)
    return site.render(
        request,
        "overview.html",
        {
            "ov": found,
            "charts": _charts(found, lang),
            "delivery_labels": _delivery_labels(lang),
            "percent": lambda share: formats.percent_text(share, lang),
            "duration": lambda spent: formats.duration_text(spent, lang),
            "min_age": rt.settings.reconcile_min_age_minutes,
            "today": now.astimezone(site.zone).date().isoformat(),
            "month_ago": (now.astimezone(site.zone).date() - timedelta(days=29)).isoformat(),
            "refusal": refusal,
            "money": Money,
        },
        status_code=status_code,
        user=user,
    )


def _delivery_labels(lang: str) -> list[str]:
    t = i18n.translator(lang)
    bounds = overview.DELIVERY_BUCKETS_HOURS
    return [t["under_hours"].format(h=h) for h in bounds] + [t["over_hours"].format(h=bounds[-1])]


def _charts(found: overview.Overview, lang: str) -> dict[str, Any]:
    t = i18n.translator(lang)
    payment = [wording.state_word("payment", s, lang) for s in found.by_payment]
    fulfilment = [wording.state_word("fulfilment", s, lang) for s in found.by_fulfilment]
    return {
        "paid": charts.paid_per_day(found.days, t["chart_paid"], t["orders_paid"]),
        "revenue": charts.revenue_per_day(found.days, t["chart_revenue"]),
        "payment_states": charts.counts(
            payment, list(found.by_payment.values()), t["chart_payment_states"], t["count"]
        ),
        "fulfilment_states": charts.counts(
            fulfilment,
            list(found.by_fulfilment.values()),
            t["chart_fulfilment_states"],
            t["count"],
        ),
        "delivery": charts.buckets(
            _delivery_labels(lang), list(found.delivery_buckets), t["chart_delivery"], t["count"]
        ),
    }


async def export(site: StaffSite, request: Request) -> Response:
    """``POST /staff/exports``: the chosen export, streamed (the range in the form body)."""
    user = await site.current_user(request)
    if user is None:
        return site.login_redirect(request)
    form = await read_form(request)
    site.check_csrf(request, user, form.get("csrf"))
    try:
        kind = cast(exports.Kind, exports.check_choice(form.get("kind", ""), exports.KINDS, "kind"))
        fmt = cast(
            exports.Format, exports.check_choice(form.get("format", ""), exports.FORMATS, "format")
        )
        span = exports.parse_range(
            form.get("date_from", ""), form.get("date_to", ""), site.rt.settings.timezone
        )
    except InvalidInput as bad:
        return await overview_page(site, request, user, refusal=str(bad), status_code=400)
    return StreamingResponse(
        exports.chunks(site.rt, kind, fmt, span),
        media_type=exports.MEDIA_TYPES[fmt],
        headers={
            "content-disposition": f'attachment; filename="{exports.filename(kind, fmt, span)}"',
            "cache-control": "no-store",
            "x-content-type-options": "nosniff",
        },
    )
