"""Margin calls (MC-1 … MC-5): the state the risk monitor writes, and what a risk officer adds.

A call opens when an account's alert level (engine.margin.alert_level) is not "none", is
updated while it stays so (escalating to force close and back), and ends when the account is
cured. One open call per account. Every change is an event (MC-4) and the moments that matter
leave a snapshot (MC-5): a scenario file that `riskdesk calc margin` reproduces exactly.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

AMOUNT = {"max_digits": 20, "decimal_places": 2}


class MarginCall(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("margin call", "Open")
        ENDED = "ended", _("Ended")

    class Alert(models.TextChoices):
        MARGIN_CALL = "margin_call", _("Margin call")
        FORCE_CLOSE = "force_close", _("Force close")

    account = models.ForeignKey(
        "book.Account",
        on_delete=models.PROTECT,
        related_name="margin_calls",
        verbose_name=_("account"),
    )
    status = models.CharField(
        _("status"), max_length=6, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    alert = models.CharField(_("alert type"), max_length=12, choices=Alert.choices)
    triggered_at = models.DateTimeField(_("triggered"), db_index=True)
    deadline = models.DateField(_("deadline"))
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now, db_index=True)
    # Latest figures, base currency (engine.margin.AccountFigures), kept as columns for the list.
    call_amount = models.DecimalField(_("call amount"), **AMOUNT)
    equity = models.DecimalField(_("equity"), **AMOUNT)
    lna = models.DecimalField(_("liquid net assets"), **AMOUNT)
    nar = models.DecimalField(_("net asset ratio"), max_digits=12, decimal_places=6)
    req_im = models.DecimalField(_("IM requirement"), **AMOUNT)
    req_mcm = models.DecimalField(_("MCM requirement"), **AMOUNT)
    req_mm = models.DecimalField(_("MM requirement"), **AMOUNT)
    req_fm = models.DecimalField(_("FM requirement"), **AMOUNT)
    loan = models.DecimalField(_("loan"), **AMOUNT)
    cash = models.DecimalField(_("cash"), **AMOUNT)
    market_value = models.DecimalField(_("market value"), **AMOUNT)
    credit_limit = models.DecimalField(_("credit"), null=True, blank=True, **AMOUNT)
    trading_credit = models.DecimalField(_("trading credit"), default=0, **AMOUNT)
    # What the risk officer adds (MC-1): a note and the exception flag (异常单).
    note = models.TextField(_("note"), blank=True)
    exception = models.BooleanField(_("exception"), default=False, db_index=True)
    # MC-1 自动平仓: liquidate automatically once past the deadline (when switched on, PL-12).
    auto_liquidate = models.BooleanField(_("auto liquidation"), default=True)

    class Meta:
        ordering = ["-triggered_at"]
        verbose_name = _("margin call")
        constraints = [
            models.UniqueConstraint(
                fields=["account"], condition=Q(status="open"), name="one_open_call_per_account"
            ),
        ]
        permissions = [
            ("annotate_margincall", "Can add notes and flag exceptions on margin calls"),
            ("change_deadline", "Can change a margin call's deadline and auto liquidation"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.alert} {self.status}"


class MarginCallEvent(models.Model):
    """MC-4: every change of a call, with the figures before and after."""

    class Kind(models.TextChoices):
        OPEN = "open", pgettext_lazy("margin call", "Opened")
        UPDATE = "update", _("Updated")
        ESCALATE = "escalate", _("Escalated to force close")
        DEESCALATE = "deescalate", _("Back to margin call")
        END = "end", _("Ended")
        NOTE = "note", _("Note")
        DEADLINE = "deadline", _("Deadline changed")
        LIQUIDATION = "liquidation", _("Liquidation orders placed")

    call = models.ForeignKey(MarginCall, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("change"), max_length=12, choices=Kind.choices)
    at = models.DateTimeField(_("time"), default=timezone.now)
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    book_event_id = models.BigIntegerField(null=True, blank=True)  # the book event that caused it

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.call_id} {self.kind}"


class MarginCallSnapshot(models.Model):
    """MC-5: the whole account as a scenario file at a moment that matters."""

    class Reason(models.TextChoices):
        TRIGGERED = "triggered", _("Margin call triggered")
        FORCE = "force", _("Force call")
        NOTICE = "notice", _("Notice sent")
        DAILY = "daily", _("Daily")
        ENDED = "ended", _("Margin call ended")

    call = models.ForeignKey(MarginCall, on_delete=models.CASCADE, related_name="snapshots")
    reason = models.CharField(_("reason"), max_length=10, choices=Reason.choices)
    at = models.DateTimeField(_("time"), default=timezone.now)
    scenario = models.JSONField(_("scenario"))  # SCENARIO.md format, one account
    figures = models.JSONField(_("figures"))  # what `riskdesk calc margin` prints for it

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.call_id} {self.reason} {self.at:%Y-%m-%d %H:%M}"


class MonitorCursor(models.Model):
    """The last book event the monitor has applied; written in the same transaction as the
    state it caused, so a restart resumes exactly where it stopped."""

    name = models.CharField(max_length=32, primary_key=True)
    last_event_id = models.BigIntegerField(default=0)
    full_screen_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} @ {self.last_event_id}"


class RescreenRequest(models.Model):
    """A change that moves margin figures without a book event (a ratio synced, a client rule
    or group membership approved, an intraday rule): written in the same transaction as the
    change, and applied by the monitor after its cursor, like a book event (MC-1)."""

    instrument_ids = models.JSONField(default=list)  # re-screen the holders
    client_ids = models.JSONField(default=list)  # re-screen the clients' accounts
    account_types = models.JSONField(default=list)  # re-screen every account of these types
    reason = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.reason}"


class ShortRecall(models.Model):
    """MC-9 空头股票追收: a short stock position that must be bought back, as found by the daily
    run (``margincall.recalls``) for ``run_date``. Re-running a date replaces its rows."""

    class Reason(models.TextChoices):
        NO_SHORT_MARGIN = "no_short_margin", _("No short margin for the stock")
        NOT_SHORTABLE = "not_shortable", _("Short selling not allowed")
        POOL_SHORT = "pool_short", _("Lending pool below the short quantity")

    run_date = models.DateField(_("run date"))
    account = models.ForeignKey(
        "book.Account",
        on_delete=models.PROTECT,
        related_name="short_recalls",
        verbose_name=_("account"),
    )
    instrument = models.ForeignKey(
        "book.Instrument",
        on_delete=models.PROTECT,
        related_name="short_recalls",
        verbose_name=_("stock"),
    )
    quantity = models.BigIntegerField(_("quantity short"))  # positive
    # Of the quantity short, base currency, positive; None when the stock has no price.
    market_value = models.DecimalField(_("market value"), null=True, blank=True, **AMOUNT)
    reason = models.CharField(_("reason"), max_length=16, choices=Reason.choices)
    # The stock's state when the run found it: shortable status (blank: no short margin),
    # lending pool and the quantity all clients were short.
    shortable = models.CharField(_("shortable"), max_length=16, blank=True)
    pool_qty = models.BigIntegerField(_("lending pool"), null=True, blank=True)
    total_short = models.BigIntegerField(_("short quantity of all clients"))
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["-run_date", "id"]
        verbose_name = _("short-stock recall")
        constraints = [
            models.UniqueConstraint(
                fields=["run_date", "account", "instrument"], name="one_recall_per_position_per_day"
            ),
        ]
        indexes = [models.Index(fields=["run_date", "id"], name="short_recall_run_date")]

    def __str__(self) -> str:
        return f"{self.run_date} {self.account_id} {self.instrument_id} {self.quantity}"
