"""`calc margin` and `calc shortfall` outputs from a Scenario, through the scalar reference.

The JSON shapes are those of SCENARIO.md; amounts are strings with 2 dp, ratios with 6 dp.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from riskdesk.engine.fx import cash_in_base, fx_rate
from riskdesk.engine.margin import AccountFigures, Holding, account_figures, market_value
from riskdesk.engine.money import fmt_amount, fmt_ratio
from riskdesk.engine.scenario import Account, Scenario, ScenarioError
from riskdesk.engine.stress import (
    LEVEL_KEYS,
    ClientCollateral,
    ShortfallResult,
    StressError,
    client_collateral,
    frr_ratio,
    shortfall_result,
)


def account_cash(scn: Scenario, account: Account) -> Decimal:
    """The account's cash in base currency, each balance converted and rounded (MC-1)."""
    return cash_in_base(account.cash.items(), scn.fx, scn.base_currency)


def account_holdings(scn: Scenario, account: Account) -> list[Holding]:
    """The account's positions as margin holdings (factors already resolved in the scenario)."""
    by_code = scn.instrument_by_code
    holdings = []
    for code, quantity in account.positions.items():
        i = by_code[code]
        holdings.append(
            Holding(
                quantity=quantity,
                price=i.price,
                fx_rate=fx_rate(i.currency, scn.fx, scn.base_currency),
                factors=i.margin,
                status=i.status,
                multiplier=i.multiplier,
            )
        )
    return holdings


def margin_figures(scn: Scenario) -> list[AccountFigures]:
    """MC-1 figures of every account, in input order."""
    return [
        account_figures(
            account_holdings(scn, a),
            account_cash(scn, a),
            interest_receivable=a.interest_receivable,
            trading_credit=a.trading_credit,
            credit_limit=a.credit_limit,
        )
        for a in scn.accounts
    ]


def account_json(account_id: str, f: AccountFigures) -> dict[str, Any]:
    return {
        "id": account_id,
        "equity": fmt_amount(f.equity),
        "lna": fmt_amount(f.lna),
        "nar": fmt_ratio(f.nar),
        "long_mv": fmt_amount(f.long_mv),
        "short_mv": fmt_amount(f.short_mv),
        "excluded_mv": fmt_amount(f.excluded_mv),
        "loan": fmt_amount(f.loan),
        "req": {
            "im": fmt_amount(f.req.im),
            "mcm": fmt_amount(f.req.mcm),
            "mm": fmt_amount(f.req.mm),
            "fm": fmt_amount(f.req.fm),
        },
        "over_financing": fmt_amount(f.over_financing),
        "call_amount": fmt_amount(f.call_amount),
        "alert": f.alert,
    }


def margin_report(scn: Scenario) -> dict[str, Any]:
    """The `calc margin` document: accounts in input order and the totals (MC-1)."""
    return margin_document([a.id for a in scn.accounts], margin_figures(scn))


def margin_document(ids: list[str], figures: list[AccountFigures]) -> dict[str, Any]:
    """The `calc margin` document of these accounts' figures (MC-1): each account's row, then
    the totals (call amount, accounts in call)."""
    return {
        "accounts": [account_json(i, f) for i, f in zip(ids, figures, strict=True)],
        "totals": {
            "call_amount": fmt_amount(sum((f.call_amount for f in figures), Decimal(0))),
            "accounts_in_call": sum(1 for f in figures if f.alert != "none"),
        },
    }


def client_collaterals(scn: Scenario) -> list[ClientCollateral]:
    """Every client's loan and collateral, its accounts summed, clients in first-seen order."""
    by_code = scn.instrument_by_code
    cash: dict[str, list[Decimal]] = defaultdict(list)
    lines: dict[str, list[tuple[str, int, Decimal, Decimal]]] = defaultdict(list)
    for a in scn.accounts:
        cash[a.client].append(account_cash(scn, a))
        for code, quantity in a.positions.items():
            i = by_code[code]
            mv = market_value(
                quantity, i.price, i.multiplier, fx_rate(i.currency, scn.fx, scn.base_currency)
            )
            lines[a.client].append((code, quantity, mv, frr_ratio(i.haircut, quantity, i.kind)))
    return [client_collateral(c, cash[c], lines[c]) for c in cash]


def shortfall_figures(scn: Scenario) -> ShortfallResult:
    """ST-7 for the scenario; ``ScenarioError`` when it has no ``stress`` or ELC ≤ 0."""
    if scn.stress is None:
        raise ScenarioError("", "missing key 'stress' (calc shortfall needs lc and rlc)")
    levels = {i.code: i.level for i in scn.instruments}
    try:
        return shortfall_result(client_collaterals(scn), levels, scn.stress)
    except StressError as e:
        raise ScenarioError("stress", str(e)) from None


def shortfall_json(r: ShortfallResult) -> dict[str, Any]:
    return {
        "clients": [
            {
                "client": c.client,
                "loan": fmt_amount(c.loan),
                "la": fmt_amount(c.la),
                "shortfall": fmt_amount(c.shortfall),
                "shortfall_30": fmt_amount(c.shortfall_30),
                "shortfall_50": fmt_amount(c.shortfall_50),
            }
            for c in r.clients
        ],
        "mix": {key: fmt_ratio(share) for key, share in zip(LEVEL_KEYS, r.mix, strict=True)},
        "drop": fmt_ratio(r.drop),
        "elc": fmt_amount(r.elc),
        "shortfall_at_drop": fmt_amount(r.shortfall_at_drop),
        "buffer": fmt_amount(r.buffer),
        "top10": [
            {
                "code": t.code,
                "level": t.level,
                "market_value": fmt_amount(t.market_value),
                "stock_shortfall": fmt_amount(t.stock_shortfall),
                "impact": fmt_amount(t.impact),
                "elc_drop": fmt_ratio(t.elc_drop),
                "concentration": fmt_ratio(t.concentration),
                "result": t.result,
            }
            for t in r.top10
        ],
    }


def shortfall_report(scn: Scenario) -> dict[str, Any]:
    """The `calc shortfall` document (ST-7)."""
    return shortfall_json(shortfall_figures(scn))
