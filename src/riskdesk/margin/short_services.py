"""空头保证金 (MR-4): the lending-pool rule, pool updates from the securities-lending desk, and
whether a stock may be sold short now (pre-trade).

The rule, applied whenever the pool or the rule changes (a pool update, or an approved change):

* allowed and pool ≤ auto-close quantity → system-forbidden ("lending pool 800 ≤ auto-close 1,000");
* system-forbidden and pool ≥ auto-restore quantity → allowed ("lending pool 5,000 ≥ auto-restore 4,000");
* system-forbidden with no rule at all → allowed ("no lending-pool rule");
* forbidden by hand → stays forbidden whatever the pool.

Between the two quantities the status does not move (auto-restore ≥ auto-close, so a pool that
hovers around one threshold does not flap). A pool update is a system event, not a
configuration change: it is written inside ``governed.seeding`` with the pool, its source and
the reason, which the change records (变更记录) show beside the row.
"""

from django.db import transaction

from riskdesk.approvals.governed import seeding
from riskdesk.margin.models import Shortable, ShortMargin

SOURCE_MAX = 40


class PoolError(ValueError):
    """A refused pool update: ``field``, ``reason`` and the HTTP status the API answers."""

    def __init__(self, field: str, reason: str, *, status: int = 422):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
        self.status = status


def pool_rule(row: ShortMargin) -> tuple[str, str] | None:
    """The (status, reason) the pool rule moves ``row`` to, or None when it stays as it is."""
    pool, close, restore = row.pool_qty, row.auto_close_qty, row.auto_restore_qty
    if row.shortable == Shortable.ALLOWED:
        if pool is not None and close is not None and pool <= close:
            return Shortable.SYSTEM_FORBIDDEN, f"lending pool {pool:,} ≤ auto-close {close:,}"
    elif row.shortable == Shortable.SYSTEM_FORBIDDEN:
        if close is None and restore is None:
            return Shortable.ALLOWED, "no lending-pool rule"
        if pool is not None and restore is not None and pool >= restore:
            return Shortable.ALLOWED, f"lending pool {pool:,} ≥ auto-restore {restore:,}"
    return None


def apply_pool_rule(row: ShortMargin) -> str | None:
    """Move ``row`` (unsaved) as the pool rule says; the reason when it moved."""
    moved = pool_rule(row)
    if moved is None:
        return None
    row.shortable, row.status_reason = moved
    return moved[1]


def _quantity(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise PoolError("quantity", "a whole number of shares")
    if value < 0:
        raise PoolError("quantity", "must not be negative")
    return value


def update_pool(code: str, quantity: int, *, source: str, actor=None) -> ShortMargin:
    """Record the lending pool (融券池) of a stock reported by ``source`` and apply the rule.

    The same quantity twice changes nothing (no second change record). A stock with no short
    margin ratio is refused: set its ratio and rule first (PoolError, status 404 for an unknown
    stock, 409 for a stock without a short margin ratio).
    """
    quantity = _quantity(quantity)
    source = (source or "").strip()
    if not source:
        raise PoolError("source", "say where the quantity comes from (e.g. lending desk)")
    if len(source) > SOURCE_MAX:
        raise PoolError("source", f"at most {SOURCE_MAX} characters")
    with transaction.atomic():
        row = (
            ShortMargin.objects.select_for_update()
            .select_related("instrument")
            .filter(instrument__code=code)
            .first()
        )
        if row is None:
            from riskdesk.book.models import Instrument

            if not Instrument.objects.filter(code=code).exists():
                raise PoolError("code", f"no stock {code}", status=404)
            raise PoolError(
                "code",
                f"{code} has no short margin ratio; set its ratio and pool rule first",
                status=409,
            )
        if row.pool_qty == quantity:
            return row
        row.pool_qty = quantity
        moved = apply_pool_rule(row)
        why = f"lending pool {quantity:,} ({source})" + (f": {moved}" if moved else "")
        if actor is not None:
            row._history_user = actor
        with seeding(why):
            row.save()
    return row


def is_shortable(instrument) -> bool:
    """May this stock be sold short now (pre-trade)? Only with a short margin ratio whose status
    is allowed; forbidden by hand, forbidden by the system or no ratio: no."""
    from riskdesk.book.models import Instrument

    filt = {"instrument__code": instrument} if isinstance(instrument, str) else {}
    if isinstance(instrument, Instrument):
        filt = {"instrument": instrument}
    elif not filt:
        filt = {"instrument_id": instrument}
    return ShortMargin.objects.filter(**filt, shortable=Shortable.ALLOWED).exists()


def status_of(row: ShortMargin | None) -> tuple[str, str]:
    """(status, why) for display; a stock with no ratio cannot be sold short."""
    if row is None:
        return "none", "no short margin ratio"
    return row.shortable, row.status_reason
