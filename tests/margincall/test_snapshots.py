"""MC-5: every snapshot is a scenario file that `riskdesk calc margin` reproduces exactly, and
the monitor's figures are `calc margin`'s on the same book."""

import json
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from riskdesk.calc import app as calc_app
from riskdesk.engine.money import fmt_amount
from riskdesk.margin.figures import account_risk
from riskdesk.margin.models import ShortMargin
from riskdesk.margincall.models import MarginCall, MarginCallSnapshot
from riskdesk.margincall.snapshots import calc_margin, scenario_for

pytestmark = pytest.mark.django_db
D = Decimal
COLUMNS = {
    "equity": "equity",
    "lna": "lna",
    "nar": "nar",
    "loan": "loan",
    "call_amount": "call_amount",
}


def calc(tmp_path, scenario, name="s.json"):
    """Run `riskdesk calc margin` on the scenario, as a file, through the real CLI."""
    path = tmp_path / name
    path.write_text(json.dumps(scenario), encoding="utf-8")
    result = CliRunner().invoke(calc_app, ["margin", str(path)])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def assert_call_matches(call, figures):
    (row,) = figures["accounts"]
    assert row["id"] == call.account.number
    for column, key in COLUMNS.items():
        assert getattr(call, column) == D(row[key]), column
    assert (call.req_im, call.req_mcm, call.req_mm, call.req_fm) == tuple(
        D(row["req"][k]) for k in ("im", "mcm", "mm", "fm")
    )
    assert call.market_value == D(row["long_mv"]) + D(row["short_mv"])
    if call.status == "open":
        assert call.alert == row["alert"]


@pytest.fixture
def mixed_book(call_book, post, stock_ratio, run_monitor):
    """M1 long 700.HK (conftest); S1 short 700.HK under a short ratio; O1 with an AAPL call
    option, a delisted stock, a USD loan and a HKD loan; all margin accounts."""
    from riskdesk.book.models import Account, Client

    stock_ratio(call_book["tencent"], "0.50", "0.45", "0.40", "0.35", model=ShortMargin)
    c3 = Client.objects.create(code="C3", name="Short Seller")
    Account.objects.create(number="S1", client=c3, type="margin")
    post("deposit", account="S1", currency="HKD", amount="10000")
    post("trade_fill", account="S1", instrument="700.HK", side="sell", quantity=500, price="400")
    c4 = Client.objects.create(code="C4", name="Mixed Bag")
    Account.objects.create(number="O1", client=c4, type="margin")
    post(
        "trade_fill",
        account="O1",
        instrument="AAPL 261218C200",
        side="buy",
        quantity=10,
        price="5.5",
    )
    post("transfer_in", account="O1", instrument="1234.HK", quantity=5000)
    post("transfer_in", account="O1", instrument="700.HK", quantity=1000)
    post("trade_fill", account="O1", instrument="700.HK", side="buy", quantity=1000, price="400")
    post("deposit", account="O1", currency="USD", amount="123.45")
    run_monitor()
    return call_book


def test_every_snapshot_is_reproduced_by_calc_margin(mixed_book, drop, post, run_monitor, tmp_path):
    # S1 at 400: short −200,000, cash 210,000 → lna 10,000 < fm 70,000 → force close at once
    assert MarginCall.objects.get(account__number="S1").alert == "force_close"
    drop("280")  # M1 opens in margin call (see test_monitor for its arithmetic)
    drop("260")  # M1 escalates, O1 opens at force close
    post("deposit", account="M1", currency="HKD", amount="50000")
    run_monitor()  # M1 ends
    reasons = set(MarginCallSnapshot.objects.values_list("reason", flat=True))
    assert {"triggered", "force", "ended"} <= reasons
    numbers = set(MarginCallSnapshot.objects.values_list("call__account__number", flat=True))
    assert numbers == {"M1", "S1", "O1"}
    for n, snap in enumerate(MarginCallSnapshot.objects.select_related("call__account")):
        printed = calc(tmp_path, snap.scenario, f"snap{n}.json")
        assert printed == snap.figures
        if snap.reason != "ended":
            row = printed["accounts"][0]
            assert row["alert"] != "none"
    # each snapshot was taken with a change of the call: the call's columns then (the event's
    # "after") are the figures calc prints for the snapshot
    pairs = {"open": "triggered", "escalate": "force", "end": "ended"}
    for call in MarginCall.objects.all():
        changes = [e for e in call.events.all() if e.kind in pairs]
        snaps = list(call.snapshots.order_by("id"))
        assert [pairs[e.kind] for e in changes] == [s.reason for s in snaps]
        for change, snap in zip(changes, snaps, strict=True):
            row = snap.figures["accounts"][0]
            after = change.after
            assert [after[k] for k in ("equity", "lna", "nar", "loan", "call_amount")] == [
                row[k] for k in ("equity", "lna", "nar", "loan", "call_amount")
            ]
            assert [after[f"req_{k}"] for k in ("im", "mcm", "mm", "fm")] == [
                row["req"][k] for k in ("im", "mcm", "mm", "fm")
            ]
            assert after["alert"] == row["alert"]
    for call in MarginCall.objects.filter(status="open").select_related("account"):
        latest = calc(tmp_path, scenario_for(call.account, at=call.updated_at), "now.json")
        assert_call_matches(call, latest)
    m1 = MarginCall.objects.get(account__number="M1")
    assert m1.snapshots.get(reason="ended").figures["accounts"][0]["alert"] == "none"


def test_scenario_holds_the_resolved_ratios_and_every_currency(mixed_book, monitor_at):
    from riskdesk.book.models import Account

    s1 = scenario_for(Account.objects.get(number="S1"), at=monitor_at)
    (inst,) = s1["instruments"]
    assert inst["margin"] == {"im": "0.5000", "mcm": "0.4500", "mm": "0.4000", "fm": "0.3500"}
    assert s1["accounts"][0]["positions"] == {"700.HK": -500}
    o1 = scenario_for(Account.objects.get(number="O1"), at=monitor_at)
    assert o1["fx"] == {"USD": "7.80000000"}
    by_code = {i["code"]: i for i in o1["instruments"]}
    assert by_code["1234.HK"]["status"] == "delisted"
    assert by_code["1234.HK"]["margin"]["im"] == "1"  # excluded: 100%
    assert by_code["AAPL 261218C200"]["multiplier"] == 100
    assert by_code["AAPL 261218C200"]["kind"] == "option"
    # USD: −10 × 5.5 × 100 + 123.45 = −5,376.55
    assert o1["accounts"][0]["cash"] == {"HKD": "-400000.00", "USD": "-5376.55"}
    assert o1["accounts"][0]["client"] == "C4"


def test_monitor_figures_equal_calc_margin_on_the_whole_book(
    mixed_book, drop, tmp_path, monitor_at
):
    """One scenario holding every screened account: calc's figures are the calls' columns."""
    from riskdesk.book.models import Account

    drop("300")
    book = {"base_currency": "HKD", "fx": {}, "instruments": [], "accounts": []}
    seen = {}
    accounts = list(Account.objects.filter(type="margin").order_by("number"))
    for account in accounts:
        one = scenario_for(account, at=monitor_at)
        book["fx"].update(one["fx"])
        for inst in one["instruments"]:
            # the same ratio for an instrument across accounts in this book (no client rules;
            # 700.HK is long in M1/O1 and short in S1 → keyed by side)
            key = (inst["code"], json.dumps(inst["margin"]))
            if key not in seen:
                seen[key] = f"{inst['code']}#{len(seen)}"
                book["instruments"].append({**inst, "code": seen[key]})
        positions = {}
        for code, qty in one["accounts"][0]["positions"].items():
            margin = next(i["margin"] for i in one["instruments"] if i["code"] == code)
            positions[seen[(code, json.dumps(margin))]] = qty
        book["accounts"].append({**one["accounts"][0], "positions": positions})
    printed = calc(tmp_path, book)
    rows = {row["id"]: row for row in printed["accounts"]}
    assert set(rows) == {"M1", "M2", "S1", "O1"}
    in_call = {c.account.number: c for c in MarginCall.objects.filter(status="open")}
    assert set(in_call) == {n for n, r in rows.items() if r["alert"] != "none"}
    for number, call in in_call.items():
        assert_call_matches(call, {"accounts": [rows[number]]})
    for account in accounts:  # and equal the engine path the console shows (account_risk)
        f = account_risk(account, at=monitor_at).figures
        assert (fmt_amount(f.lna), fmt_amount(f.call_amount)) == (
            rows[account.number]["lna"],
            rows[account.number]["call_amount"],
        )
    assert D(printed["totals"]["call_amount"]) == sum(c.call_amount for c in in_call.values())


def test_calc_margin_helper_is_the_cli(mixed_book, tmp_path, monitor_at):
    from riskdesk.book.models import Account

    scenario = scenario_for(Account.objects.get(number="O1"), at=monitor_at)
    assert calc_margin(scenario) == calc(tmp_path, scenario)
