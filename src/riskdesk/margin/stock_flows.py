"""Approval flows of the stock margin ratios (MR-1, MR-2) and the intraday rule (MR-2 规则设置).

An approved ratio change does not write the ratio: it becomes a setting record (设置记录, MR-3)
that is applied when synchronised or on its effective date (``settings_records``).

- ``margin.stock_long`` / ``margin.intraday``: set or delete one stock's ratio. The target is
  the instrument; its snapshot is the ratio in force. "New" on a stock that already has a ratio
  is simply a set (the new ratio overwrites it when it takes effect).
- ``margin.stock_long_batch`` / ``margin.intraday_batch``: a batch import (PL-5), one request
  for the whole file, one setting record per row when approved.
- ``margin.intraday_rule``: the session rule of a market, created by its first request.

``effective_date``: an ISO date, today or later; empty (None) means "the day it is approved".
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from riskdesk.approvals.registry import FlowHandler, register
from riskdesk.book.models import Instrument
from riskdesk.calendars.models import REGULAR_HOURS
from riskdesk.margin import settings_records
from riskdesk.margin.factors import FIELDS, clean_factors, of
from riskdesk.margin.models import IntradayMargin, IntradayRule, MarginSetting, StockMargin

MARGINABLE_KINDS = (Instrument.Kind.STOCK, Instrument.Kind.ETF)
MAX_BATCH_ROWS = 5_000
RULE_MARKETS = tuple(REGULAR_HOURS)  # HK, US: the markets with a trading-day calendar


@dataclass(frozen=True)
class RatioBook:
    """One book of per-stock ratios: long (MR-1) or intraday (MR-2)."""

    key: str  # MarginSetting.Book
    model: type
    flow: str
    batch_flow: str
    permission: str
    detail_url: str
    list_url: str
    title: str


LONG = RatioBook(
    key=MarginSetting.Book.LONG,
    model=StockMargin,
    flow="margin.stock_long",
    batch_flow="margin.stock_long_batch",
    permission="margin.change_stockmargin",
    detail_url="margin:stock-detail",
    list_url="margin:stock",
    title=_("Long stock margin"),
)
INTRADAY = RatioBook(
    key=MarginSetting.Book.INTRADAY,
    model=IntradayMargin,
    flow="margin.intraday",
    batch_flow="margin.intraday_batch",
    permission="margin.change_intradaymargin",
    detail_url="margin:intraday-detail",
    list_url="margin:intraday",
    title=_("Intraday real-time margin"),
)
BOOKS = {LONG.key: LONG, INTRADAY.key: INTRADAY}


def today() -> date:
    return timezone.localdate()


def clean_effective_date(value, field: str = "effective_date") -> str | None:
    """An ISO date not before today, or None (= the day the request is approved)."""
    if value in (None, ""):
        return None
    if isinstance(value, date):
        day = value
    else:
        try:
            day = date.fromisoformat(str(value).strip())
        except ValueError:
            raise ValidationError({field: "not a date (YYYY-MM-DD)"}) from None
    if day < today():
        raise ValidationError(
            {
                field: f"must not be in the past (today is {today().isoformat()}), got {day.isoformat()}"
            }
        )
    return day.isoformat()


def check_instrument(instrument, field: str = "code") -> None:
    """Margin ratios are for stocks and ETFs. A delisted or long-suspended stock may have one
    (it counts as 100% while it is excluded, MR-6)."""
    if instrument.kind not in MARGINABLE_KINDS:
        raise ValidationError(
            {
                field: f"{instrument.code} is {instrument.get_kind_display().lower()}; "
                "margin ratios are for stocks and ETFs"
            }
        )


def instrument_by_code(code, field: str = "code") -> Instrument:
    code = str(code or "").strip()
    if not code:
        raise ValidationError({field: "required"})
    instrument = Instrument.objects.filter(code=code).first()
    if instrument is None:
        raise ValidationError({field: f"no instrument {code}"})
    check_instrument(instrument, field)
    return instrument


def _labels() -> dict:
    return {
        "action": _("Action"),
        "im": _("Initial margin (IM)"),
        "mcm": _("Margin-call margin (MCM)"),
        "mm": _("Maintenance margin (MM)"),
        "fm": _("Force-close margin (FM)"),
        "effective_date": _("Effective date (— = the day it is approved)"),
    }


class RatioChange(FlowHandler):
    """Set or delete the ratio of one stock in one book (MR-1 / MR-2)."""

    book: RatioBook
    default_steps = [{"role": "risk_approver", "approvals": 1}]

    def __init__(self, book: RatioBook):
        self.book = book
        self.key = book.flow
        self.title = book.title
        self.submit_permission = book.permission

    @property
    def field_labels(self):
        return _labels()

    def target_key(self, target) -> str:
        return target.code

    def target_label(self, target) -> str:
        return f"{target.code} {target.name}"

    def resolve(self, target_key: str):
        instrument = Instrument.objects.filter(code=target_key).first()
        if instrument is None:
            raise ValidationError(f"no instrument {target_key}")
        return instrument

    def snapshot(self, target) -> dict:
        """The ratio in force ({} when the stock has none)."""
        return of(self.book.model.objects.filter(instrument=target).first()) or {}

    def clean(self, payload: dict, target) -> dict:
        unknown = sorted(set(payload) - {"action", *FIELDS, "effective_date"})
        if unknown:
            raise ValidationError({unknown[0]: "unknown field"})
        if target is None:
            raise ValidationError({"code": "required"})
        check_instrument(target)
        action = payload.get("action") or MarginSetting.Action.SET
        if action not in MarginSetting.Action.values:
            raise ValidationError({"action": "one of set, delete"})
        effective = clean_effective_date(payload.get("effective_date"))
        if action == MarginSetting.Action.SET:
            return {"action": action, **clean_factors(payload), "effective_date": effective}
        has_ratio = self.book.model.objects.filter(instrument=target).exists()
        pending_set = settings_records.pending_for(self.book.key, target.pk).filter(
            action=MarginSetting.Action.SET
        )
        if not has_ratio and not pending_set.exists():
            raise ValidationError({"action": f"{target.code} has no ratio to delete"})
        return {"action": action, "effective_date": effective}

    def condition_values(self, payload: dict, before: dict) -> dict:
        """``im_change``: how far the initial margin moves (a new or deleted ratio moves from
        or to 100%)."""
        old = Decimal(before.get("im", "1"))
        new = Decimal(payload.get("im", "1"))
        return {"im_change": abs(new - old)}

    def apply(self, payload: dict, target, *, request) -> str:
        settings_records.create(
            book=self.book.key,
            instrument=target,
            action=payload["action"],
            factors={f: payload[f] for f in FIELDS} if payload["action"] == "set" else None,
            effective_date=date.fromisoformat(payload["effective_date"])
            if payload["effective_date"]
            else today(),
            request_id=request.pk,
        )
        return reverse(self.book.detail_url, args=[target.pk])


def _batch_key(rows: list[dict]) -> str:
    digest = hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest()[:16]
    return f"batch:{digest} ({len(rows)} stocks)"


class RatioBatch(FlowHandler):
    """A batch file of ratios (PL-5): one request, one setting record per row."""

    default_steps = [{"role": "risk_approver", "approvals": 1}]

    def __init__(self, book: RatioBook):
        self.book = book
        self.key = book.batch_flow
        self.title = format_lazy("{} ({})", book.title, _("batch"))
        self.submit_permission = book.permission

    @property
    def field_labels(self):
        return {"rows": _("Stocks and ratios (code, IM, MCM, MM, FM, effective date)")}

    def target_key_for_payload(self, payload: dict) -> str:
        return _batch_key(payload["rows"])

    def resolve(self, target_key: str):
        return None  # a batch creates records

    def snapshot(self, target) -> dict:
        return {}

    def clean(self, payload: dict, target) -> dict:
        unknown = sorted(set(payload) - {"rows"})
        if unknown:
            raise ValidationError({unknown[0]: "unknown field"})
        rows = payload.get("rows")
        if not isinstance(rows, list) or not rows:
            raise ValidationError({"rows": "at least one row"})
        if len(rows) > MAX_BATCH_ROWS:
            raise ValidationError({"rows": f"at most {MAX_BATCH_ROWS} rows"})
        cleaned, seen = [], {}
        for n, row in enumerate(rows, start=1):
            if not isinstance(row, dict):
                raise ValidationError({"rows": f"row {n}: not an object"})
            extra = sorted(set(row) - {"code", *FIELDS, "effective_date"})
            try:
                if extra:
                    raise ValidationError({extra[0]: "unknown field"})
                instrument = instrument_by_code(row.get("code"))
                factors = clean_factors(row)
                effective = clean_effective_date(row.get("effective_date"))
            except ValidationError as exc:
                field, messages = next(iter(exc.message_dict.items()))
                raise ValidationError(
                    {"rows": f"row {n} ({row.get('code') or '?'}) {field}: {messages[0]}"}
                ) from None
            if instrument.code in seen:
                raise ValidationError(
                    {
                        "rows": f"row {n} ({instrument.code}): duplicate of row {seen[instrument.code]}"
                    }
                )
            seen[instrument.code] = n
            cleaned.append({"code": instrument.code, **factors, "effective_date": effective})
        return {"rows": cleaned}

    def condition_values(self, payload: dict, before: dict) -> dict:
        return {"rows": Decimal(len(payload["rows"]))}

    def apply(self, payload: dict, target, *, request) -> str:
        by_code = Instrument.objects.in_bulk(
            [r["code"] for r in payload["rows"]], field_name="code"
        )
        for row in payload["rows"]:
            settings_records.create(
                book=self.book.key,
                instrument=by_code[row["code"]],
                action=MarginSetting.Action.SET,
                factors={f: row[f] for f in FIELDS},
                effective_date=date.fromisoformat(row["effective_date"])
                if row["effective_date"]
                else today(),
                request_id=request.pk,
            )
        return reverse("margin:settings") + f"?request={request.pk}"


def session_minutes(market: str) -> int:
    opens, closes = REGULAR_HOURS[market]
    return (closes.hour * 60 + closes.minute) - (opens.hour * 60 + opens.minute)


def _minutes(value, field: str) -> int:
    if isinstance(value, bool):
        raise ValidationError({field: "a whole number of minutes"})
    try:
        minutes = int(str(value).strip()) if not isinstance(value, int) else value
    except ValueError:
        raise ValidationError({field: "a whole number of minutes"}) from None
    if minutes < 0:
        raise ValidationError({field: "must not be negative"})
    return minutes


def _flag(value, field: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off", ""):
        return False
    raise ValidationError({field: "true or false"})


class IntradayRuleChange(FlowHandler):
    """规则设置 (MR-2): when a market's intraday ratios are in force."""

    key = "margin.intraday_rule"
    title = _("Intraday margin rule")
    submit_permission = "margin.change_intradayrule"
    default_steps = [{"role": "risk_approver", "approvals": 1}]

    @property
    def field_labels(self):
        return {
            "market": _("Market"),
            "enabled": _("Enabled"),
            "starts_after_open": _("Active from (minutes after the open)"),
            "ends_before_close": _("Active until (minutes before the close)"),
        }

    def target_key(self, target) -> str:
        return f"rule:{target.market}"

    def target_key_for_payload(self, payload: dict) -> str:
        return f"rule:{payload['market']}"

    def target_label(self, target) -> str:
        return f"{target.market} {_('intraday rule')}"

    def resolve(self, target_key: str):
        return IntradayRule.objects.filter(market=target_key.removeprefix("rule:")).first()

    def snapshot(self, target) -> dict:
        return {
            "market": target.market,
            "enabled": target.enabled,
            "starts_after_open": target.starts_after_open,
            "ends_before_close": target.ends_before_close,
        }

    def clean(self, payload: dict, target) -> dict:
        """Minutes are whole and non-negative, and leave a window of at least a minute on a
        normal day (HK and US: 09:30-16:00, 390 minutes)."""
        fields = {"market", "enabled", "starts_after_open", "ends_before_close"}
        unknown = sorted(set(payload) - fields)
        if unknown:
            raise ValidationError({unknown[0]: "unknown field"})
        market = str(payload.get("market") or (target.market if target else "")).upper()
        if market not in RULE_MARKETS:
            raise ValidationError({"market": f"one of {', '.join(RULE_MARKETS)}"})
        if target is not None and market != target.market:
            raise ValidationError({"market": f"this rule is the {target.market} rule"})
        current = (
            self.snapshot(target)
            if target is not None
            else {
                "enabled": True,
                "starts_after_open": 0,
                "ends_before_close": 30,
            }
        )
        merged = {**current, **payload}
        starts = _minutes(merged["starts_after_open"], "starts_after_open")
        ends = _minutes(merged["ends_before_close"], "ends_before_close")
        total = session_minutes(market)
        if starts + ends >= total:
            raise ValidationError(
                {
                    "ends_before_close": f"leaves no window: {starts} + {ends} minutes ≥ the "
                    f"{total}-minute {market} session"
                }
            )
        return {
            "market": market,
            "enabled": _flag(merged["enabled"], "enabled"),
            "starts_after_open": starts,
            "ends_before_close": ends,
        }

    def apply(self, payload: dict, target, *, request) -> str:
        rule = target or IntradayRule(market=payload["market"])
        rule.enabled = payload["enabled"]
        rule.starts_after_open = payload["starts_after_open"]
        rule.ends_before_close = payload["ends_before_close"]
        rule.save()
        return reverse("margin:intraday-rules")


for _book in (LONG, INTRADAY):
    register(RatioChange(_book))
    register(RatioBatch(_book))
register(IntradayRuleChange())
