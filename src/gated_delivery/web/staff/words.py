"""What the staff templates call to write states, money, instants and answers in words."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import Markup

from gated_delivery import formats, wording
from gated_delivery.money import Money


class Words:
    """The words of one page: its language, the shop's time zone, the providers' names."""

    def __init__(self, lang: str, tz: ZoneInfo, providers: Mapping[str, str]) -> None:
        self.lang = lang
        self.tz = tz
        self.providers = providers

    def state(self, kind: wording.Kind, value: str) -> str:
        """A state in words: ``Payé``."""
        return wording.state_word(kind, value, self.lang)

    def money(self, price: Money | None) -> str:
        """An amount as the language writes it: ``150 000 FCFA``."""
        return formats.money_text(price, self.lang) if price is not None else ""

    def when(self, instant: datetime | None) -> Markup:
        """A ``<time>`` in the shop's zone, the UTC instant on hover."""
        if instant is None:
            return Markup("")
        return Markup('<time datetime="{iso}" title="{utc}">{local}</time>').format(
            iso=instant.isoformat(),
            utc=formats.utc_text(instant),
            local=formats.local_text(instant, self.tz, self.lang),
        )

    def provider(self, name: str) -> str:
        """A provider's display name."""
        return wording.provider_name(name, self.providers)

    def actor(self, actor: str) -> str:
        """Who made a change."""
        return wording.actor_words(actor, self.lang, self.providers)

    def reason(self, reason: str) -> str:
        """An audit event's reason, in the page's language when the core wrote it."""
        return wording.reason_words(reason, self.lang)

    def history(self, event: Any, provider: str = "") -> str:
        """One audit event as a sentence."""
        return wording.history_line(
            machine=event.machine,
            event=event.event,
            to_state=event.to_state,
            actor=event.actor,
            lang=self.lang,
            providers=self.providers,
            provider=provider,
        )
