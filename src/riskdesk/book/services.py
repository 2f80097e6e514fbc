"""Everything that changes the book goes through ``post_event`` (PL-1).

One idempotency key, one effect: the event row is inserted first, under a unique key, in the
same transaction as its ledger rows. A second delivery of the key finds the row and returns
the first result; a concurrent one fails on the unique index and does the same.
"""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from pydantic import BaseModel, ValidationError

from riskdesk.book import schemas
from riskdesk.book.errors import BookError
from riskdesk.book.models import (
    Account,
    BookEvent,
    CashBalance,
    CashEntry,
    FxRate,
    Instrument,
    Position,
    PositionEntry,
    Price,
)
from riskdesk.book.signals import event_committed
from riskdesk.engine.money import fmt_amount, round_amount
from riskdesk.site.wal import writing

Kind = BookEvent.Kind


@dataclass(frozen=True)
class EventOutcome:
    event_id: int
    kind: str
    replayed: bool
    result: dict


def post_event(*, kind: str, key: str, payload: dict, actor=None) -> EventOutcome:
    """Validate and apply one event; the same key twice applies it once."""
    if kind not in APPLIERS:
        raise BookError("kind", f"unknown event kind {kind!r}")
    if not key or len(key) > 128:
        raise BookError("key", "an idempotency key of 1 to 128 characters is required")
    schema, apply = APPLIERS[kind]
    data = validate(schema, payload)
    canonical = data.model_dump(mode="json")
    existing = BookEvent.objects.filter(key=key).first()
    if existing is not None:
        return _replay(existing, kind, canonical)
    touched: dict[str, set[str]] = {"accounts": set(), "instruments": set()}
    try:
        with writing():
            event = BookEvent.objects.create(key=key, kind=kind, payload=canonical, actor=actor)
            event.result = apply(event, data, touched)
            event.save(update_fields=["result", "account"])
    except IntegrityError:
        existing = BookEvent.objects.filter(key=key).first()
        if existing is None:
            raise
        return _replay(existing, kind, canonical)
    transaction.on_commit(
        lambda: event_committed.send(
            sender=BookEvent,
            event_id=event.id,
            kind=kind,
            accounts=sorted(touched["accounts"]),
            instruments=sorted(touched["instruments"]),
        )
    )
    return EventOutcome(event.id, kind, False, event.result)


def validate(schema: type[BaseModel], payload: dict) -> BaseModel:
    """Parse a payload, turning the first pydantic error into a BookError naming its field."""
    if not isinstance(payload, dict):
        raise BookError("payload", "must be an object")
    try:
        return schema.model_validate(payload)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "payload"
        reason = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            reason = "unknown field"
        elif err["type"] == "missing":
            reason = "required"
        raise BookError(field, reason) from None


def _replay(existing: BookEvent, kind: str, canonical: dict) -> EventOutcome:
    if existing.kind != kind or existing.payload != canonical:
        raise BookError(
            "key", "this idempotency key was already used for a different event", status=409
        )
    return EventOutcome(existing.id, existing.kind, True, existing.result)


# --- lookups --------------------------------------------------------------------------------


def _account(number: str, touched, *, lock: bool = False) -> Account:
    qs = Account.objects.select_for_update() if lock else Account.objects
    try:
        account = qs.get(number=number)
    except Account.DoesNotExist:
        raise BookError("account", f"no account {number}") from None
    if account.status == Account.Status.CLOSED:
        raise BookError("account", f"account {number} is closed")
    touched["accounts"].add(number)
    return account


def _instrument(code: str, touched, field: str = "instrument") -> Instrument:
    try:
        instrument = Instrument.objects.get(code=code)
    except Instrument.DoesNotExist:
        raise BookError(field, f"no instrument {code}") from None
    touched["instruments"].add(code)
    return instrument


def _known_currency(currency: str, field: str) -> None:
    if (
        currency != settings.RISKDESK_BASE_CURRENCY
        and not FxRate.objects.filter(currency=currency).exists()
    ):
        raise BookError(field, f"no FX rate for {currency}; post an FX update first")


def fx_rate(currency: str) -> Decimal:
    """Units of base currency per unit of ``currency``."""
    if currency == settings.RISKDESK_BASE_CURRENCY:
        return Decimal(1)
    rate = FxRate.objects.filter(currency=currency).values_list("rate", flat=True).first()
    if rate is None:
        raise BookError("currency", f"no FX rate for {currency}")
    return rate


# --- ledger primitives ------------------------------------------------------------------------


def _move_cash(
    event, account, currency, amount: Decimal, kind, note="", *, floor=None, field="amount"
) -> Decimal:
    """Write one cash entry and move the balance with it; refuse to go below ``floor``."""
    balance, _ = CashBalance.objects.select_for_update().get_or_create(
        account=account, currency=currency
    )
    new = balance.balance + amount
    if floor is not None and new < floor:
        raise BookError(field, f"exceeds the {currency} balance {fmt_amount(balance.balance)}")
    CashEntry.objects.create(
        account=account, currency=currency, amount=amount, kind=kind, event=event, note=note
    )
    balance.balance = new
    balance.save(update_fields=["balance"])
    return new


def _move_stock(event, account, instrument, quantity: int, price=None) -> int:
    position, _ = Position.objects.select_for_update().get_or_create(
        account=account, instrument=instrument
    )
    new = position.quantity + quantity
    if new < 0 and account.type == Account.Type.CASH:
        raise BookError(
            "quantity",
            f"a cash account cannot go short: it holds {position.quantity} {instrument.code}",
        )
    PositionEntry.objects.create(
        account=account, instrument=instrument, quantity=quantity, price=price, event=event
    )
    position.quantity = new
    position.save(update_fields=["quantity"])
    return new


# --- appliers: one per event kind -------------------------------------------------------------


def _deposit(event, data: schemas.Deposit, touched) -> dict:
    account = _account(data.account, touched, lock=True)
    _known_currency(data.currency, "currency")
    event.account = account
    balance = _move_cash(
        event, account, data.currency, data.amount, CashEntry.Kind.DEPOSIT, data.note
    )
    return {"account": account.number, "currency": data.currency, "balance": fmt_amount(balance)}


def _withdrawal(event, data: schemas.Withdrawal, touched) -> dict:
    account = _account(data.account, touched, lock=True)
    _known_currency(data.currency, "currency")
    event.account = account
    # Until the withdrawable amount of a margin account is computed by the engine, no
    # withdrawal may take a currency below zero (docs/decisions.md).
    balance = _move_cash(
        event,
        account,
        data.currency,
        -data.amount,
        CashEntry.Kind.WITHDRAWAL,
        data.note,
        floor=Decimal(0),
    )
    return {"account": account.number, "currency": data.currency, "balance": fmt_amount(balance)}


def _transfer_in(event, data: schemas.TransferIn, touched) -> dict:
    account = _account(data.account, touched, lock=True)
    instrument = _instrument(data.instrument, touched)
    event.account = account
    quantity = _move_stock(event, account, instrument, data.quantity)
    return {"account": account.number, "instrument": instrument.code, "quantity": quantity}


def _trade_fill(event, data: schemas.TradeFill, touched) -> dict:
    account = _account(data.account, touched, lock=True)
    instrument = _instrument(data.instrument, touched)
    event.account = account
    if data.quantity % instrument.lot_size and instrument.kind != Instrument.Kind.OPTION:
        # Odd lots do trade (odd-lot board), so this is recorded, not refused.
        note = f"odd lot ({data.quantity} vs lot {instrument.lot_size})"
    else:
        note = ""
    sign = 1 if data.side == "buy" else -1
    for i, fee in enumerate(data.fees):
        _known_currency(fee.currency or instrument.currency, f"fees.{i}.currency")
    quantity = _move_stock(event, account, instrument, sign * data.quantity, data.price)
    consideration = round_amount(Decimal(data.quantity) * data.price * instrument.multiplier)
    ref = data.trade_ref or event.key
    _move_cash(
        event,
        account,
        instrument.currency,
        -sign * consideration,
        CashEntry.Kind.TRADE,
        f"{data.side} {data.quantity} {instrument.code} @ {data.price} {ref} {note}".strip(),
    )
    fees_total = Decimal(0)
    for fee in data.fees:
        if fee.amount:
            _move_cash(
                event,
                account,
                fee.currency or instrument.currency,
                -fee.amount,
                CashEntry.Kind.FEE,
                f"{fee.kind} {ref}",
            )
            fees_total += fee.amount
    return {
        "account": account.number,
        "instrument": instrument.code,
        "quantity": quantity,
        "consideration": fmt_amount(consideration),
        "currency": instrument.currency,
        "fees": fmt_amount(fees_total),
    }


def _interest_accrual(event, data: schemas.InterestAccrual, touched) -> dict:
    account = _account(data.account, touched, lock=True)
    event.account = account
    account.interest_receivable += data.amount
    account.save(update_fields=["interest_receivable"])
    return {
        "account": account.number,
        "interest_receivable": fmt_amount(account.interest_receivable),
    }


def _fx_conversion(event, data: schemas.FxConversion, touched) -> dict:
    if data.from_currency == data.to_currency:
        raise BookError("to_currency", "must differ from from_currency")
    account = _account(data.account, touched, lock=True)
    _known_currency(data.from_currency, "from_currency")
    _known_currency(data.to_currency, "to_currency")
    event.account = account
    rate = (
        data.rate
        if data.rate is not None
        else fx_rate(data.from_currency) / fx_rate(data.to_currency)
    )
    received = round_amount(data.amount * rate)
    # A cash account has no credit to draw on; a margin account may convert into debt
    # (that is how a foreign-currency debt is repaid from base-currency cash, BR-3).
    floor = Decimal(0) if account.type == Account.Type.CASH else None
    note = f"{data.from_currency}->{data.to_currency} @ {rate:.8f}"
    _move_cash(
        event, account, data.from_currency, -data.amount, CashEntry.Kind.FX, note, floor=floor
    )
    _move_cash(event, account, data.to_currency, received, CashEntry.Kind.FX, note)
    return {
        "account": account.number,
        "paid": fmt_amount(data.amount),
        "received": fmt_amount(received),
        "rate": f"{rate:.8f}",
    }


def _price_update(event, data: schemas.PriceUpdate, touched) -> dict:
    """A feed batches ticks, so this is set-based: one query for the instruments, one to lock
    their prices, one prepared UPDATE and at most one INSERT whatever the number of ticks (a
    tick at a time held SQLite's single writer ~1 ms per tick, which capped a feed at ~1,000
    ticks/s; Django's ``bulk_update`` spends as long building its CASE expression)."""
    now = timezone.now()
    ids = dict(
        Instrument.objects.filter(code__in={t.instrument for t in data.prices}).values_list(
            "code", "id"
        )
    )
    for i, tick in enumerate(data.prices):
        if tick.instrument not in ids:
            raise BookError(f"prices.{i}.instrument", f"no instrument {tick.instrument}")
    # locked in key order, so two feeds updating the same names cannot deadlock (PostgreSQL)
    existing = {
        row[0]: list(row)
        for row in Price.objects.select_for_update()
        .filter(instrument_id__in=sorted(ids.values()))
        .order_by("pk")
        .values_list("instrument_id", "last", "prev_close", "as_of")
    }
    rows: dict[int, list] = {}
    applied, stale = [], []
    for tick in data.prices:
        pk = ids[tick.instrument]
        as_of = tick.as_of or now
        row = rows.get(pk) or existing.get(pk)
        if row is not None and row[3] > as_of:
            # A late tick must not overwrite a newer price.
            stale.append(tick.instrument)
            continue
        row = row or [pk, None, None, None]
        row[1] = tick.last
        if tick.prev_close is not None:
            row[2] = tick.prev_close
        row[3] = as_of
        rows[pk] = row
        applied.append(tick.instrument)
    _update_prices([row for pk, row in rows.items() if pk in existing])
    if new := [row for pk, row in rows.items() if pk not in existing]:
        Price.objects.bulk_create(
            Price(instrument_id=pk, last=last, prev_close=prev, as_of=as_of)
            for pk, last, prev, as_of in new
        )
    touched["instruments"].update(applied)
    return {"applied": applied, "stale": stale}


def _update_prices(rows: list[list]) -> None:
    """One prepared ``UPDATE book_price`` executed for every (instrument, last, prev close,
    as of) row."""
    if not rows:
        return
    fields = [Price._meta.get_field(name) for name in ("last", "prev_close", "as_of")]
    params = [
        [f.get_db_prep_save(v, connection) for f, v in zip(fields, row[1:], strict=True)] + [row[0]]
        for row in rows
    ]
    qn = connection.ops.quote_name
    sets = ", ".join(f"{qn(f.column)} = %s" for f in fields)
    with connection.cursor() as cur:
        cur.executemany(
            f"UPDATE {qn(Price._meta.db_table)} SET {sets} WHERE {qn('instrument_id')} = %s", params
        )


def _fx_update(event, data: schemas.FxUpdate, touched) -> dict:
    now = timezone.now()
    for i, tick in enumerate(data.rates):
        if tick.currency == settings.RISKDESK_BASE_CURRENCY:
            raise BookError(
                f"rates.{i}.currency", f"{tick.currency} is the base currency; its rate is always 1"
            )
        FxRate.objects.update_or_create(
            currency=tick.currency, defaults={"rate": tick.rate, "as_of": now}
        )
    return {"applied": [t.currency for t in data.rates]}


APPLIERS: dict[str, tuple[type[BaseModel], Callable]] = {
    Kind.DEPOSIT: (schemas.Deposit, _deposit),
    Kind.WITHDRAWAL: (schemas.Withdrawal, _withdrawal),
    Kind.TRANSFER_IN: (schemas.TransferIn, _transfer_in),
    Kind.TRADE_FILL: (schemas.TradeFill, _trade_fill),
    Kind.INTEREST_ACCRUAL: (schemas.InterestAccrual, _interest_accrual),
    Kind.FX_CONVERSION: (schemas.FxConversion, _fx_conversion),
    Kind.PRICE_UPDATE: (schemas.PriceUpdate, _price_update),
    Kind.FX_UPDATE: (schemas.FxUpdate, _fx_update),
}
