"""PL-1: every event changes the book through one service, exactly once per key, and a bad
event changes nothing. Figures are worked by hand in the comments."""

from decimal import Decimal

import pytest

from riskdesk.book.errors import BookError
from riskdesk.book.models import BookEvent, CashBalance, CashEntry, Position, PositionEntry, Price
from riskdesk.book.selectors import account_view, reconcile_book

pytestmark = pytest.mark.django_db


def balance(account, currency):
    row = CashBalance.objects.filter(account=account, currency=currency).first()
    return row.balance if row else Decimal(0)


def qty(account, instrument):
    row = Position.objects.filter(account=account, instrument=instrument).first()
    return row.quantity if row else 0


def test_deposit_then_withdrawal_moves_balance_and_ledger(book, post):
    # Arrange / Act: 100,000.00 in, 25,000.50 out
    post("deposit", account="M1", currency="HKD", amount="100000.00")
    out = post("withdrawal", account="M1", currency="HKD", amount="25000.50")
    # Assert: 100,000.00 − 25,000.50 = 74,999.50, and the ledger sums to it
    assert balance(book["margin"], "HKD") == Decimal("74999.50")
    assert out.result["balance"] == "74999.50"
    assert [e.amount for e in CashEntry.objects.filter(account=book["margin"]).order_by("id")] == [
        Decimal("100000.00"),
        Decimal("-25000.50"),
    ]
    assert reconcile_book() == []


def test_withdrawal_beyond_balance_is_refused_and_writes_nothing(book, post):
    post("deposit", account="K1", currency="HKD", amount="100")
    events_before = BookEvent.objects.count()
    with pytest.raises(BookError) as err:
        post("withdrawal", account="K1", currency="HKD", amount="100.01")
    assert err.value.field == "amount"
    assert "100.00" in err.value.reason
    assert BookEvent.objects.count() == events_before
    assert balance(book["cash"], "HKD") == Decimal("100")


def test_same_key_twice_changes_the_book_once_and_returns_the_first_result(book, post):
    first = post("deposit", key="bank-ref-1", account="M1", currency="HKD", amount="500")
    second = post("deposit", key="bank-ref-1", account="M1", currency="HKD", amount="500")
    assert balance(book["margin"], "HKD") == Decimal("500")
    assert second.replayed and not first.replayed
    assert second.event_id == first.event_id and second.result == first.result
    assert CashEntry.objects.filter(event_id=first.event_id).count() == 1


def test_same_key_with_another_payload_is_a_conflict(book, post):
    post("deposit", key="bank-ref-2", account="M1", currency="HKD", amount="500")
    with pytest.raises(BookError) as err:
        post("deposit", key="bank-ref-2", account="M1", currency="HKD", amount="600")
    assert err.value.status == 409 and err.value.field == "key"
    assert balance(book["margin"], "HKD") == Decimal("500")


def test_buy_fill_with_fees_debits_consideration_and_each_fee(book, post):
    # 2,000 × 400 = 800,000.00 consideration; fees 50.00 + 1.08 → cash −800,051.08
    r = post(
        "trade_fill",
        account="M1",
        instrument="700.HK",
        side="buy",
        quantity=2000,
        price="400",
        fees=[{"kind": "commission", "amount": "50.00"}, {"kind": "sfc_levy", "amount": "1.08"}],
    )
    assert qty(book["margin"], book["tencent"]) == 2000
    assert balance(book["margin"], "HKD") == Decimal("-800051.08")
    assert r.result["consideration"] == "800000.00" and r.result["fees"] == "51.08"
    assert CashEntry.objects.filter(kind="fee").count() == 2
    assert reconcile_book() == []


def test_sell_fill_of_an_option_uses_the_multiplier(book, post):
    # Short 3 calls at 5.50 × 100 shares = 1,650.00 USD credited; position −3
    post(
        "trade_fill",
        account="M1",
        instrument="AAPL 261218C200",
        side="sell",
        quantity=3,
        price="5.50",
    )
    assert qty(book["margin"], book["call"]) == -3
    assert balance(book["margin"], "USD") == Decimal("1650.00")


def test_cash_account_cannot_go_short(book, post):
    post("transfer_in", account="K1", instrument="700.HK", quantity=100)
    with pytest.raises(BookError) as err:
        post(
            "trade_fill", account="K1", instrument="700.HK", side="sell", quantity=200, price="400"
        )
    assert err.value.field == "quantity"
    assert qty(book["cash"], book["tencent"]) == 100
    assert not CashEntry.objects.filter(account=book["cash"]).exists()


def test_transfer_in_adds_stock_with_an_entry(book, post):
    post("transfer_in", account="M1", instrument="AAPL.US", quantity=50)
    post("transfer_in", account="M1", instrument="AAPL.US", quantity=25)
    assert qty(book["margin"], book["apple"]) == 75
    assert list(PositionEntry.objects.values_list("quantity", flat=True).order_by("id")) == [50, 25]


def test_interest_accrual_raises_receivable(book, post):
    post("interest_accrual", account="M1", amount="12.34")
    post("interest_accrual", account="M1", amount="0.66")
    book["margin"].refresh_from_db()
    assert book["margin"].interest_receivable == Decimal("13.00")


def test_fx_conversion_at_the_book_cross_rate(book, post):
    # 780.00 HKD → USD at 1 / 7.8 = 100.00 USD
    post("deposit", account="M1", currency="HKD", amount="1000")
    r = post("fx_conversion", account="M1", from_currency="HKD", to_currency="USD", amount="780")
    assert balance(book["margin"], "HKD") == Decimal("220.00")
    assert balance(book["margin"], "USD") == Decimal("100.00")
    assert r.result["received"] == "100.00"


def test_fx_conversion_in_a_cash_account_cannot_overdraw(book, post):
    with pytest.raises(BookError) as err:
        post("fx_conversion", account="K1", from_currency="HKD", to_currency="USD", amount="780")
    assert err.value.field == "amount"
    assert not CashEntry.objects.exists()


def test_price_update_ignores_a_late_tick(book, post):
    post(
        "price_update",
        prices=[{"instrument": "700.HK", "last": "401.2", "as_of": "2030-01-02T10:00:00+08:00"}],
    )
    r = post(
        "price_update",
        prices=[{"instrument": "700.HK", "last": "390", "as_of": "2030-01-02T09:59:00+08:00"}],
    )
    assert Price.objects.get(instrument=book["tencent"]).last == Decimal("401.2")
    assert r.result == {"applied": [], "stale": ["700.HK"]}


def test_price_update_applies_a_feed_batch_in_order(book, post):
    # PL-1: one event carries a feed's batch. A new instrument gets its first price, the same
    # name twice in one event keeps the later tick, and a late tick among them is skipped.
    from riskdesk.book.models import Instrument

    new = Instrument.objects.create(
        code="5.HK", name="HSBC", market="HK", currency="HKD", lot_size=400
    )
    post(
        "price_update",
        prices=[{"instrument": "AAPL.US", "last": "210", "as_of": "2030-01-02T10:00:00+08:00"}],
    )
    r = post(
        "price_update",
        prices=[
            {"instrument": "700.HK", "last": "401.2"},
            {"instrument": "5.HK", "last": "61.35", "prev_close": "60.9"},
            {"instrument": "AAPL.US", "last": "199", "as_of": "2030-01-02T09:00:00+08:00"},
            {"instrument": "700.HK", "last": "402.4"},
        ],
    )
    assert r.result == {"applied": ["700.HK", "5.HK", "700.HK"], "stale": ["AAPL.US"]}
    last = dict(Price.objects.values_list("instrument__code", "last"))
    assert last["700.HK"] == Decimal("402.4")
    assert last["AAPL.US"] == Decimal("210")
    assert Price.objects.get(instrument=new).prev_close == Decimal("60.9")
    assert last["5.HK"] == Decimal("61.35")


def test_price_update_naming_an_unknown_instrument_changes_no_price(book, post):
    with pytest.raises(BookError) as err:
        post(
            "price_update",
            prices=[
                {"instrument": "700.HK", "last": "380"},
                {"instrument": "9999.HK", "last": "1"},
            ],
        )
    assert (err.value.field, err.value.reason) == ("prices.1.instrument", "no instrument 9999.HK")
    assert Price.objects.get(instrument=book["tencent"]).last == Decimal("400")
    assert not BookEvent.objects.filter(kind="price_update").exists()


def test_fx_update_refuses_the_base_currency_and_keeps_the_rest_unapplied(book, post):
    with pytest.raises(BookError) as err:
        post(
            "fx_update",
            rates=[{"currency": "USD", "rate": "7.85"}, {"currency": "HKD", "rate": "1.1"}],
        )
    assert err.value.field == "rates.1.currency"
    from riskdesk.book.models import FxRate

    assert FxRate.objects.get(currency="USD").rate == Decimal("7.8")  # first tick rolled back too


@pytest.mark.parametrize(
    "payload, field, reason",
    [
        ({"account": "M1", "currency": "HKD", "amount": 100.5}, "amount", "not a decimal"),
        (
            {"account": "M1", "currency": "HKD", "amount": "1.001"},
            "amount",
            "at most 2 decimal places",
        ),
        ({"account": "M1", "currency": "HKD", "amount": "-5"}, "amount", "must be greater than 0"),
        ({"account": "M1", "currency": "hkd", "amount": "5"}, "currency", None),
        (
            {"account": "M1", "currency": "EUR", "amount": "5"},
            "currency",
            "no FX rate for EUR; post an FX update first",
        ),
        ({"account": "NOPE", "currency": "HKD", "amount": "5"}, "account", "no account NOPE"),
        ({"account": "M1", "currency": "HKD"}, "amount", "required"),
        (
            {"account": "M1", "currency": "HKD", "amount": "5", "colour": "red"},
            "colour",
            "unknown field",
        ),
    ],
)
def test_bad_deposit_names_the_field_and_writes_nothing(book, post, payload, field, reason):
    with pytest.raises(BookError) as err:
        post("deposit", **payload)
    assert err.value.field == field
    if reason:
        assert err.value.reason == reason
    assert not BookEvent.objects.exists() and not CashEntry.objects.exists()


def test_closed_account_takes_no_events(book, post):
    book["margin"].status = "closed"
    book["margin"].save()
    with pytest.raises(BookError, match="closed"):
        post("deposit", account="M1", currency="HKD", amount="5")


def test_account_view_values_positions_in_base_currency(book, post):
    # Arrange: USD 1,000 deposited; 2,000 700.HK transferred in; 100 AAPL transferred in;
    # 3 AAPL calls sold at 5.50 (+1,650 USD); 1,250 700.HK bought at 400 (−500,000 HKD).
    post("deposit", account="M1", currency="USD", amount="1000")
    post("transfer_in", account="M1", instrument="700.HK", quantity=2000)
    post("transfer_in", account="M1", instrument="AAPL.US", quantity=100)
    post(
        "trade_fill",
        account="M1",
        instrument="AAPL 261218C200",
        side="sell",
        quantity=3,
        price="5.5",
    )
    post("trade_fill", account="M1", instrument="700.HK", side="buy", quantity=1250, price="400")
    # Act
    view = account_view(book["margin"])
    # Assert: cash −500,000 + (1,000 + 1,650) × 7.8 = −500,000 + 20,670 = −479,330
    assert view.cash_base == Decimal("-479330.00")
    # long: 3,250 × 400 = 1,300,000 + 100 × 200 × 7.8 = 156,000 → 1,456,000
    assert view.long_mv_base == Decimal("1456000.00")
    # short: −3 × 5.5 × 100 × 7.8 = −12,870
    assert view.short_mv_base == Decimal("-12870.00")
    # equity = −479,330 + 1,456,000 − 12,870 = 963,800
    assert view.equity_base == Decimal("963800.00")
    assert reconcile_book() == []
