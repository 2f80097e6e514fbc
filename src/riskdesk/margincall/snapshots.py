"""MC-5 snapshots: one account as a SCENARIO.md scenario file, and what `riskdesk calc margin`
prints for it.

The scenario is built from the same inputs as ``margin.figures.account_risk`` (cash, priced
positions, FX, the ratio resolved for *this* account's position), so the engine computes the
same figures from the file as the monitor did from the database. ``book_scenario`` does the
same for many accounts in one file (the whole screened book, for `riskdesk calc margin`). The figures stored with a
snapshot are computed by the very code path of ``calc margin`` (parse, then ``margin_report``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings

from riskdesk.book.models import Instrument
from riskdesk.book.selectors import fx_table
from riskdesk.engine.margin import AccountFigures
from riskdesk.engine.reports import margin_document, margin_report
from riskdesk.engine.scenario import parse_scenario
from riskdesk.margin.figures import AccountRisk, account_risk
from riskdesk.margincall.models import MarginCall, MarginCallSnapshot


def _plain(d: Decimal) -> str:
    """A decimal as the scenario writes it: plain notation, never an exponent."""
    return format(d, "f")


def scenario_for(account, *, at: datetime, risk: AccountRisk | None = None) -> dict[str, Any]:
    """The SCENARIO.md document holding exactly ``account`` as the engine sees it at ``at``.

    ``risk`` (the account's ``account_risk`` at ``at``) is reused when the caller has it.
    Unpriced positions are left out, as ``account_risk`` leaves them out of the figures.
    """
    return book_scenario([(account, risk)], at=at)


def book_scenario(accounts: Iterable, *, at: datetime) -> dict[str, Any]:
    """One SCENARIO.md document holding every account of ``accounts`` (accounts, or
    (account, its ``account_risk`` or None) pairs) as the engine sees it at ``at``: what
    `riskdesk calc margin` needs to reproduce every figure of the screened book (MC-1).

    A scenario gives each instrument ONE margin ratio, but MR-6 may resolve a stock differently
    per account (client rules, intraday ratios, short ratios): a stock appears once per distinct
    resolved ratio, as CODE for the first and ``CODE@2``, ``CODE@3`` … for the others, each
    account's position naming the entry with its own ratio.
    """
    base = settings.RISKDESK_BASE_CURRENCY
    rates = fx_table()
    entries: dict[tuple[str, tuple], dict[str, Any]] = {}  # (code, factors) → instrument
    variants: dict[str, int] = {}
    currencies: set[str] = set()
    documents = []
    for item in accounts:
        account, risk = item if isinstance(item, tuple) else (item, None)
        if risk is None:
            risk = account_risk(account, at=at)
        codes = [line.code for line in risk.lines]
        by_code = {i.code: i for i in Instrument.objects.filter(code__in=codes)}
        prices = {
            i.code: i.price.last
            for i in Instrument.objects.filter(code__in=codes).select_related("price")
        }
        positions: dict[str, int] = {}
        for line in risk.lines:
            inst = by_code[line.code]
            currencies.add(inst.currency)
            f = line.resolved.factors
            key = (inst.code, f.as_tuple())
            if key not in entries:
                n = variants[inst.code] = variants.get(inst.code, 0) + 1
                entries[key] = {
                    "code": inst.code if n == 1 else f"{inst.code}@{n}",
                    "currency": inst.currency,
                    "price": _plain(prices[inst.code]),
                    "kind": inst.kind,
                    "status": inst.status,
                    "multiplier": inst.multiplier,
                    "haircut": "1",
                    "level": None,
                    "margin": {
                        "im": _plain(f.im),
                        "mcm": _plain(f.mcm),
                        "mm": _plain(f.mm),
                        "fm": _plain(f.fm),
                    },
                }
            positions[entries[key]["code"]] = line.quantity
        cash = {}
        for b in account.balances.order_by("currency"):
            currencies.add(b.currency)
            cash[b.currency] = _plain(b.balance)
        documents.append(
            {
                "id": account.number,
                "client": account.client.code,
                "type": account.type,
                "cash": cash,
                "positions": positions,
                "interest_receivable": _plain(account.interest_receivable),
                "trading_credit": _plain(risk.trading_credit),
            }
        )
    fx = {c: _plain(rates[c]) for c in sorted(currencies) if c != base and c in rates}
    return {
        "base_currency": base,
        "fx": fx,
        "instruments": list(entries.values()),
        "accounts": documents,
    }


def calc_margin(scenario: dict[str, Any]) -> dict[str, Any]:
    """What `riskdesk calc margin` prints for ``scenario``, as parsed JSON (same code path)."""
    return _parsed(margin_report(parse_scenario(json.loads(json.dumps(scenario)))))


def figures_document(number: str, figures: AccountFigures) -> dict[str, Any]:
    """What `riskdesk calc margin` prints for one account whose figures are ``figures``, as
    parsed JSON (the risk monitor's snapshot, from its arrays; checked against
    ``calc_margin`` of its scenario)."""
    return _parsed(margin_document([number], [figures]))


def _parsed(document: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(document, ensure_ascii=False))


def take(
    call: MarginCall, reason: str, *, at: datetime, risk: AccountRisk | None = None
) -> MarginCallSnapshot:
    """Store the account of ``call`` as a scenario with its `calc margin` figures (MC-5)."""
    scenario = scenario_for(call.account, at=at, risk=risk)
    return MarginCallSnapshot.objects.create(
        **snapshot_fields(call, reason, at=at, scenario=scenario)
    )


def snapshot_fields(call: MarginCall, reason: str, *, at: datetime, scenario: dict[str, Any]):
    """A snapshot's fields from a scenario built elsewhere; the figures are computed by `calc
    margin`'s code path, as ``take`` does."""
    return {
        "call": call,
        "reason": reason,
        "at": at,
        "scenario": scenario,
        "figures": calc_margin(scenario),
    }
