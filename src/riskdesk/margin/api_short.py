"""Short margin endpoints (MR-4): read, submit a change request (one stock or a batch), and
lending-pool updates from the securities-lending desk."""

from typing import Any, Literal

from ninja import Query, Router, Schema, Status
from pydantic import Field

from riskdesk.approvals.api import SUBMIT_RESPONSES, ErrorOut, submit_change
from riskdesk.book.models import Instrument
from riskdesk.margin import short_services
from riskdesk.margin.models import ShortMargin
from riskdesk.margin.short_flows import BATCH_FLOW, FLOW, row_for
from riskdesk.margin.short_imports import pending_for
from riskdesk.site.api import require

router = Router(tags=["margin"])

VIEW = "margin.view_shortmargin"
CHANGE = "margin.change_shortmargin"
POOL = "margin.update_lending_pool"


class ShortOut(Schema):
    code: str
    name: str
    market: str
    im: str
    mcm: str
    mm: str
    fm: str
    shortable: str = Field(
        description="allowed | forbidden (by hand) | system_forbidden (lending pool)"
    )
    status_reason: str = Field(description="Why the status is what it is")
    pool_qty: int | None = Field(description="Last reported lending pool (融券池)")
    auto_close_qty: int | None
    auto_restore_qty: int | None
    pending_request: int | None = Field(None, description="A pending change of this stock")


class ShortFilters(Schema):
    market: str | None = None
    shortable: Literal["allowed", "forbidden", "system_forbidden"] | None = None
    code: str | None = Field(None, description="Code prefix")
    limit: int = Field(100, ge=1, le=1000)
    after: str | None = Field(None, description="Page: stocks with a code after this one")


class ShortIn(Schema):
    """Only the fields sent change; the rest stay as they are (a new stock needs the four factors)."""

    im: str | None = Field(None, description="Initial margin factor, e.g. 0.5")
    mcm: str | None = None
    mm: str | None = None
    fm: str | None = None
    shortable: Literal["allowed", "forbidden", "system_forbidden"] | None = Field(
        None, description="allowed or forbidden; system_forbidden only to keep the system's status"
    )
    auto_close_qty: int | None = Field(None, description="null: no auto-close rule")
    auto_restore_qty: int | None = Field(None, description="≥ auto_close_qty; null: no rule")
    note: str = Field("", max_length=500)


class BatchIn(Schema):
    rows: list[dict[str, Any]] = Field(
        description="One object per stock: code, im, mcm, mm, fm, shortable, auto_close_qty, auto_restore_qty"
    )
    note: str = Field("", max_length=500)


class PoolIn(Schema):
    quantity: int = Field(ge=0, description="Shares available to borrow now")
    source: str = Field(
        min_length=1, max_length=40, description="Who reports it, e.g. lending-desk"
    )


class PoolOut(Schema):
    code: str
    pool_qty: int
    shortable: str
    status_reason: str


def _out(row: ShortMargin) -> dict:
    pending = pending_for(row.instrument.code)
    return {
        "code": row.instrument.code,
        "name": row.instrument.name,
        "market": row.instrument.market,
        "im": f"{row.im:.4f}",
        "mcm": f"{row.mcm:.4f}",
        "mm": f"{row.mm:.4f}",
        "fm": f"{row.fm:.4f}",
        "shortable": row.shortable,
        "status_reason": row.status_reason,
        "pool_qty": row.pool_qty,
        "auto_close_qty": row.auto_close_qty,
        "auto_restore_qty": row.auto_restore_qty,
        "pending_request": pending.pk if pending else None,
    }


def _error(status: int, field: str, reason: str, request_id: int | None = None):
    return Status(status, {"field": field, "reason": reason, "request_id": request_id})


ERRORS = {403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


@router.get("/short", response=list[ShortOut], summary="List short margin (MR-4), by code")
def list_short(request, filters: Query[ShortFilters]):
    require(request, VIEW)
    qs = ShortMargin.objects.select_related("instrument").order_by("instrument__code")
    if filters.market:
        qs = qs.filter(instrument__market=filters.market)
    if filters.shortable:
        qs = qs.filter(shortable=filters.shortable)
    if filters.code:
        qs = qs.filter(instrument__code__istartswith=filters.code)
    if filters.after:
        qs = qs.filter(instrument__code__gt=filters.after)
    return [_out(row) for row in qs[: filters.limit]]


@router.post(
    "/short-batch",
    response=SUBMIT_RESPONSES,
    summary="Submit one change request for a batch of stocks",
    description="Every row is checked as a one-stock change; one bad row refuses the whole batch "
    "(422, the field names the row: `rows.3.auto_restore_qty`). Nothing changes until approved.",
)
def submit_batch(request, body: BatchIn):
    require(request, CHANGE)
    return submit_change(
        request, flow=BATCH_FLOW, target=None, payload={"rows": body.rows}, note=body.note
    )


@router.get(
    "/short/{code}",
    response={200: ShortOut, 404: ErrorOut},
    summary="Read a stock's short margin, status and why",
)
def read_short(request, code: str):
    require(request, VIEW)
    row = row_for(code)
    if row is None:
        return _error(404, "code", f"no short margin for {code}")
    return _out(row)


@router.post(
    "/short/{code}",
    response=SUBMIT_RESPONSES,
    summary="Submit a change request for a stock's short margin",
    description="Creates the stock's short margin when it has none. The change takes effect "
    "when approved (see /approvals). 422 names the field at fault, e.g. `auto_restore_qty` "
    "when it is below `auto_close_qty`; 409 when a request is already pending or nothing "
    "would change.",
)
def submit_short(request, code: str, body: ShortIn):
    require(request, CHANGE)
    if not Instrument.objects.filter(code=code).exists():
        return _error(404, "code", f"no stock {code}")
    payload = body.dict(exclude_unset=True)
    note = payload.pop("note", "")
    target = row_for(code)
    if target is None:
        payload["code"] = code
    return submit_change(request, flow=FLOW, target=target, payload=payload, note=note)


@router.post(
    "/short/{code}/pool",
    response={200: PoolOut, **ERRORS},
    summary="Report a stock's lending pool (融券池); the status follows the pool rule",
    description="At or below the auto-close quantity an allowed stock becomes system_forbidden; "
    "at or above the auto-restore quantity a system_forbidden stock is allowed again; a stock "
    "forbidden by hand stays forbidden. The same quantity twice changes nothing. "
    "Needs margin.update_lending_pool.",
)
def update_pool(request, code: str, body: PoolIn):
    require(request, POOL)
    try:
        row = short_services.update_pool(
            code, body.quantity, source=body.source, actor=request.user
        )
    except short_services.PoolError as exc:
        return _error(exc.status, exc.field, exc.reason)
    return {
        "code": code,
        "pool_qty": row.pool_qty,
        "shortable": row.shortable,
        "status_reason": row.status_reason,
    }
