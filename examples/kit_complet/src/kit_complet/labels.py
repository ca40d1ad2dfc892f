"""The labels of the Kit Complet's forms, given to the core once (the ``form_schema`` hook).

The staff order page, the staff mails and ``gated-delivery orders show`` then show each
answer under the question the buyer read. The forms are in French only, whatever the
reader's language; choices are stored as their own labels, so they need no mapping.
"""

from __future__ import annotations

from typing import Final

from gated_delivery.api import FormField, FormSchema, hookimpl
from kit_complet.forms import GUIDE_ORDER, INQUIRY, Field
from kit_complet.offers import GUIDE, KIT

_FORMS = {KIT.slug: INQUIRY, GUIDE.slug: GUIDE_ORDER}


#: Not a question: the language of the pages the buyer used, which their mails follow.
LANG: Final = FormField("lang", "Langue du client", {"fr": "Français", "en": "Anglais"})


def schema_of(form: tuple[Field, ...]) -> FormSchema:
    """A form of this app as the core's ``FormSchema``."""
    return FormSchema(fields=[*(FormField(name=f.name, label=f.label) for f in form), LANG])


@hookimpl
def form_schema(product_slug: str, lang: str) -> FormSchema | None:
    """The labels of our two products' forms; None for any other product."""
    form = _FORMS.get(product_slug)
    return schema_of(form) if form else None
