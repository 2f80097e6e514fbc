"""Setting records (设置记录, MR-3): an approved MR-1 / MR-2 change waits here as 未触发 (pending)
until 同步 (``sync``) applies it now, 取消同步 (``revoke``) drops it, or its effective date comes
(``trigger_due``, run each HK trading morning by the scheduler).

Applying a record writes the ratio in force (``StockMargin`` / ``IntradayMargin``) inside
``approvals.governed.applying(request_id)``, so the ratio's history names the request that
approved it. Each record is applied at most once: its row is locked and claimed by a
conditional update, so a double click or a sync racing the scheduler triggers it once.
"""

from datetime import date

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from riskdesk.approvals.governed import applying
from riskdesk.book.models import Instrument
from riskdesk.margin.factors import FIELDS, as_factors, of
from riskdesk.margin.models import IntradayMargin, MarginSetting, StockMargin

Book = MarginSetting.Book
Action = MarginSetting.Action
Status = MarginSetting.Status
SYNC_PERMISSION = "margin.sync_marginsetting"

# The ratio table each book writes.
MODELS = {Book.LONG: StockMargin, Book.INTRADAY: IntradayMargin}


class SettingError(Exception):
    """A refused action on a setting record, with a reason fit to show the user."""


def create(
    *,
    book: str,
    instrument,
    action: str,
    factors: dict | None,
    effective_date: date,
    request_id: int,
) -> MarginSetting:
    """A pending record for an approved change (called by the flows' ``apply``)."""
    if book not in MODELS:
        raise ValueError(f"unknown book {book}")
    if action not in Action.values:
        raise ValueError(f"unknown action {action}")
    return MarginSetting.objects.create(
        book=book,
        instrument=instrument,
        action=action,
        factors=({f: factors[f] for f in FIELDS} if action == Action.SET else None),
        effective_date=effective_date,
        request_id=request_id,
    )


def in_force(book: str, instrument_id: int) -> dict | None:
    """The ratio of this book in force for the stock now (None: no ratio, 100%)."""
    return of(MODELS[book].objects.filter(instrument_id=instrument_id).first())


def _pk(setting) -> int:
    return setting.pk if isinstance(setting, MarginSetting) else int(setting)


def _locked(pk: int) -> MarginSetting:
    try:
        return MarginSetting.objects.select_for_update().get(pk=pk)
    except MarginSetting.DoesNotExist:
        raise SettingError(_("no setting record #%(n)s") % {"n": pk}) from None


def _not_pending(setting: MarginSetting) -> SettingError:
    return SettingError(
        _("setting record #%(n)s is %(s)s; only a record not yet triggered can be changed")
        % {"n": setting.pk, "s": setting.get_status_display().lower()}
    )


def _may_sync(user) -> None:
    if not user.has_perm(SYNC_PERMISSION):
        raise SettingError(_("your role may not synchronise or revoke setting records"))


@transaction.atomic
def _trigger(pk: int, user) -> MarginSetting:
    setting = _locked(pk)
    if setting.status != Status.PENDING:
        raise _not_pending(setting)
    # One writer per stock at a time: two records of the same stock never interleave.
    Instrument.objects.select_for_update().filter(pk=setting.instrument_id).first()
    model = MODELS[setting.book]
    row = model.objects.filter(instrument_id=setting.instrument_id).first()
    before = of(row)
    now = timezone.now()
    claimed = MarginSetting.objects.filter(pk=pk, status=Status.PENDING).update(
        status=Status.TRIGGERED, before=before, acted_by=user, acted_at=now
    )
    if claimed != 1:  # another worker claimed it between the lock and here (SQLite)
        raise _not_pending(setting)
    with applying(setting.request_id):
        if setting.action == Action.SET:
            factors = as_factors(setting.factors)
            if row is None:
                row = model(instrument_id=setting.instrument_id)
            row.im, row.mcm, row.mm, row.fm = factors.as_tuple()
            row._history_user = user
            row.save()
        elif row is not None:
            row._history_user = user
            row.delete()
    setting.refresh_from_db()
    return setting


def sync(setting, user) -> MarginSetting:
    """同步: apply a pending record now (已触发), whatever its effective date."""
    _may_sync(user)
    return _trigger(_pk(setting), user)


@transaction.atomic
def revoke(setting, user) -> MarginSetting:
    """取消同步: a pending record never takes effect (已撤销)."""
    _may_sync(user)
    locked = _locked(_pk(setting))
    if locked.status != Status.PENDING:
        raise _not_pending(locked)
    locked.status = Status.REVOKED
    locked.acted_by = user
    locked.acted_at = timezone.now()
    locked.save(update_fields=["status", "acted_by", "acted_at"])
    return locked


def trigger_due(today: date | None = None) -> list[int]:
    """Apply every pending record whose effective date is ``today`` or earlier, oldest first
    (so a later approval of the same stock wins). Idempotent; a record synchronised or revoked
    meanwhile is skipped. Returns the ids applied."""
    today = today or timezone.localdate()
    due = list(
        MarginSetting.objects.filter(status=Status.PENDING, effective_date__lte=today)
        .order_by("id")
        .values_list("id", flat=True)
    )
    applied = []
    for pk in due:
        try:
            _trigger(pk, None)
        except SettingError:
            continue
        applied.append(pk)
    return applied


def pending_for(book: str, instrument_id: int):
    return MarginSetting.objects.filter(
        book=book, instrument_id=instrument_id, status=Status.PENDING
    ).order_by("effective_date", "id")
