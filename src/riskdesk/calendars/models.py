"""The trading-day calendar (PL-8): one row per market and calendar day, governed.

Seeded from exchange-calendars (XHKG, XNYS) and changed only through approval
(``calendar.trading_day``), because the package misses some typhoon closures and late opens.
Every calendar day is stored, weekends included (closed), so a change is always "change a day".
"""

from datetime import time

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from riskdesk.approvals.governed import GovernedModel, governed_history

# The normal session of each market, local exchange time (HKEX 09:30-16:00 with a lunch break
# that is not stored; NYSE 09:30-16:00). A half day closes before the normal close.
REGULAR_HOURS: dict[str, tuple[time, time]] = {
    "HK": (time(9, 30), time(16, 0)),
    "US": (time(9, 30), time(16, 0)),
}


class TradingDay(GovernedModel):
    class Market(models.TextChoices):
        # The markets of book.Instrument.Market that have an exchange calendar here.
        HK = "HK", _("Hong Kong")
        US = "US", _("United States")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        HALF_DAY = "half_day", _("Half day")
        # "Closed" alone is an account's status (注销); a market day that does not trade is 休市.
        CLOSED = "closed", pgettext_lazy("trading day", "Closed")

    class Source(models.TextChoices):
        EXCHANGE = "exchange-calendars", _("exchange-calendars")
        MANUAL = "manual", _("Manual")

    market = models.CharField(_("market"), max_length=2, choices=Market.choices)
    date = models.DateField(_("date"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    open_time = models.TimeField(_("opens"), null=True, blank=True)
    close_time = models.TimeField(_("closes"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    source = models.CharField(
        _("source"), max_length=20, choices=Source.choices, default=Source.EXCHANGE
    )
    history = governed_history()

    class Meta:
        ordering = ["market", "date"]
        verbose_name = _("trading day")
        constraints = [
            models.UniqueConstraint(fields=["market", "date"], name="one_trading_day_per_market"),
            # Closed: no hours. Open or half day: both times, opening before closing.
            models.CheckConstraint(
                condition=Q(status="closed", open_time__isnull=True, close_time__isnull=True)
                | Q(
                    status__in=["open", "half_day"],
                    open_time__isnull=False,
                    close_time__isnull=False,
                    open_time__lt=F("close_time"),
                ),
                name="trading_day_hours_match_status",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.market} {self.date.isoformat()}"

    @property
    def trades(self) -> bool:
        return self.status in (self.Status.OPEN, self.Status.HALF_DAY)
