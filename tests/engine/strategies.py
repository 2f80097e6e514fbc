"""Hypothesis strategies: random scenario documents (books) within the kernels' bounds.

Books mix several currencies, negative cash, shorts, zero quantities, excluded statuses,
options with multipliers, multi-account clients, and prices chosen to land on half cents.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

CURRENCIES = ("HKD", "USD", "CNH", "JPY")
KINDS = ("stock", "etf", "warrant", "option")
STATUSES = ("normal", "suspended", "long_suspended", "delisted")
# Prices (×10⁶) that make half-cent market values likely: 0.005, 0.125, 1.5, 100.005, 0.000001.
TRICKY_PRICES = (5_000, 125_000, 1_500_000, 100_005_000, 1, 0)
TRICKY_FX = (100_000_000, 50_000_000, 780_000_000, 5, 12_345_678)


def dec(n: int, places: int) -> str:
    """Integer n in units of 10^-places as a plain decimal string."""
    return format(Decimal(n).scaleb(-places), "f")


@st.composite
def scenario_docs(
    draw: st.DrawFn, *, max_instruments: int = 8, max_accounts: int = 10
) -> dict[str, Any]:
    currencies = draw(st.lists(st.sampled_from(CURRENCIES[1:]), unique=True, max_size=3))
    fx = {
        c: dec(draw(st.one_of(st.integers(1, 1_000_000_000), st.sampled_from(TRICKY_FX))), 8)
        for c in currencies
    }
    all_ccy = ["HKD", *currencies]
    n_i = draw(st.integers(1, max_instruments))
    instruments = []
    for k in range(n_i):
        kind = draw(st.sampled_from(KINDS))
        factors = sorted(
            draw(st.lists(st.integers(0, 10_000), min_size=4, max_size=4)), reverse=True
        )
        doc: dict[str, Any] = {
            "code": f"S{k:02d}.{draw(st.sampled_from(('HK', 'US')))}",
            "currency": draw(st.sampled_from(all_ccy)),
            "price": dec(draw(st.one_of(st.integers(0, 10**8), st.sampled_from(TRICKY_PRICES))), 6),
            "kind": kind,
            "status": draw(st.sampled_from(STATUSES)),
            "margin": dict(
                zip(("im", "mcm", "mm", "fm"), (dec(f, 4) for f in factors), strict=True)
            ),
        }
        if draw(st.booleans()):
            doc["haircut"] = dec(draw(st.integers(0, 10_000)), 4)
        level = draw(st.sampled_from((1, 2, None, "absent")))
        if level != "absent":
            doc["level"] = level
        if kind == "option" or draw(st.booleans()):
            doc["multiplier"] = draw(st.sampled_from((1, 10, 100)))
        instruments.append(doc)
    codes = [i["code"] for i in instruments]
    n_a = draw(st.integers(1, max_accounts))
    n_c = draw(st.integers(1, max(1, n_a // 2)))  # multi-account clients are common
    accounts = []
    for k in range(n_a):
        cash = {
            c: dec(draw(st.integers(-(10**10), 10**9)), 2)
            for c in draw(st.lists(st.sampled_from(all_ccy), unique=True, max_size=3))
        }
        positions = {
            c: draw(st.one_of(st.integers(-(10**5), 10**5), st.sampled_from((0, 1, -1, 3))))
            for c in draw(st.lists(st.sampled_from(codes), unique=True, max_size=len(codes)))
        }
        doc = {
            "id": f"A{k:03d}",
            "client": f"C{draw(st.integers(0, n_c - 1)):02d}",
            "type": draw(st.sampled_from(("cash", "margin", "intraday"))),
            "cash": cash,
            "positions": positions,
        }
        if draw(st.booleans()):
            doc["interest_receivable"] = dec(draw(st.integers(0, 10**9)), 2)
            doc["trading_credit"] = dec(draw(st.integers(0, 10**9)), 2)
        if draw(st.booleans()):
            doc["credit_limit"] = dec(draw(st.integers(0, 10**11)), 2)
        accounts.append(doc)
    rlc = draw(st.integers(0, 10**12))
    stress = {
        "lc": dec(rlc + draw(st.integers(1, 10**12)), 2),
        "rlc": dec(rlc, 2),
        "drops": {k: dec(draw(st.integers(0, 1_000_000)), 6) for k in "abcd"},
        "elc_benchmark": {k: dec(draw(st.integers(1, 1_000_000)), 6) for k in ("1", "2", "other")},
    }
    return {
        "base_currency": "HKD",
        "fx": fx,
        "instruments": instruments,
        "accounts": accounts,
        "stress": stress,
    }
