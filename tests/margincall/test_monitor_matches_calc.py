"""MC-1, MC-3 (issue 6 item 6): the risk monitor's state on the demo book is exactly what
`riskdesk calc margin` prints for the same book.

The demo broker (``riskdesk demo``'s generator and margin set-up, 300 clients) with client rules
at every MR-6 level, short positions and intraday accounts in session is screened by the
arrays monitor (full screen), then follows price ticks, fills that open, add to and close
positions (shorts included), cash movements, interest and an FX move. After each stage the
whole screened book is exported as ONE scenario file (``snapshots.book_scenario``, from the
database through the Decimal ``account_risk``, not from the arrays) and run through the real
`riskdesk calc margin` command; every account is in call exactly when the command's alert is not
"none", and every figure column of its call equals the command's figure.
"""

from __future__ import annotations

import json
from decimal import Decimal

import numpy as np
import pytest
from typer.testing import CliRunner

from riskdesk.calc import app as calc_app
from riskdesk.margincall import live
from riskdesk.margincall.live import LiveMonitor
from riskdesk.margincall.models import MarginCall
from riskdesk.margincall.snapshots import book_scenario
from tests.margin.test_bulk_resolution import IN_SESSION, build_risk_book

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture(autouse=True)
def strict(monkeypatch):
    monkeypatch.setattr(live, "STRICT", True)
    monkeypatch.setattr(live, "VERIFY", True)


def screened():
    from riskdesk.book.models import Account

    return list(
        Account.objects.filter(type__in=["margin", "intraday"], status="active")
        .select_related("client")
        .order_by("number")
    )


def calc_margin_cli(tmp_path, name: str) -> dict:
    """`riskdesk calc margin` on the whole screened book, exported as one scenario file."""
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(book_scenario(screened(), at=IN_SESSION)), encoding="utf-8")
    result = CliRunner().invoke(calc_app, ["margin", str(path)])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def assert_monitor_matches(report: dict) -> int:
    calls = {
        c.account.number: c
        for c in MarginCall.objects.filter(status="open").select_related("account")
    }
    in_call = 0
    for row in report["accounts"]:
        call = calls.pop(row["id"], None)
        assert (call is not None) == (row["alert"] != "none"), row
        if call is None:
            continue
        in_call += 1
        assert call.alert == row["alert"], row["id"]
        expected = {
            "call_amount": D(row["call_amount"]),
            "equity": D(row["equity"]),
            "lna": D(row["lna"]),
            "nar": D(row["nar"]),
            "req_im": D(row["req"]["im"]),
            "req_mcm": D(row["req"]["mcm"]),
            "req_mm": D(row["req"]["mm"]),
            "req_fm": D(row["req"]["fm"]),
            "loan": D(row["loan"]),
            "cash": D(row["equity"]) - D(row["long_mv"]) - D(row["short_mv"]),
            "market_value": D(row["long_mv"]) + D(row["short_mv"]),
            "trading_credit": D(0),
        }
        assert {k: getattr(call, k) for k in expected} == expected, row["id"]
    assert not calls, f"open calls of accounts not screened: {sorted(calls)}"
    total = sum((c.call_amount for c in MarginCall.objects.filter(status="open")), D(0))
    assert (str(total.quantize(D("0.01"))), in_call) == (
        report["totals"]["call_amount"],
        report["totals"]["accounts_in_call"],
    )
    return in_call


def stir(post, rng: np.random.Generator, n: int) -> None:
    """``n`` random book events of every kind the monitor follows."""
    from riskdesk.book.models import Account, Instrument, Price

    numbers = [a.number for a in screened()]
    stocks = list(
        Instrument.objects.filter(status="normal", kind="stock")
        .order_by("code")
        .values_list("code", flat=True)
    )
    last = dict(Price.objects.values_list("instrument__code", "last"))
    cash_account = Account.objects.filter(type="cash", status="active").order_by("number").first()
    for _ in range(n):
        kind = rng.choice(["tick", "tick", "fill", "fill", "deposit", "interest", "fx", "other"])
        number = numbers[rng.integers(len(numbers))]
        if kind == "tick":
            prices = []
            for code in rng.choice(stocks, size=5, replace=False):
                new = (last[code] * D(str(round(float(rng.uniform(0.6, 1.3)), 3)))).quantize(
                    D("0.01")
                )
                last[code] = max(new, D("0.01"))
                prices.append({"instrument": str(code), "last": str(last[code])})
            post("price_update", prices=prices)
        elif kind == "fill":
            code = str(stocks[rng.integers(len(stocks))])
            post(
                "trade_fill",
                account=number,
                instrument=code,
                side=str(rng.choice(["buy", "sell"])),
                quantity=int(rng.integers(1, 30)) * 100,
                price=str(last[code]),
            )
        elif kind == "deposit":
            post("deposit", account=number, currency="HKD", amount=str(rng.integers(1, 10**6)))
        elif kind == "interest":
            post("interest_accrual", account=number, amount=f"{rng.integers(1, 10**5)}.37")
        elif kind == "fx":
            post(
                "fx_update", rates=[{"currency": "USD", "rate": f"{7.75 + rng.random() / 10:.6f}"}]
            )
        else:  # a cash account's event: not screened, no call
            post("deposit", account=cash_account.number, currency="HKD", amount="1")


def test_monitor_state_equals_calc_margin_on_the_demo_book(tmp_path, post):
    # Arrange: the demo broker with rules, shorts and intraday accounts, at 10:00 HKT
    build_risk_book(clients=300, seed=11)
    monitor = LiveMonitor(at=IN_SESSION)

    # Act / Assert: the full screen
    monitor.full_screen(IN_SESSION, reload=False)
    assert assert_monitor_matches(calc_margin_cli(tmp_path, "start")) >= 10

    # Act / Assert: after events, batch by batch
    rng = np.random.default_rng(2026)
    for stage in range(3):
        stir(post, rng, 25)
        assert monitor.process_all(at=IN_SESSION) > 0
        assert_monitor_matches(calc_margin_cli(tmp_path, f"stage{stage}"))
    assert monitor.writer.mismatches == 0


def test_arrays_equal_account_risk_on_every_account_after_random_events(post):
    from riskdesk.margin.figures import account_risk

    build_risk_book(clients=150, seed=3)
    monitor = LiveMonitor(at=IN_SESSION)
    monitor.process_all(at=IN_SESSION)
    rng = np.random.default_rng(7)
    for _ in range(3):
        stir(post, rng, 30)
        monitor.process_all(at=IN_SESSION)
        for account in screened():
            slot = monitor.book._slot(account.pk)
            assert monitor.book.figures_of(slot) == account_risk(account, at=IN_SESSION).figures, (
                account.number
            )
