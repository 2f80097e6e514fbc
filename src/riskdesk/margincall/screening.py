"""Screening one account and the margin-call state machine (MC-1, MC-3, MC-4, MC-5).

``screen`` computes the account's figures through ``margin.figures.account_risk`` (the engine's
Decimal reference: the same figures as `riskdesk calc margin`). ``transition`` applies them to
the account's call in one transaction:

    no open call, alert ≠ none        → open (event "open", snapshot "triggered")
    open call, alert none             → end (event "end" with before/after, snapshot "ended")
    open, margin_call → force_close   → "escalate" (snapshot "force")
    open, force_close → margin_call   → "deescalate"
    open, same alert, figures changed → "update" (before/after) when something happened to
                                        the account (``record``: a fill, cash, a ratio
                                        change); a market move only refreshes the call's
                                        figures ("refresh": no history event)
    open, nothing changed             → nothing written

so applying the same figures twice changes nothing (the monitor's idempotence rests on it).
Cash accounts are never in call; closed accounts end any open call.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction

from riskdesk.book.models import Account
from riskdesk.calendars.selectors import next_trading_day
from riskdesk.engine.margin import NONE, AccountFigures
from riskdesk.engine.money import ZERO, fmt_amount, fmt_ratio
from riskdesk.jobs.scheduler import MARKET_ZONES
from riskdesk.margin.figures import AccountRisk, account_risk
from riskdesk.margincall import snapshots
from riskdesk.margincall.models import MarginCall, MarginCallEvent, MarginCallSnapshot

#: The market whose trading days count a call's deadline. Decision: every account is the
#: firm's home market (HK) account; accounts carry no market of their own yet.
HOME_MARKET = "HK"
#: What ``transition`` returns for a figures-only change written without a history event.
REFRESH = "refresh"
#: Accounts the monitor screens (cash accounts never borrow, so are never in call).
SCREENED_TYPES = (Account.Type.MARGIN, Account.Type.INTRADAY)
#: The figure columns of a call, in the order the before/after documents list them.
FIGURE_FIELDS = (
    "call_amount",
    "equity",
    "lna",
    "nar",
    "req_im",
    "req_mcm",
    "req_mm",
    "req_fm",
    "loan",
    "cash",
    "market_value",
    "trading_credit",
)

Kind = MarginCallEvent.Kind
Reason = MarginCallSnapshot.Reason


def screen(account, *, at: datetime) -> AccountFigures:
    """The account's engine figures at ``at`` (ratios resolved at that moment)."""
    return account_risk(account, at=at).figures


def columns(figures: AccountFigures, *, trading_credit: Decimal = ZERO) -> dict[str, Any]:
    """The call's figure columns from engine figures (base currency).

    market_value is the net market value, long + short (short_mv is negative); credit_limit is
    left empty because ``account_risk`` applies no credit limit (over-financing 0)."""
    return {
        "call_amount": figures.call_amount,
        "equity": figures.equity,
        "lna": figures.lna,
        "nar": figures.nar,
        "req_im": figures.req.im,
        "req_mcm": figures.req.mcm,
        "req_mm": figures.req.mm,
        "req_fm": figures.req.fm,
        "loan": figures.loan,
        "cash": figures.cash,
        "market_value": figures.long_mv + figures.short_mv,
        "trading_credit": trading_credit,
    }


def _state(alert: str, cols: dict[str, Any]) -> dict[str, str]:
    """A before/after document: the alert and every figure as `calc margin` writes it
    (amounts 2 dp, the ratio 6 dp)."""
    doc = {"alert": alert}
    for name in FIGURE_FIELDS:
        value = Decimal(cols[name])
        doc[name] = fmt_ratio(value) if name == "nar" else fmt_amount(value)
    return doc


def call_state(call: MarginCall) -> dict[str, str]:
    return _state(call.alert, {name: getattr(call, name) for name in FIGURE_FIELDS})


def _same(call: MarginCall, cols: dict[str, Any]) -> bool:
    return all(Decimal(getattr(call, name)) == Decimal(cols[name]) for name in FIGURE_FIELDS)


def deadline(at: datetime) -> Any:
    """``RISKDESK_CALL_DEADLINE_DAYS`` trading days of the home market after ``at``'s local date."""
    return next_trading_day(HOME_MARKET, home_date(at), settings.RISKDESK_CALL_DEADLINE_DAYS)


def home_date(at: datetime) -> Any:
    """``at``'s date in the home market (what a call's deadline counts from)."""
    return at.astimezone(MARKET_ZONES[HOME_MARKET]).date()


def _open_call(account) -> MarginCall | None:
    return (
        MarginCall.objects.select_for_update()
        .filter(account=account, status=MarginCall.Status.OPEN)
        .first()
    )


def _end(call: MarginCall, *, at, book_event_id, after: dict[str, str] | None) -> str:
    before = call_state(call)
    call.status = MarginCall.Status.ENDED
    call.ended_at = at
    call.updated_at = at
    call.save(update_fields=["status", "ended_at", "updated_at"])
    MarginCallEvent.objects.create(
        call=call, kind=Kind.END, at=at, before=before, after=after, book_event_id=book_event_id
    )
    return Kind.END


def transition(
    account,
    figures: AccountFigures,
    *,
    at: datetime,
    book_event_id: int | None = None,
    risk: AccountRisk | None = None,
    record: bool = True,
) -> str | None:
    """Apply ``figures`` (the account's at ``at``) to its call; the event kind written, or None.

    ``risk`` (the ``account_risk`` the figures came from) saves recomputing it for snapshots.
    ``record``: a figures-only change is an "update" event in the call's history (MC-4);
    False (prices or FX moved, nothing happened to the account) refreshes the call's figures
    without one and returns REFRESH.
    """
    trading_credit = risk.trading_credit if risk is not None else ZERO
    cols = columns(figures, trading_credit=trading_credit)
    with transaction.atomic():
        # Lock the account: two writers (monitor, daily task) serialise per account.
        Account.objects.select_for_update().filter(pk=account.pk).first()
        call = _open_call(account)
        alert = figures.alert
        if call is None:
            if alert == NONE:
                return None
            call = MarginCall.objects.create(
                account=account,
                alert=alert,
                triggered_at=at,
                deadline=deadline(at),
                updated_at=at,
                **cols,
            )
            MarginCallEvent.objects.create(
                call=call,
                kind=Kind.OPEN,
                at=at,
                before=None,
                after=_state(alert, cols),
                book_event_id=book_event_id,
            )
            snapshots.take(call, Reason.TRIGGERED, at=at, risk=risk)
            return Kind.OPEN
        if alert == NONE:
            kind = _end(call, at=at, book_event_id=book_event_id, after=_state(alert, cols))
            snapshots.take(call, Reason.ENDED, at=at, risk=risk)
            return kind
        if alert == call.alert and _same(call, cols):
            return None
        before = call_state(call)
        if alert == call.alert:
            kind = Kind.UPDATE
        elif alert == MarginCall.Alert.FORCE_CLOSE:
            kind = Kind.ESCALATE
        else:
            kind = Kind.DEESCALATE
        call.alert = alert
        call.updated_at = at
        for name, value in cols.items():
            setattr(call, name, value)
        call.save()
        if kind == Kind.UPDATE and not record:
            return REFRESH
        MarginCallEvent.objects.create(
            call=call,
            kind=kind,
            at=at,
            before=before,
            after=_state(alert, cols),
            book_event_id=book_event_id,
        )
        if kind == Kind.ESCALATE:
            snapshots.take(call, Reason.FORCE, at=at, risk=risk)
        return kind


def screen_account(
    account, *, at: datetime, book_event_id: int | None = None, record: bool = True
) -> str | None:
    """Screen one account and apply the state machine. Cash and closed accounts are not
    screened; an open call they still carry (the account was closed or changed type) ends.

    The account row is locked before its figures are read, so two writers (the monitor and the
    daily task) never apply stale figures over fresh ones."""
    with transaction.atomic():
        account = Account.objects.select_for_update().select_related("client").get(pk=account.pk)
        if account.type not in SCREENED_TYPES or account.status != Account.Status.ACTIVE:
            call = _open_call(account)
            if call is None:
                return None
            kind = _end(call, at=at, book_event_id=book_event_id, after=None)
            snapshots.take(call, Reason.ENDED, at=at)
            return kind
        risk = account_risk(account, at=at)
        return transition(
            account, risk.figures, at=at, book_event_id=book_event_id, risk=risk, record=record
        )
