"""Approval flow of the trading-day calendar (PL-8, ``calendar.trading_day``): change one day
of one market (a typhoon closure, a late open, a half day the package does not know)."""

from datetime import date, time

from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from riskdesk.approvals.registry import FlowHandler, register
from riskdesk.calendars.models import REGULAR_HOURS, TradingDay

FIELDS = ("status", "open_time", "close_time", "note")
Status = TradingDay.Status


def _time(value, field: str) -> time | None:
    if value in (None, ""):
        return None
    if isinstance(value, time):
        return value.replace(second=0, microsecond=0)
    try:
        return time.fromisoformat(str(value)).replace(second=0, microsecond=0)
    except ValueError:
        raise ValidationError({field: "not a time (HH:MM)"}) from None


def _fmt(value: time | None) -> str | None:
    return None if value is None else value.strftime("%H:%M")


class TradingDayChange(FlowHandler):
    key = "calendar.trading_day"
    title = _("Trading day")
    submit_permission = "calendars.change_tradingday"
    default_steps = [{"role": "risk_approver", "approvals": 1}]

    @property
    def field_labels(self):
        return {
            "status": _("Status"),
            "open_time": _("Opens"),
            "close_time": _("Closes"),
            "note": _("Note"),
        }

    def target_key(self, target) -> str:
        return f"{target.market}:{target.date.isoformat()}"

    def target_label(self, target) -> str:
        return f"{target.market} {target.date.isoformat()} {target.date.strftime('%a')}"

    def resolve(self, target_key: str):
        market, _sep, raw = target_key.partition(":")
        try:
            return TradingDay.objects.get(market=market, date=date.fromisoformat(raw))
        except (ValueError, TradingDay.DoesNotExist):
            raise ValidationError(f"no trading day {target_key}") from None

    def snapshot(self, target) -> dict:
        return {
            "status": target.status,
            "open_time": _fmt(target.open_time),
            "close_time": _fmt(target.close_time),
            "note": target.note,
        }

    def clean(self, payload: dict, target) -> dict:
        """A closed day has no hours; a day that trades opens before it closes; a half day
        closes before the market's normal close; and every change says why (the note)."""
        unknown = sorted(set(payload) - set(FIELDS))
        if unknown:
            raise ValidationError({unknown[0]: "unknown field"})
        merged = {**self.snapshot(target), **payload}
        status = merged["status"]
        if status not in Status.values:
            raise ValidationError({"status": f"one of {', '.join(Status.values)}"})
        opens = _time(merged["open_time"], "open_time")
        closes = _time(merged["close_time"], "close_time")
        note = str(payload.get("note") or "").strip()
        if not note:
            raise ValidationError(
                {"note": "say why the day changes (e.g. Typhoon signal No. 8 hoisted)"}
            )
        if len(note) > 200:
            raise ValidationError({"note": "at most 200 characters"})
        if status == Status.CLOSED:
            if opens is not None:
                raise ValidationError({"open_time": "a closed day has no opening time"})
            if closes is not None:
                raise ValidationError({"close_time": "a closed day has no closing time"})
        else:
            if opens is None:
                raise ValidationError({"open_time": "required on a day that trades"})
            if closes is None:
                raise ValidationError({"close_time": "required on a day that trades"})
            if opens >= closes:
                raise ValidationError({"close_time": "must be after the opening time"})
            normal_close = REGULAR_HOURS[target.market][1]
            if status == Status.HALF_DAY and closes >= normal_close:
                raise ValidationError(
                    {
                        "close_time": f"a half day closes before the normal close ({_fmt(normal_close)})"
                    }
                )
        return {
            "status": status,
            "open_time": _fmt(opens),
            "close_time": _fmt(closes),
            "note": note,
        }

    def apply(self, payload: dict, target, *, request) -> str:
        target.status = payload["status"]
        target.open_time = _time(payload["open_time"], "open_time")
        target.close_time = _time(payload["close_time"], "close_time")
        target.note = payload["note"]
        target.source = TradingDay.Source.MANUAL
        target.save()
        return reverse("calendars:day", args=[target.pk])


register(TradingDayChange())
