"""Client notices in the client's language (PL-7), with the figures filled in: the margin-call
notice (MC-1) and the stock recall notice (MC-6, MC-9).

One plain-text template per kind and language (notices/<kind>.<language>.txt): its first line
is the subject, the rest the body. Rendered under ``translation.override`` so numbers and dates
are formatted for that language.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.template.defaultfilters import floatformat
from django.template.loader import render_to_string
from django.utils import translation

from riskdesk.book.models import Language

LANGUAGES = {code for code, _label in Language.choices}


@dataclass(frozen=True)
class Rendered:
    language: str
    subject: str
    body: str


def language_of(client) -> str:
    return client.language if client.language in LANGUAGES else Language.ZH_HANT


def render_notice(kind: str, language: str, context: dict) -> Rendered:
    """Template ``notices/<kind>.<language>.txt`` with ``context``, in that language."""
    with translation.override(language):
        text = render_to_string(f"notices/{kind}.{language}.txt", context)
    subject, _sep, body = text.strip().partition("\n")
    return Rendered(language=language, subject=subject.strip(), body=body.strip() + "\n")


def render_call_notice(call, language: str | None = None) -> Rendered:
    account = call.account
    client = account.client
    language = language or language_of(client)
    return render_notice(
        "margin_call",
        language,
        {
            "account": account.number,
            "client_name": client.name,
            "alert": call.alert,
            "currency": settings.RISKDESK_BASE_CURRENCY,
            "call_amount": call.call_amount,
            "lna": call.lna,
            "nar_percent": floatformat(call.nar * 100, "2g"),
            "deadline": call.deadline,
        },
    )


def render_recall_notice(
    account, instrument, quantity: int, return_by, language: str | None = None
) -> Rendered:
    """The stock recall notice: buy back ``quantity`` of ``instrument`` sold short in
    ``account`` by ``return_by``."""
    client = account.client
    language = language or language_of(client)
    return render_notice(
        "stock_recall",
        language,
        {
            "account": account.number,
            "client_name": client.name,
            "code": instrument.code,
            "name": instrument.name,
            "quantity": quantity,
            "return_by": return_by,
        },
    )
