"""Invariant 3 under pressure: the same event delivered at once by several threads changes
the book once, on SQLite and on PostgreSQL."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from riskdesk.book.models import BookEvent, CashBalance, CashEntry
from riskdesk.book.services import post_event

pytestmark = pytest.mark.django_db(transaction=True)


def test_same_key_from_eight_threads_applies_once(book):
    barrier = threading.Barrier(8)
    outcomes, errors = [], []

    def deliver():
        try:
            barrier.wait()
            outcomes.append(
                post_event(
                    kind="deposit",
                    key="wire-77",
                    payload={"account": "M1", "currency": "HKD", "amount": "250.00"},
                )
            )
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sum(not o.replayed for o in outcomes) == 1 and len(outcomes) == 8
    assert BookEvent.objects.filter(key="wire-77").count() == 1
    assert CashEntry.objects.count() == 1
    assert CashBalance.objects.get(currency="HKD").balance == Decimal("250.00")


def test_different_keys_from_eight_threads_all_apply(book):
    barrier = threading.Barrier(8)
    errors = []

    def deliver(i):
        try:
            barrier.wait()
            post_event(
                kind="deposit",
                key=f"wire-{i}",
                payload={"account": "M1", "currency": "HKD", "amount": "10.00"},
            )
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert CashBalance.objects.get(currency="HKD").balance == Decimal("80.00")
