"""The margin-call notice in the client's language (PL-7), with the call's figures filled in.

One plain-text template per language (notices/margin_call.<language>.txt): its first line is
the subject, the rest the body. Rendered under ``translation.override`` so numbers and dates
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


def render_call_notice(call, language: str | None = None) -> Rendered:
    account = call.account
    client = account.client
    language = language or language_of(client)
    with translation.override(language):
        text = render_to_string(
            f"notices/margin_call.{language}.txt",
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
    subject, _sep, body = text.strip().partition("\n")
    return Rendered(language=language, subject=subject.strip(), body=body.strip() + "\n")
