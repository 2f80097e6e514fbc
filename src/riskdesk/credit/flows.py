"""Approval flows of the credit room: company credit settings (CR-5, ``credit.company_limit``)."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from riskdesk.approvals.registry import FlowHandler, register
from riskdesk.credit.models import CompanyCredit, CompanyCurrencyLimit
from riskdesk.credit.selectors import approved_credit
from riskdesk.engine.money import fmt_amount, parse_decimal

LIMIT_FIELDS = ("max_financing", "financing_warning", "advance_warning")


def _amount(value, field: str) -> Decimal:
    try:
        amount = parse_decimal(value)
    except (ValueError, TypeError):
        raise ValidationError({field: "not a decimal"}) from None
    if amount < 0:
        raise ValidationError({field: "must not be negative"})
    if amount.as_tuple().exponent < -2:
        raise ValidationError({field: "at most 2 decimal places"})
    return amount


class CompanyLimit(FlowHandler):
    key = "credit.company_limit"
    title = _("Company credit")
    submit_permission = "credit.change_companycredit"
    default_steps = [{"role": "risk_approver", "approvals": 1}]

    @property
    def field_labels(self):
        labels = {
            "total_credit": _("Total financing credit"),
            "approved_warning": _("Approved-credit warning threshold"),
        }
        names = {
            "max_financing": _("maximum financing"),
            "financing_warning": _("financing warning threshold"),
            "advance_warning": _("advance warning threshold"),
        }
        for limit in CompanyCurrencyLimit.objects.all():
            for field in LIMIT_FIELDS:
                labels[f"{limit.currency}.{field}"] = f"{limit.currency} {names[field]}"
        return labels

    def resolve(self, target_key: str):
        return CompanyCredit.objects.get(pk=1)

    def target_key(self, target) -> str:
        return "company"

    def target_label(self, target) -> str:
        return str(_("Company credit"))

    def snapshot(self, target) -> dict:
        values = {
            "total_credit": fmt_amount(target.total_credit),
            "approved_warning": fmt_amount(target.approved_warning),
        }
        for limit in CompanyCurrencyLimit.objects.all():
            for field in LIMIT_FIELDS:
                values[f"{limit.currency}.{field}"] = fmt_amount(getattr(limit, field))
        return values

    def clean(self, payload: dict, target) -> dict:
        """Every field a non-negative amount; thresholds within their limits; the total never
        below the credit already approved to clients (CR-5)."""
        current = self.snapshot(target)
        unknown = sorted(set(payload) - set(current))
        if unknown:
            raise ValidationError({unknown[0]: "unknown field"})
        merged = {**current, **payload}
        amounts = {field: _amount(value, field) for field, value in merged.items()}
        if amounts["approved_warning"] > amounts["total_credit"]:
            raise ValidationError(
                {"approved_warning": "must not exceed the total financing credit"}
            )
        approved = approved_credit()
        if amounts["total_credit"] < approved:
            raise ValidationError(
                {
                    "total_credit": f"must not be below the credit already approved to clients ({fmt_amount(approved)})"
                }
            )
        currencies = {key.split(".")[0] for key in amounts if "." in key}
        for currency in sorted(currencies):
            if amounts[f"{currency}.financing_warning"] > amounts[f"{currency}.max_financing"]:
                raise ValidationError(
                    {f"{currency}.financing_warning": "must not exceed the maximum financing"}
                )
        return {field: fmt_amount(value) for field, value in amounts.items()}

    def condition_values(self, payload: dict, before: dict) -> dict:
        change = abs(Decimal(payload["total_credit"]) - Decimal(before.get("total_credit", "0")))
        return {"total_credit_change": change}

    def apply(self, payload: dict, target, *, request) -> str:
        target.total_credit = Decimal(payload["total_credit"])
        target.approved_warning = Decimal(payload["approved_warning"])
        target.save()
        for limit in CompanyCurrencyLimit.objects.all():
            changed = False
            for field in LIMIT_FIELDS:
                value = Decimal(payload[f"{limit.currency}.{field}"])
                if getattr(limit, field) != value:
                    setattr(limit, field, value)
                    changed = True
            if changed:
                limit.save()
        return reverse("credit:company")


register(CompanyLimit())
