"""The risk monitor (MC-1, MC-3): tails the book's outbox and re-screens the touched accounts.

Every committed book event has an increasing id (``BookEvent`` is the outbox). The monitor
reads the events after ``MonitorCursor.last_event_id`` in id order, works out which accounts
each one touches (an account event → that account; a price → the holders of the instrument; an
FX rate → the accounts with cash or positions in the currency; an opening → every screened
account), re-screens each touched account once per batch with the engine, and writes the call
state and the new cursor in ONE transaction. A crash therefore re-processes the batch, and
re-processing changes nothing: the figures equal the stored ones, so no event is written.

The functions here are the SCALAR path: one ``account_risk`` (Decimal, from the database) per
touched account. It is the reference the arrays path is tested against, and what a small book
or a ``--scalar`` monitor runs. ``margincall.live`` is the arrays path (the whole book in
arrays, re-screened by the engine's kernels, with the same cursor, transactions and state
machine): ``run_forever`` and ``full_screen`` use it unless told ``scalar=True``.
"""

from __future__ import annotations

import logging
import time as clock
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from riskdesk.book.models import Account, BookEvent, CashBalance, Position
from riskdesk.margincall.models import MarginCall, MonitorCursor, RescreenRequest
from riskdesk.margincall.screening import SCREENED_TYPES, screen_account

log = logging.getLogger(__name__)

CURSOR = "default"
RESCREEN_CURSOR = "rescreen"
#: A missing id below a newer event may be a transaction that has not committed yet (ids are
#: handed out before commit); wait this long for it before taking it for a rolled-back one.
GAP_WAIT = timedelta(seconds=2)
CHUNK = 500

Kind = BookEvent.Kind
ACCOUNT_KINDS = frozenset(
    {
        Kind.DEPOSIT,
        Kind.WITHDRAWAL,
        Kind.TRANSFER_IN,
        Kind.TRADE_FILL,
        Kind.INTEREST_ACCRUAL,
        Kind.FX_CONVERSION,
    }
)


def _cursor(name: str = CURSOR) -> MonitorCursor:
    cursor, _ = MonitorCursor.objects.get_or_create(name=name)
    return cursor


def screened_accounts():
    return Account.objects.filter(type__in=SCREENED_TYPES, status=Account.Status.ACTIVE)


def touched_accounts(event: BookEvent) -> set[int]:
    """Ids of the accounts whose figures ``event`` may have changed."""
    kind, payload = event.kind, event.payload or {}
    if kind in ACCOUNT_KINDS:
        if event.account_id is not None:
            return {event.account_id}
        number = payload.get("account")
        return set(Account.objects.filter(number=number).values_list("id", flat=True))
    if kind == Kind.PRICE_UPDATE:
        codes = [tick["instrument"] for tick in payload.get("prices", ())]
        return holders(codes=codes)
    if kind == Kind.FX_UPDATE:
        currencies = [tick["currency"] for tick in payload.get("rates", ())]
        balances = CashBalance.objects.filter(currency__in=currencies).exclude(balance=0)
        positions = Position.objects.filter(instrument__currency__in=currencies).exclude(quantity=0)
        return set(balances.values_list("account_id", flat=True)) | set(
            positions.values_list("account_id", flat=True)
        )
    if kind == Kind.OPENING:
        return set(screened_accounts().values_list("id", flat=True))
    return set()


def holders(*, codes: Iterable[str] = (), instrument_ids: Iterable[int] = ()) -> set[int]:
    """Accounts holding (long or short) any of the instruments (Position index on instrument)."""
    q = Q(instrument__code__in=list(codes)) | Q(instrument_id__in=list(instrument_ids))
    return set(Position.objects.filter(q).exclude(quantity=0).values_list("account_id", flat=True))


def _pending(after: int, limit: int, now: datetime, model=BookEvent) -> list:
    """The next rows of an outbox in id order, stopping before an id gap that may still commit."""
    events = list(model.objects.filter(id__gt=after).order_by("id")[:limit])
    previous = after
    for n, event in enumerate(events):
        if previous and event.id != previous + 1 and now - event.created_at < GAP_WAIT:
            return events[:n]
        previous = event.id
    return events


def _screen(
    account_ids: dict[int, int | None], at: datetime, noted: set[int] | None = None
) -> dict[str, int]:
    """Re-screen each account once; ``account_ids`` maps account id → causing book event id.
    ``noted``: the accounts something happened to (an account event, new margin terms), whose
    figures-only changes go into their call's history (None: all of them)."""
    changes: dict[str, int] = {}
    accounts = Account.objects.filter(id__in=list(account_ids)).select_related("client")
    # Accounts that left the screened set still end their open call.
    for account in accounts.order_by("id"):
        kind = screen_account(
            account,
            at=at,
            book_event_id=account_ids[account.id],
            record=noted is None or account.id in noted,
        )
        if kind:
            changes[kind] = changes.get(kind, 0) + 1
    return changes


def process_events(limit: int = 1000, *, at: datetime | None = None) -> int:
    """Apply the pending book events; the number of events consumed (0: nothing to do)."""
    now = timezone.now()
    at = at or now
    start = _cursor().last_event_id
    events = _pending(start, limit, now)
    if not events:
        return 0
    touched: dict[int, int | None] = {}
    noted: set[int] = set()
    for event in events:
        accounts = touched_accounts(event)
        for account_id in accounts:
            touched[account_id] = event.id  # the last event of the batch that touched it
        if event.kind in ACCOUNT_KINDS or event.kind == Kind.OPENING:
            noted |= accounts
    with transaction.atomic():
        cursor = MonitorCursor.objects.select_for_update().get(name=CURSOR)
        if cursor.last_event_id != start:
            return 0  # another monitor moved on meanwhile; let it
        _screen(touched, at, noted)
        cursor.last_event_id = events[-1].id
        cursor.save(update_fields=["last_event_id"])
    log.info("monitor: %d event(s) → %d account(s) re-screened", len(events), len(touched))
    return len(events)


def rescreen_targets(request: RescreenRequest) -> set[int]:
    """Accounts a ratio change may move: holders of its instruments, its clients' screened
    accounts, and every active account of its account types."""
    ids = holders(instrument_ids=request.instrument_ids)
    if request.client_ids:
        ids |= set(
            screened_accounts()
            .filter(client_id__in=request.client_ids)
            .values_list("id", flat=True)
        )
    if request.account_types:
        ids |= set(
            screened_accounts().filter(type__in=request.account_types).values_list("id", flat=True)
        )
    return ids


def process_rescreens(limit: int = 200, *, at: datetime | None = None) -> int:
    """Apply pending ratio changes (RescreenRequest), like ``process_events`` applies book
    events: screen the accounts they may move and advance the cursor in one transaction."""
    now = timezone.now()
    at = at or now
    start = _cursor(RESCREEN_CURSOR).last_event_id
    requests = _pending(start, limit, now, RescreenRequest)
    if not requests:
        return 0
    touched: dict[int, int | None] = {}
    for request in requests:
        touched.update(dict.fromkeys(rescreen_targets(request)))
    with transaction.atomic():
        cursor = MonitorCursor.objects.select_for_update().get(name=RESCREEN_CURSOR)
        if cursor.last_event_id != start:
            return 0
        _screen(touched, at)
        cursor.last_event_id = requests[-1].id
        cursor.save(update_fields=["last_event_id"])
    log.info("monitor: %d ratio change(s) → %d account(s) re-screened", len(requests), len(touched))
    return len(requests)


def process_all(*, at: datetime | None = None, limit: int = 1000) -> int:
    """Process book events and ratio changes until nothing is pending; the number consumed."""
    total = 0
    while n := process_events(limit, at=at) + process_rescreens(at=at):
        total += n
    return total


def rescreen_accounts(account_ids: Iterable[int], *, at: datetime | None = None) -> dict[str, int]:
    """Re-screen these accounts now: for changes that raise no book event (ratios synced,
    client rules approved). Idempotent like every screen."""
    return _screen(dict.fromkeys(account_ids), at or timezone.now())


def rescreen_holders(
    instrument_ids: Iterable[int], *, at: datetime | None = None
) -> dict[str, int]:
    """Re-screen every account holding any of these instruments (a stock's ratio changed)."""
    return rescreen_accounts(holders(instrument_ids=instrument_ids), at=at)


def full_screen(
    at: datetime | None = None,
    *,
    chunk: int = CHUNK,
    progress: Callable[[int, int], None] | None = None,
    scalar: bool = False,
) -> int:
    """Screen every active margin and intraday account (and every account with an open call,
    so a closed one ends it), ``chunk`` accounts per transaction; the number screened.

    By default the book is loaded into arrays and screened by the engine's kernels
    (``live.LiveMonitor.full_screen``: only calls that differ are written); ``scalar`` screens
    account by account with the Decimal reference."""
    if not scalar:
        from riskdesk.margincall.live import LiveMonitor

        return LiveMonitor(at=at).full_screen(at, chunk=chunk, progress=progress, reload=False)
    at = at or timezone.now()
    open_ids = MarginCall.objects.filter(status=MarginCall.Status.OPEN).values_list(
        "account_id", flat=True
    )
    ids = sorted(set(screened_accounts().values_list("id", flat=True)) | set(open_ids))
    for first in range(0, len(ids), chunk):
        part = ids[first : first + chunk]
        with transaction.atomic():
            _screen(dict.fromkeys(part), at, noted=set())
        if progress is not None:
            progress(min(first + chunk, len(ids)), len(ids))
    MonitorCursor.objects.update_or_create(name=CURSOR, defaults={"full_screen_at": at})
    return len(ids)


def run_forever(poll: float = 0.5, *, scalar: bool = False) -> None:
    """Full screen on start, then apply book events as they commit. The daily full re-screen
    and daily snapshots run as the scheduler's job (``margincall.tasks.daily_screen_task``).
    The arrays path (``live.run_forever``) unless ``scalar``."""
    if not scalar:
        from riskdesk.margincall import live

        live.run_forever(poll)
        return
    log.warning("monitor: full screen of %d account(s)", full_screen(scalar=True))
    while True:
        try:
            n = process_events() + process_rescreens()
        except Exception:  # a database hiccup must not stop the monitor; the cursor holds
            log.exception("monitor: batch failed; retrying")
            n = 0
            clock.sleep(max(poll, 2.0))
        if not n:
            clock.sleep(poll)
