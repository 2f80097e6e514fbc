"""Approval flow of the liquidation parameters (PL-12 平仓开关, MC-1 自动平仓):
``liquidation.parameters``."""

from datetime import time

from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from riskdesk.approvals.registry import FlowHandler, register
from riskdesk.liquidation.models import LiquidationParameters

BOOLEANS = ("batch_enabled", "auto_enabled")


def _bool(value, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "1", "on", 1):
        return True
    if value in ("false", "0", "off", "", 0, None):
        return False
    raise ValidationError({field: "not true or false"})


def _time(value, field: str) -> time:
    if isinstance(value, time):
        return value
    try:
        parsed = time.fromisoformat(str(value))
    except ValueError:
        raise ValidationError({field: "not a time (HH:MM)"}) from None
    if parsed.second or parsed.microsecond:
        raise ValidationError({field: "whole minutes only (HH:MM)"})
    return parsed


class Parameters(FlowHandler):
    key = "liquidation.parameters"
    title = _("Liquidation parameters")
    submit_permission = "liquidation.change_liquidationparameters"
    default_steps = [{"role": "risk_approver", "approvals": 1}]

    @property
    def field_labels(self):
        return {
            "batch_enabled": _("Batch liquidation switch"),
            "auto_enabled": _("Auto liquidation"),
            "auto_time": _("Auto liquidation time (HK)"),
        }

    def resolve(self, target_key: str):
        return LiquidationParameters.objects.get(pk=1)

    def target_key(self, target) -> str:
        return "parameters"

    def target_label(self, target) -> str:
        return str(_("Liquidation parameters"))

    def snapshot(self, target) -> dict:
        return {
            "batch_enabled": target.batch_enabled,
            "auto_enabled": target.auto_enabled,
            "auto_time": target.auto_time.strftime("%H:%M"),
        }

    def clean(self, payload: dict, target) -> dict:
        current = self.snapshot(target)
        unknown = sorted(set(payload) - set(current))
        if unknown:
            raise ValidationError({unknown[0]: "unknown field"})
        merged = {**current, **payload}
        cleaned = {field: _bool(merged[field], field) for field in BOOLEANS}
        cleaned["auto_time"] = _time(merged["auto_time"], "auto_time").strftime("%H:%M")
        if cleaned == current:
            raise ValidationError({"batch_enabled": "nothing changes"})
        return cleaned

    def apply(self, payload: dict, target, *, request) -> str:
        target.batch_enabled = payload["batch_enabled"]
        target.auto_enabled = payload["auto_enabled"]
        target.auto_time = time.fromisoformat(payload["auto_time"])
        target.save()
        return reverse("liquidation:parameters")


register(Parameters())
