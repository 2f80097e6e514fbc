"""The demo broker: the invariants a risk officer relies on hold in the generated book."""

from collections import defaultdict
from decimal import Decimal

import numpy as np
import pytest
from django.db.models import Count, Q, Sum
from django.utils import timezone

from riskdesk.book.models import (
    Account,
    BookEvent,
    CashBalance,
    CashEntry,
    Client,
    FxRate,
    Instrument,
    Position,
    PositionEntry,
    Price,
)
from riskdesk.book.services import post_event
from riskdesk.demo.generator import DemoError, build_demo
from riskdesk.demo.ticks import round_to_tick_array, to_micro

pytestmark = pytest.mark.django_db

SMALL, SEED = 200, 7  # as built by the demo_book fixture

FX = {"HKD": Decimal(1), "USD": Decimal("7.8"), "CNH": Decimal("1.08")}


def _market_value_hkd() -> dict[int, tuple[Decimal, Decimal]]:
    """(long market value, short market value) per account id, in HKD."""
    values: dict[int, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    rows = Position.objects.values_list(
        "account_id",
        "quantity",
        "instrument__price__last",
        "instrument__multiplier",
        "instrument__currency",
    )
    for account_id, qty, last, mult, currency in rows:
        value = qty * last * mult * FX[currency]
        values[account_id][0 if qty > 0 else 1] += abs(value)
    return {k: (v[0], v[1]) for k, v in values.items()}


def _cash_hkd() -> dict[int, Decimal]:
    cash: dict[int, Decimal] = defaultdict(Decimal)
    for account_id, currency, balance in CashBalance.objects.values_list(
        "account_id", "currency", "balance"
    ):
        cash[account_id] += balance * FX[currency]
    return cash


# --- the ledger ---------------------------------------------------------------------------------


def test_every_balance_equals_the_sum_of_its_entries(demo_book):
    # Arrange
    sums = {
        (r["account_id"], r["currency"]): r["total"]
        for r in CashEntry.objects.values("account_id", "currency").annotate(total=Sum("amount"))
    }
    # Act
    balances = {(b.account_id, b.currency): b.balance for b in CashBalance.objects.all()}
    # Assert
    assert balances
    assert balances == sums


def test_every_position_equals_the_sum_of_its_entries(demo_book):
    sums = {
        (r["account_id"], r["instrument_id"]): r["total"]
        for r in PositionEntry.objects.values("account_id", "instrument_id").annotate(
            total=Sum("quantity")
        )
    }
    positions = {(p.account_id, p.instrument_id): p.quantity for p in Position.objects.all()}
    assert positions
    assert positions == sums


def test_every_opening_row_hangs_off_one_opening_event(demo_book):
    event = BookEvent.objects.get(key=f"demo-opening-{SEED}")
    assert event.kind == BookEvent.Kind.OPENING
    assert event.id == demo_book.event_id
    assert set(CashEntry.objects.values_list("event_id", "kind").distinct()) == {
        (event.id, "opening")
    }
    assert set(PositionEntry.objects.values_list("event_id", flat=True).distinct()) == {event.id}
    assert event.result["clients"] == SMALL


def test_summary_counts_are_the_rows_written(demo_book):
    assert demo_book.rows() == {
        "clients": Client.objects.count(),
        "accounts": Account.objects.count(),
        "instruments": Instrument.objects.count(),
        "prices": Price.objects.count(),
        "fx_rates": FxRate.objects.count(),
        "cash_balances": CashBalance.objects.count(),
        "cash_entries": CashEntry.objects.count(),
        "positions": Position.objects.count(),
        "position_entries": PositionEntry.objects.count(),
    }
    assert demo_book.clients == SMALL


# --- what a cash account may not do ---------------------------------------------------------------


def test_cash_accounts_are_never_negative_nor_short(demo_book):
    assert Account.objects.filter(type="cash").count() > 50
    assert not CashBalance.objects.filter(account__type="cash", balance__lt=0).exists()
    assert not Position.objects.filter(account__type="cash", quantity__lt=0).exists()


def test_short_positions_exist_in_margin_accounts_only(demo_book):
    shorts = Position.objects.filter(quantity__lt=0)
    assert shorts.filter(instrument__kind__in=["stock", "etf"]).exists()
    assert shorts.filter(instrument__kind="option").exists()
    assert set(shorts.values_list("account__type", flat=True)) == {"margin"}


def test_closed_accounts_hold_nothing(demo_book):
    closed = Account.objects.filter(status="closed")
    assert closed.exists()
    assert not CashBalance.objects.filter(account__in=closed).exists()
    assert not Position.objects.filter(account__in=closed).exists()


# --- what makes the console look alive ------------------------------------------------------------


def test_account_mix_of_cash_margin_and_intraday(demo_book):
    by_type = dict(Account.objects.values_list("type").annotate(n=Count("id")))
    total = sum(by_type.values())
    assert set(by_type) == {"cash", "margin", "intraday"}
    assert 0.35 < by_type["cash"] / total < 0.55
    assert 0.35 < by_type["margin"] / total < 0.55
    assert 0.03 < by_type["intraday"] / total < 0.2
    assert Client.objects.annotate(n=Count("accounts")).filter(n=2).exists()
    assert set(Client.objects.values_list("language", flat=True)) == {"zh-hant", "zh-hans", "en"}
    assert not Client.objects.filter(Q(email="") | Q(name="")).exists()
    assert Account.objects.filter(interest_receivable__gt=0, type="margin").exists()


def test_margin_accounts_with_debt_and_some_deep_in_debt(demo_book):
    values = _market_value_hkd()
    cash = _cash_hkd()
    margin = set(Account.objects.filter(type="margin").values_list("id", flat=True))
    debtors = {a for a in margin if cash.get(a, 0) < 0}
    assert len(debtors) > 10
    deep = [a for a in debtors if -cash[a] >= Decimal("0.85") * values[a][0]]
    assert deep, "no margin account owes about as much as its collateral"
    # and debt in a foreign currency (borrowed to buy US stocks)
    assert CashBalance.objects.filter(
        account__type="margin", currency="USD", balance__lt=0
    ).exists()


def test_holdings_in_suspended_long_suspended_and_delisted_stocks(demo_book):
    held = set(Position.objects.values_list("instrument__status", flat=True))
    assert {"normal", "suspended", "long_suspended", "delisted"} <= held


def test_cash_in_several_currencies_and_fx_rates(demo_book):
    assert set(CashBalance.objects.values_list("currency", flat=True)) == {"HKD", "USD", "CNH"}
    assert dict(FxRate.objects.values_list("currency", "rate")) == {
        "USD": Decimal("7.8"),
        "CNH": Decimal("1.08"),
    }


def test_options_carry_their_terms(demo_book):
    options = Instrument.objects.filter(kind="option").select_related("underlying")
    assert options.count() >= 10
    today = timezone.localdate()
    for option in options:
        assert option.underlying is not None and option.underlying.kind in ("stock", "etf")
        assert option.strike > 0 and option.expiry > today
        assert option.option_type in ("call", "put")
        assert option.market == option.underlying.market
        assert option.currency == option.underlying.currency
        if option.market == "US":
            assert option.multiplier == 100
        else:
            assert option.multiplier in (100, 400, 500, 1000)
    assert {o.market for o in options} == {"HK", "US"}
    assert Position.objects.filter(instrument__kind="option", quantity__gt=0).exists()


def test_universe_has_the_well_known_names_and_a_few_hundred_more(demo_book):
    codes = set(Instrument.objects.values_list("code", flat=True))
    assert {
        "700.HK",
        "9988.HK",
        "5.HK",
        "1299.HK",
        "388.HK",
        "2800.HK",
        "AAPL.US",
        "SPY.US",
    } <= codes
    assert Instrument.objects.get(code="2800.HK").kind == "etf"
    assert Instrument.objects.get(code="QQQ.US").kind == "etf"
    assert Instrument.objects.filter(market="HK").count() >= 250
    assert set(Instrument.objects.filter(market="US").values_list("lot_size", flat=True)) == {1}
    hk_lots = set(
        Instrument.objects.filter(market="HK", kind="stock").values_list("lot_size", flat=True)
    )
    assert {100, 200, 500, 1000, 2000} <= hk_lots
    for status in ("suspended", "long_suspended", "delisted"):
        assert Instrument.objects.filter(status=status).exists()


def test_every_instrument_has_a_positive_price_on_its_tick(demo_book):
    assert Price.objects.count() == Instrument.objects.count()
    for price in Price.objects.select_related("instrument"):
        inst = price.instrument
        assert price.last > 0 and price.prev_close > 0 and price.as_of is not None
        micro = np.array([to_micro(price.last)])
        assert round_to_tick_array(inst.market, inst.kind, micro)[0] == micro[0], inst.code


def test_stock_quantities_are_whole_lots(demo_book):
    rows = Position.objects.filter(instrument__kind__in=["stock", "etf"]).values_list(
        "quantity", "instrument__lot_size"
    )
    assert all(q % lot == 0 for q, lot in rows)


# --- determinism and refusal ----------------------------------------------------------------------


def test_the_same_seed_gives_the_same_book(db, digest, wipe):
    build_demo(clients=120, seed=11)
    first = digest()
    wipe()
    build_demo(clients=120, seed=11)
    assert digest() == first
    wipe()
    build_demo(clients=120, seed=12)
    assert digest() != first


def test_a_book_with_clients_is_refused_and_nothing_is_written(demo_book):
    before = (
        Client.objects.count(),
        Account.objects.count(),
        CashEntry.objects.count(),
        BookEvent.objects.count(),
    )
    with pytest.raises(DemoError, match="not empty"):
        build_demo(clients=10, seed=99)
    after = (
        Client.objects.count(),
        Account.objects.count(),
        CashEntry.objects.count(),
        BookEvent.objects.count(),
    )
    assert after == before


def test_a_book_with_instruments_only_is_refused(db):
    Instrument.objects.create(
        code="700.HK", name="Tencent", market="HK", currency="HKD", lot_size=100
    )
    with pytest.raises(DemoError, match="1 instruments"):
        build_demo(clients=10, seed=1)
    assert Instrument.objects.count() == 1
    assert not BookEvent.objects.exists()


def test_at_least_one_client(db):
    with pytest.raises(DemoError):
        build_demo(clients=0, seed=1)


def test_progress_is_reported_up_to_the_total(db):
    calls = []
    build_demo(clients=30, seed=1, progress=lambda *a: calls.append(a))
    assert calls[0][2] == 30
    assert calls[-1][1:] == (30, 30)
    assert {c[0] for c in calls} >= {"Instruments", "Clients and accounts"}


# --- the demo book is a normal book afterwards ------------------------------------------------------


def test_events_and_new_rows_follow_the_demo(demo_book):
    # Ids continue after the bulk load (PostgreSQL sequences are moved past them).
    account = Account.objects.filter(type="margin", status="active").order_by("number").first()
    client = Client.objects.create(code="NEW-1", name="New Client")
    assert client.id > Client.objects.exclude(id=client.id).order_by("-id").first().id
    # Act
    post_event(
        kind="deposit",
        key="t-dep-1",
        payload={"account": account.number, "currency": "HKD", "amount": "1000.00"},
    )
    # Assert
    balance = CashBalance.objects.get(account=account, currency="HKD").balance
    total = CashEntry.objects.filter(account=account, currency="HKD").aggregate(s=Sum("amount"))[
        "s"
    ]
    assert balance == total
    assert CashEntry.objects.filter(account=account, currency="HKD").count() == 2


def test_prices_are_plausible(demo_book):
    tencent = Price.objects.get(instrument__code="700.HK")
    assert Decimal(300) < tencent.last < Decimal(700)
    assert Price.objects.filter(instrument__market="HK", last__lt=1).exists()  # penny stocks
    assert max(Price.objects.values_list("last", flat=True)) < 10_000
