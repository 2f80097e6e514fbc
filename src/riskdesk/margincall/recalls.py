"""MC-9 空头股票追收: the short stock positions to recall, found once a day (not in real time).

A client's short position in a stock must be bought back when the broker can no longer borrow
the stock for it (MR-4), that is when the stock has
- no short margin at all (``no_short_margin``: it was never, or is no longer, lendable),
- a shortable status other than "allowed" (``not_shortable``: forbidden by hand, or by the
  system when the lending pool fell to its auto-close quantity), or
- a reported lending pool below the quantity all clients are short (``pool_short``).
The first that applies is the row's reason. Every account short in such a stock gets a row
with its whole short quantity and its market value in base currency.

``run(run_date)`` replaces that date's rows in one transaction, so re-running a date (the job
retried, or run by hand) leaves exactly one list per date. The scheduler runs it each HK
trading day (job "short-recall").
"""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone
from django_tasks import task

from riskdesk.book.models import Instrument, Position
from riskdesk.book.selectors import fx_table
from riskdesk.engine.margin import market_value
from riskdesk.jobs.models import JobRun
from riskdesk.margin.models import Shortable, ShortMargin
from riskdesk.margincall.models import ShortRecall

#: What is lent and sold short: stocks and ETFs (a short option is written, not borrowed).
SHORT_KINDS = (Instrument.Kind.STOCK, Instrument.Kind.ETF)
Reason = ShortRecall.Reason


def short_stock_positions():
    """Every short position in a stock or ETF."""
    return Position.objects.filter(quantity__lt=0, instrument__kind__in=SHORT_KINDS)


def recall_reason(short_margin: ShortMargin | None, total_short: int) -> str | None:
    """Why every short position in a stock must be recalled, or None when it may stay."""
    if short_margin is None:
        return Reason.NO_SHORT_MARGIN
    if short_margin.shortable != Shortable.ALLOWED:
        return Reason.NOT_SHORTABLE
    if short_margin.pool_qty is not None and short_margin.pool_qty < total_short:
        return Reason.POOL_SHORT
    return None


def compute(run_date: date) -> list[ShortRecall]:
    """The day's recall rows (not saved), by stock code then account number."""
    totals = dict(
        short_stock_positions()
        .values("instrument_id")
        .annotate(total=Sum(F("quantity") * -1))
        .values_list("instrument_id", "total")
    )
    if not totals:
        return []
    instruments = Instrument.objects.select_related("price").in_bulk(list(totals))
    margins = {m.instrument_id: m for m in ShortMargin.objects.filter(instrument_id__in=totals)}
    reasons = {}
    for instrument_id, total in totals.items():
        reason = recall_reason(margins.get(instrument_id), total)
        if reason is not None:
            reasons[instrument_id] = reason
    if not reasons:
        return []
    fx = fx_table()
    rows = []
    positions = (
        short_stock_positions()
        .filter(instrument_id__in=list(reasons))
        .order_by("instrument__code", "account__number")
        .values_list("account_id", "instrument_id", "quantity")
    )
    for account_id, instrument_id, quantity in positions.iterator(chunk_size=2000):
        inst = instruments[instrument_id]
        margin = margins.get(instrument_id)
        price = getattr(inst, "price", None)
        rate = fx.get(inst.currency)
        mv = None
        if price is not None and rate is not None:
            mv = market_value(-quantity, price.last, inst.multiplier, rate)
        rows.append(
            ShortRecall(
                run_date=run_date,
                account_id=account_id,
                instrument_id=instrument_id,
                quantity=-quantity,
                market_value=mv,
                reason=reasons[instrument_id],
                shortable=margin.shortable if margin else "",
                pool_qty=margin.pool_qty if margin else None,
                total_short=totals[instrument_id],
            )
        )
    return rows


def today() -> date:
    from riskdesk.jobs.scheduler import MARKET_ZONES

    return timezone.now().astimezone(MARKET_ZONES["HK"]).date()


def run(run_date: date | None = None) -> dict:
    """Compute ``run_date``'s list (today in Hong Kong by default) and replace that date's rows
    with it, in one transaction."""
    run_date = run_date or today()
    with transaction.atomic():
        rows = compute(run_date)
        removed, _detail = ShortRecall.objects.filter(run_date=run_date).delete()
        ShortRecall.objects.bulk_create(rows, batch_size=1000)
    return {"run_date": run_date.isoformat(), "rows": len(rows), "replaced": removed}


@task()
def short_recall_task(run_id: int) -> dict:
    """Each HK trading day at the set time (scheduler job "short-recall")."""
    job_run = JobRun.objects.get(pk=run_id)
    JobRun.objects.filter(pk=run_id).update(status=JobRun.Status.RUNNING)
    try:
        result = run(job_run.run_date)
    except Exception as exc:
        JobRun.objects.filter(pk=run_id).update(
            status=JobRun.Status.FAILED,
            result={"error": f"{type(exc).__name__}: {exc}"[:2000]},
            finished_at=timezone.now(),
        )
        raise
    JobRun.objects.filter(pk=run_id).update(
        status=JobRun.Status.DONE, result=result, finished_at=timezone.now()
    )
    return result
