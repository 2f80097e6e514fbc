"""Stock margin endpoints: long ratios (MR-1), intraday ratios and rules (MR-2), setting records
(MR-3). Reads, and change requests that go through the approval centre; an approved ratio
change becomes a setting record, applied by /settings/{id}/sync or on its effective date."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from django.utils import timezone
from ninja import Query, Router, Schema, Status
from pydantic import Field

from riskdesk.approvals import selectors as approvals
from riskdesk.approvals.api import SUBMIT_RESPONSES, ErrorOut, submit_change
from riskdesk.book.models import Instrument
from riskdesk.margin import settings_records
from riskdesk.margin.factors import of
from riskdesk.margin.intraday import intraday_active
from riskdesk.margin.models import IntradayRule, MarginSetting
from riskdesk.margin.resolution import EXCLUDED
from riskdesk.margin.stock_flows import (
    INTRADAY,
    LONG,
    RULE_MARKETS,
    IntradayRuleChange,
    RatioBook,
)
from riskdesk.site.api import require

router = Router(tags=["margin"])

VIEW = {LONG.key: "margin.view_stockmargin", INTRADAY.key: "margin.view_intradaymargin"}
VIEW_RULE = "margin.view_intradayrule"
VIEW_SETTING = "margin.view_marginsetting"


class FactorsOut(Schema):
    im: str
    mcm: str
    mm: str
    fm: str


class RatioOut(Schema):
    code: str
    name: str
    market: str
    status: str = Field(description="The stock's status in the book (normal, suspended, …)")
    im: str
    mcm: str
    mm: str
    fm: str
    pending_settings: int = Field(description="Setting records not yet triggered")


class SettingOut(Schema):
    id: int
    book: str = Field(description="long | intraday")
    code: str
    action: str = Field(description="set | delete")
    before: dict[str, str] | None = Field(description="The ratio in force when triggered")
    after: dict[str, str] | None = Field(description="The new ratio (null: delete)")
    effective_date: date
    status: str = Field(description="pending (未触发) | triggered (已触发) | revoked (已撤销)")
    request_id: int
    created_at: datetime
    acted_by: str | None
    acted_at: datetime | None


class RatioDetailOut(Schema):
    code: str
    name: str
    market: str
    status: str
    marginable: bool = Field(description="False when delisted / long suspended or no ratio")
    ratio: FactorsOut | None = Field(description="The ratio in force (null: none, 100%)")
    active_now: bool | None = Field(None, description="Intraday only: the market's rule is active")
    pending_settings: list[SettingOut]
    pending_request: int | None


class RatioFilters(Schema):
    market: str | None = None
    code: str | None = Field(None, description="Code prefix")
    status: str | None = Field(None, description="Stock status in the book")
    im_min: Decimal | None = None
    im_max: Decimal | None = None
    mm_min: Decimal | None = None
    mm_max: Decimal | None = None
    limit: int = Field(100, ge=1, le=1000)
    after: str | None = Field(None, description="Page: stocks with a code after this one")


class RatioIn(Schema):
    action: Literal["set", "delete"] = "set"
    im: str | None = Field(None, description="Initial margin factor, e.g. 0.5 (set)")
    mcm: str | None = None
    mm: str | None = None
    fm: str | None = None
    effective_date: date | None = Field(
        None, description="Today or later; null: the day the request is approved"
    )
    note: str = Field("", max_length=500)


class BatchIn(Schema):
    rows: list[dict[str, Any]] = Field(
        description="One object per stock: code, im, mcm, mm, fm, effective_date (optional)"
    )
    note: str = Field("", max_length=500)


class RuleOut(Schema):
    market: str
    exists: bool = Field(description="False: no rule yet, intraday ratios never active")
    enabled: bool
    starts_after_open: int
    ends_before_close: int
    active_now: bool
    pending_request: int | None


class RuleIn(Schema):
    enabled: bool = True
    starts_after_open: int = Field(description="Minutes after the open")
    ends_before_close: int = Field(description="Minutes before the close (the early close)")
    note: str = Field("", max_length=500)


class SettingFilters(Schema):
    status: Literal["pending", "triggered", "revoked"] | None = None
    book: Literal["long", "intraday"] | None = None
    code: str | None = Field(None, description="Code prefix")
    request_id: int | None = None
    limit: int = Field(100, ge=1, le=500)
    before_id: int | None = Field(None, description="Page: records with a smaller id")


ERRORS = {403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


def _error(status: int, field: str, reason: str, request_id: int | None = None):
    return Status(status, {"field": field, "reason": reason, "request_id": request_id})


def _setting_out(s: MarginSetting) -> dict:
    return {
        "id": s.pk,
        "book": s.book,
        "code": s.instrument.code,
        "action": s.action,
        "before": s.before,
        "after": s.factors,
        "effective_date": s.effective_date,
        "status": s.status,
        "request_id": s.request_id,
        "created_at": s.created_at,
        "acted_by": s.acted_by.username if s.acted_by else None,
        "acted_at": s.acted_at,
    }


# --- ratios (MR-1, MR-2) ----------------------------------------------------------------------


def _list(request, book: RatioBook, filters: RatioFilters) -> list[dict]:
    require(request, VIEW[book.key])
    qs = book.model.objects.select_related("instrument").order_by("instrument__code")
    if filters.market:
        qs = qs.filter(instrument__market=filters.market)
    if filters.code:
        qs = qs.filter(instrument__code__istartswith=filters.code)
    if filters.status:
        qs = qs.filter(instrument__status=filters.status)
    for name, lookup in (
        ("im_min", "im__gte"),
        ("im_max", "im__lte"),
        ("mm_min", "mm__gte"),
        ("mm_max", "mm__lte"),
    ):
        value = getattr(filters, name)
        if value is not None:
            qs = qs.filter(**{lookup: value})
    if filters.after:
        qs = qs.filter(instrument__code__gt=filters.after)
    rows = list(qs[: filters.limit])
    pending: dict[int, int] = {}
    for instrument_id in MarginSetting.objects.filter(
        book=book.key,
        status=MarginSetting.Status.PENDING,
        instrument_id__in=[r.instrument_id for r in rows],
    ).values_list("instrument_id", flat=True):
        pending[instrument_id] = pending.get(instrument_id, 0) + 1
    return [
        {
            "code": r.instrument.code,
            "name": r.instrument.name,
            "market": r.instrument.market,
            "status": r.instrument.status,
            **of(r),
            "pending_settings": pending.get(r.instrument_id, 0),
        }
        for r in rows
    ]


def _read(request, book: RatioBook, code: str):
    require(request, VIEW[book.key])
    instrument = Instrument.objects.filter(code=code).first()
    if instrument is None:
        return _error(404, "code", f"no instrument {code}")
    ratio = settings_records.in_force(book.key, instrument.pk)
    pending = approvals.pending_change(book.flow, instrument.code)
    out = {
        "code": instrument.code,
        "name": instrument.name,
        "market": instrument.market,
        "status": instrument.status,
        "marginable": ratio is not None and instrument.status not in EXCLUDED,
        "ratio": ratio,
        "pending_settings": [
            _setting_out(s)
            for s in settings_records.pending_for(book.key, instrument.pk).select_related(
                "instrument", "acted_by"
            )
        ],
        "pending_request": pending.pk if pending else None,
    }
    if book is INTRADAY:
        rule = IntradayRule.objects.filter(market=instrument.market).first()
        out["active_now"] = intraday_active(instrument.market, timezone.now(), rule)
    return out


def _change(request, book: RatioBook, code: str, body: RatioIn):
    require(request, book.permission)
    instrument = Instrument.objects.filter(code=code).first()
    if instrument is None:
        return _error(404, "code", f"no instrument {code}")
    payload: dict[str, Any] = {"action": body.action}
    if body.action == "set":
        payload.update({f: getattr(body, f) for f in ("im", "mcm", "mm", "fm")})
    payload["effective_date"] = body.effective_date.isoformat() if body.effective_date else None
    return submit_change(
        request, flow=book.flow, target=instrument, payload=payload, note=body.note
    )


def _batch(request, book: RatioBook, body: BatchIn):
    require(request, book.permission)
    return submit_change(
        request, flow=book.batch_flow, target=None, payload={"rows": body.rows}, note=body.note
    )


CHANGE_DOC = (
    "action `set` (the four factors, 1 ≥ im ≥ mcm ≥ mm ≥ fm ≥ 0; a stock that has a ratio is "
    "overwritten) or `delete`. Nothing changes until approved; the approval creates a setting "
    "record (/settings) applied on its effective date or by sync. 422 names the field at "
    "fault (e.g. `mm` when above `mcm`); 409 when a request of this stock is already pending."
)

for _book, _path, _what in (
    (LONG, "stocks", "long stock margin (MR-1)"),
    (INTRADAY, "intraday", "intraday margin (MR-2)"),
):

    def _make(book=_book, path=_path, what=_what):
        @router.get(
            f"/{path}",
            response=list[RatioOut],
            summary=f"List {what} ratios in force, by code",
            operation_id=f"list_{path}",
        )
        def list_view(request, filters: Query[RatioFilters]):
            return _list(request, book, filters)

        @router.get(
            f"/{path}/{{code}}",
            response={200: RatioDetailOut, 404: ErrorOut},
            summary=f"Read a stock's {what}: ratio in force and pending setting records",
            operation_id=f"read_{path}",
        )
        def read_view(request, code: str):
            return _read(request, book, code)

        @router.post(
            f"/{path}/{{code}}",
            response=SUBMIT_RESPONSES,
            summary=f"Submit a change request for a stock's {what}",
            description=CHANGE_DOC,
            operation_id=f"change_{path}",
        )
        def change_view(request, code: str, body: RatioIn):
            return _change(request, book, code, body)

        @router.post(
            f"/{path}-batch",
            response=SUBMIT_RESPONSES,
            summary=f"Submit one change request for a batch of {what} ratios",
            description="One bad row refuses the whole batch (422 names the row and the factor). "
            "The approval creates one setting record per row.",
            operation_id=f"batch_{path}",
        )
        def batch_view(request, body: BatchIn):
            return _batch(request, book, body)

    _make()


# --- intraday rules (MR-2 规则设置) -------------------------------------------------------------


def _rule_out(market: str, rule, now) -> dict:
    pending = approvals.pending_change(IntradayRuleChange.key, f"rule:{market}")
    return {
        "market": market,
        "exists": rule is not None,
        "enabled": rule.enabled if rule else False,
        "starts_after_open": rule.starts_after_open if rule else 0,
        "ends_before_close": rule.ends_before_close if rule else 0,
        "active_now": intraday_active(market, now, rule),
        "pending_request": pending.pk if pending else None,
    }


@router.get(
    "/intraday-rules",
    response=list[RuleOut],
    summary="The intraday rule of each market and whether intraday ratios are active now",
)
def list_rules(request):
    require(request, VIEW_RULE)
    rules = {r.market: r for r in IntradayRule.objects.all()}
    now = timezone.now()
    return [_rule_out(m, rules.get(m), now) for m in RULE_MARKETS]


@router.post(
    "/intraday-rules/{market}",
    response=SUBMIT_RESPONSES,
    summary="Submit a change request for a market's intraday rule",
    description="Minutes are whole and non-negative and must leave a window on a normal day "
    "(422 names the field). Takes effect when approved.",
)
def change_rule(request, market: str, body: RuleIn):
    require(request, IntradayRuleChange.submit_permission)
    market = market.upper()
    if market not in RULE_MARKETS:
        return _error(404, "market", f"one of {', '.join(RULE_MARKETS)}")
    target = IntradayRule.objects.filter(market=market).first()
    payload = {
        "market": market,
        "enabled": body.enabled,
        "starts_after_open": body.starts_after_open,
        "ends_before_close": body.ends_before_close,
    }
    return submit_change(
        request, flow=IntradayRuleChange.key, target=target, payload=payload, note=body.note
    )


# --- setting records (MR-3) ---------------------------------------------------------------------


@router.get("/settings", response=list[SettingOut], summary="List setting records, newest first")
def list_settings(request, filters: Query[SettingFilters]):
    require(request, VIEW_SETTING)
    qs = MarginSetting.objects.select_related("instrument", "acted_by").order_by("-id")
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.book:
        qs = qs.filter(book=filters.book)
    if filters.code:
        qs = qs.filter(instrument__code__istartswith=filters.code)
    if filters.request_id:
        qs = qs.filter(request_id=filters.request_id)
    if filters.before_id:
        qs = qs.filter(pk__lt=filters.before_id)
    return [_setting_out(s) for s in qs[: filters.limit]]


@router.get(
    "/settings/{setting_id}",
    response={200: SettingOut, 404: ErrorOut},
    summary="Read a setting record",
)
def read_setting(request, setting_id: int):
    require(request, VIEW_SETTING)
    setting = (
        MarginSetting.objects.select_related("instrument", "acted_by").filter(pk=setting_id).first()
    )
    if setting is None:
        return _error(404, "id", f"no setting record #{setting_id}")
    return _setting_out(setting)


def _act(request, setting_id: int, verb: str):
    require(request, settings_records.SYNC_PERMISSION)
    if not MarginSetting.objects.filter(pk=setting_id).exists():
        return _error(404, "id", f"no setting record #{setting_id}")
    fn = settings_records.sync if verb == "sync" else settings_records.revoke
    try:
        setting = fn(setting_id, request.user)
    except settings_records.SettingError as exc:
        return _error(409, "status", str(exc))
    return _setting_out(
        MarginSetting.objects.select_related("instrument", "acted_by").get(pk=setting.pk)
    )


@router.post(
    "/settings/{setting_id}/sync",
    response={200: SettingOut, **ERRORS},
    summary="同步: apply a pending setting record now",
    description="The ratio in force becomes the record's; the record is triggered with the "
    "ratio before. 409 when the record is not pending (already triggered or revoked).",
)
def sync_setting(request, setting_id: int):
    return _act(request, setting_id, "sync")


@router.post(
    "/settings/{setting_id}/revoke",
    response={200: SettingOut, **ERRORS},
    summary="取消同步: revoke a pending setting record",
    description="409 when the record is not pending.",
)
def revoke_setting(request, setting_id: int):
    return _act(request, setting_id, "revoke")
