"""Company credit settings (CR-5): governed, changed only through approval."""

from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _

from riskdesk.approvals.governed import GovernedModel, governed_history

AMOUNT = {"max_digits": 20, "decimal_places": 2}


class CompanyCredit(GovernedModel):
    """One row: the firm's total financing credit and its warning threshold, base currency."""

    total_credit = models.DecimalField(_("total financing credit"), default=Decimal(0), **AMOUNT)
    approved_warning = models.DecimalField(
        _("approved-credit warning threshold"), default=Decimal(0), **AMOUNT
    )
    history = governed_history()

    class Meta:
        verbose_name = _("company credit")

    def __str__(self) -> str:
        return "company credit"


class CompanyCurrencyLimit(GovernedModel):
    """Per currency: how much the firm may finance, and when to warn (CR-5)."""

    currency = models.CharField(_("currency"), max_length=3, unique=True)
    max_financing = models.DecimalField(_("maximum financing"), default=Decimal(0), **AMOUNT)
    financing_warning = models.DecimalField(
        _("financing warning threshold"), default=Decimal(0), **AMOUNT
    )
    advance_warning = models.DecimalField(
        _("advance warning threshold"), default=Decimal(0), **AMOUNT
    )
    history = governed_history()

    class Meta:
        ordering = ["currency"]
        verbose_name = _("company currency limit")

    def __str__(self) -> str:
        return self.currency
