"""Fixtures for the demo broker tests: a small demo book and a digest of its content."""

import hashlib

import pytest

from riskdesk.book.models import (
    Account,
    BookEvent,
    CashBalance,
    CashEntry,
    Client,
    Instrument,
    Position,
    PositionEntry,
    Price,
)
from riskdesk.demo.generator import build_demo

SMALL = 200
SEED = 7


@pytest.fixture
def demo_book(db):
    """A 200-client demo book (seed 7) and its summary."""
    return build_demo(clients=SMALL, seed=SEED)


@pytest.fixture
def digest():
    return book_digest


@pytest.fixture
def wipe():
    return wipe_book


def book_digest() -> str:
    """SHA-256 of the book's content by natural keys (no ids, no timestamps)."""
    h = hashlib.sha256()

    def feed(rows):
        for row in rows:
            h.update(repr(tuple(str(v) for v in row)).encode())

    feed(Client.objects.order_by("code").values_list("code", "name", "language", "email", "phone"))
    feed(
        Account.objects.order_by("number").values_list(
            "number", "client__code", "type", "status", "interest_receivable"
        )
    )
    feed(
        Instrument.objects.order_by("code").values_list(
            "code", "name", "market", "kind", "currency", "lot_size", "status", "multiplier",
            "underlying__code", "strike", "expiry", "option_type",
        )
    )  # fmt: skip
    feed(
        Price.objects.order_by("instrument__code").values_list(
            "instrument__code", "last", "prev_close"
        )
    )
    feed(
        CashBalance.objects.order_by("account__number", "currency").values_list(
            "account__number", "currency", "balance"
        )
    )
    feed(
        Position.objects.order_by("account__number", "instrument__code").values_list(
            "account__number", "instrument__code", "quantity"
        )
    )
    feed(
        PositionEntry.objects.order_by("account__number", "instrument__code").values_list(
            "account__number", "instrument__code", "quantity", "price"
        )
    )
    return h.hexdigest()


def wipe_book() -> None:
    """Delete the whole book (children first: every foreign key here is PROTECT)."""
    PositionEntry.objects.all().delete()
    CashEntry.objects.all().delete()
    Position.objects.all().delete()
    CashBalance.objects.all().delete()
    BookEvent.objects.all().delete()
    Account.objects.all().delete()
    Client.objects.all().delete()
    Price.objects.all().delete()
    Instrument.objects.filter(kind=Instrument.Kind.OPTION).delete()
    Instrument.objects.all().delete()
