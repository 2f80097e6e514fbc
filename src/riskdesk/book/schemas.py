"""The payload of each book event (PL-1), validated the same way from the API, the console,
the demo loader and the price feed.

Amounts travel as decimal strings; a JSON float is refused because it has already lost the
cents it claims to carry.
"""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

from riskdesk.engine.money import parse_decimal


def _decimal(value):
    if isinstance(value, Decimal):
        return value
    try:
        return parse_decimal(value)
    except ValueError as exc:
        raise ValueError("not a decimal") from exc


def _places(n: int):
    def check(value: Decimal) -> Decimal:
        if value.as_tuple().exponent < -n:
            raise ValueError(f"at most {n} decimal places")
        return value

    return check


def _positive(value: Decimal) -> Decimal:
    if value <= 0:
        raise ValueError("must be greater than 0")
    return value


def _non_zero(value: Decimal) -> Decimal:
    if value == 0:
        raise ValueError("must not be 0")
    return value


def _not_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise ValueError("must not be negative")
    return value


Dec = Annotated[Decimal, BeforeValidator(_decimal)]
Amount = Annotated[Dec, AfterValidator(_places(2)), AfterValidator(_positive)]
SignedAmount = Annotated[Dec, AfterValidator(_places(2)), AfterValidator(_non_zero)]
Fee = Annotated[Dec, AfterValidator(_places(2)), AfterValidator(_not_negative)]
PriceValue = Annotated[Dec, AfterValidator(_places(6)), AfterValidator(_positive)]
Rate = Annotated[Dec, AfterValidator(_places(8)), AfterValidator(_positive)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Code = Annotated[str, StringConstraints(min_length=1, max_length=40, strip_whitespace=True)]
Quantity = Annotated[int, Field(gt=0, strict=True)]


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Deposit(Payload):
    account: Code
    currency: Currency
    amount: Amount
    note: str = ""


class Withdrawal(Deposit):
    pass


class TransferIn(Payload):
    account: Code
    instrument: Code
    quantity: Quantity
    note: str = ""


class FeeItem(Payload):
    kind: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    amount: Fee
    currency: Currency | None = None


class TradeFill(Payload):
    account: Code
    instrument: Code
    side: Literal["buy", "sell"]
    quantity: Quantity
    price: PriceValue
    fees: list[FeeItem] = []
    trade_ref: str = ""


class InterestAccrual(Payload):
    account: Code
    amount: SignedAmount
    note: str = ""


class FxConversion(Payload):
    account: Code
    from_currency: Currency
    to_currency: Currency
    amount: Amount
    # Units of to_currency per unit of from_currency; the book's cross rate when omitted.
    rate: Rate | None = None


class PriceTick(Payload):
    instrument: Code
    last: PriceValue
    prev_close: PriceValue | None = None
    as_of: datetime | None = None


class PriceUpdate(Payload):
    prices: Annotated[list[PriceTick], Field(min_length=1)]


class FxTick(Payload):
    currency: Currency
    rate: Rate


class FxUpdate(Payload):
    rates: Annotated[list[FxTick], Field(min_length=1)]
