"""Book endpoints (PL-1): post each event; read an account."""

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status
from pydantic import Field

from riskdesk.book import extensions, schemas, selectors, services
from riskdesk.book.models import Account, BookEvent
from riskdesk.engine.money import fmt_amount
from riskdesk.site.api import require

router = Router(tags=["book"])


class EventIn(Schema):
    key: str = Field(
        ...,
        min_length=1,
        max_length=128,
        description="Idempotency key: the same key twice changes the book once",
    )
    payload: dict[str, Any]


class EventOut(Schema):
    event_id: int
    kind: str
    replayed: bool = Field(
        description="True when this key was already applied; the first result is returned"
    )
    result: dict[str, Any]


def _post(request, kind: str, body: EventIn):
    require(request, "book.post_event")
    outcome = services.post_event(kind=kind, key=body.key, payload=body.payload, actor=request.user)
    return Status(200 if outcome.replayed else 201, outcome.__dict__)


def _endpoint(kind: str, schema, summary: str):
    doc = f"{summary}\n\nPayload fields: " + ", ".join(
        f"`{name}`" + ("" if f.is_required() else " (optional)")
        for name, f in schema.model_fields.items()
    )

    def view(request, body: EventIn):
        return _post(request, kind, body)

    view.__name__ = f"post_{kind}"
    router.post(
        f"/events/{kind.replace('_', '-')}",
        response={200: EventOut, 201: EventOut},
        summary=summary,
        description=doc,
        operation_id=f"post_{kind}",
    )(view)


K = BookEvent.Kind
for _kind, _schema, _summary in [
    (K.DEPOSIT, schemas.Deposit, "Deposit cash (入金)"),
    (K.WITHDRAWAL, schemas.Withdrawal, "Withdraw cash"),
    (K.TRANSFER_IN, schemas.TransferIn, "Stock transfer-in (转仓)"),
    (K.TRADE_FILL, schemas.TradeFill, "Trade fill with fees"),
    (K.INTEREST_ACCRUAL, schemas.InterestAccrual, "Accrue interest receivable (base currency)"),
    (K.FX_CONVERSION, schemas.FxConversion, "Convert between currencies"),
    (K.PRICE_UPDATE, schemas.PriceUpdate, "Price update (one or more ticks)"),
    (K.FX_UPDATE, schemas.FxUpdate, "FX rate update"),
]:
    _endpoint(_kind, _schema, _summary)


class BalanceOut(Schema):
    currency: str
    balance: str
    fx: str
    base: str


class PositionOut(Schema):
    instrument: str
    name: str
    kind: str
    status: str
    currency: str
    quantity: int
    multiplier: int
    price: str | None
    price_as_of: datetime | None
    market_value: str | None
    market_value_base: str | None


class AccountOut(Schema):
    number: str
    client: str
    client_name: str
    type: str
    status: str
    base_currency: str
    interest_receivable: str
    balances: list[BalanceOut]
    positions: list[PositionOut]
    cash_base: str
    long_mv_base: str
    short_mv_base: str
    equity_base: str
    unpriced: list[str]
    margin: dict[str, Any] | None = Field(
        None,
        description="Margin figures (MR-6): IM requirement, buying power, ratio used per position",
    )


def _s(value: Decimal | None) -> str | None:
    return None if value is None else fmt_amount(value)


@router.get(
    "/accounts/{number}",
    response=AccountOut,
    summary="Read an account: balances, positions with market value",
)
def read_account(request, number: str):
    require(request, "book.view_account")
    account = get_object_or_404(Account.objects.select_related("client"), number=number)
    view = selectors.account_view(account)
    return {
        "number": account.number,
        "client": account.client.code,
        "client_name": account.client.name,
        "type": account.type,
        "status": account.status,
        "base_currency": view.base_currency,
        "interest_receivable": fmt_amount(account.interest_receivable),
        "balances": [
            {
                "currency": b.currency,
                "balance": fmt_amount(b.balance),
                "fx": f"{b.fx:.8f}",
                "base": fmt_amount(b.base),
            }
            for b in view.balances
        ],
        "positions": [
            {
                "instrument": h.code,
                "name": h.name,
                "kind": h.kind,
                "status": h.status,
                "currency": h.currency,
                "quantity": h.quantity,
                "multiplier": h.multiplier,
                "price": None if h.price is None else f"{h.price:.6f}",
                "price_as_of": h.price_as_of,
                "market_value": _s(h.market_value),
                "market_value_base": _s(h.market_value_base),
            }
            for h in view.holdings
        ],
        "cash_base": fmt_amount(view.cash_base),
        "long_mv_base": fmt_amount(view.long_mv_base),
        "short_mv_base": fmt_amount(view.short_mv_base),
        "equity_base": fmt_amount(view.equity_base),
        "unpriced": view.unpriced,
        **extensions.account_api_fields(account),
    }
