"""What a risk officer does to a call, and the MC-1 totals."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from riskdesk.margincall.models import MarginCall, MarginCallEvent

#: A call open longer than this is "long outstanding" (长期未结清, MC-1).
LONG_OPEN = timedelta(days=90)


def annotate(call: MarginCall, *, user, note: str | None = None, exception: bool | None = None):
    """Set the call's note and/or exception flag (MC-1), recorded as a "note" event with the
    values before and after. The caller checks ``margincall.annotate_margincall``. Returns the
    event, or None when nothing changed."""
    with transaction.atomic():
        call = MarginCall.objects.select_for_update().get(pk=call.pk)
        before = {"note": call.note, "exception": call.exception}
        if note is not None:
            call.note = note
        if exception is not None:
            call.exception = bool(exception)
        after = {"note": call.note, "exception": call.exception}
        if after == before:
            return None
        call.save(update_fields=["note", "exception"])
        return MarginCallEvent.objects.create(
            call=call, kind=MarginCallEvent.Kind.NOTE, before=before, after=after, actor=user
        )


def open_calls_summary(
    calls=None, *, now: datetime | None = None, account_type: str | None = None
) -> dict:
    """MC-1 totals: count and sum of call amounts (合计追保金额), and of those open more than
    90 days (长期未结清追保金额). ``calls`` is the rows to total (a page's filtered rows; the
    open calls by default); ``account_type`` narrows to margin or intraday (MC-3)."""
    now = now or timezone.now()
    if calls is None:
        calls = MarginCall.objects.filter(status=MarginCall.Status.OPEN)
    calls = calls.order_by()
    if account_type:
        calls = calls.filter(account__type=account_type)
    long_open = Q(triggered_at__lt=now - LONG_OPEN)
    agg = calls.aggregate(
        n=Count("id"),
        total=Sum("call_amount"),
        long_n=Count("id", filter=long_open),
        long_total=Sum("call_amount", filter=long_open),
        force_n=Count("id", filter=Q(alert=MarginCall.Alert.FORCE_CLOSE)),
        exception_n=Count("id", filter=Q(exception=True)),
    )
    zero = Decimal("0.00")
    return {
        "count": agg["n"],
        "call_amount": agg["total"] or zero,
        "long_count": agg["long_n"],
        "long_call_amount": agg["long_total"] or zero,
        "force_close": agg["force_n"],
        "exceptions": agg["exception_n"],
    }


def hours_between(start: datetime, end: datetime | None = None) -> int:
    """已触发时长 (MC-1): ceil((end − start) / 1 hour), at least 1 — the seed: less than an hour
    counts as one hour."""
    end = end or timezone.now()
    return max(1, math.ceil((end - start).total_seconds() / 3600))


def triggered_hours(call: MarginCall, now: datetime | None = None) -> int:
    """The call's triggered duration; an ended call stops at its end."""
    end = now or call.ended_at or timezone.now()
    if call.ended_at is not None and call.ended_at < end:
        end = call.ended_at
    return hours_between(call.triggered_at, end)
