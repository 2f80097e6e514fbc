"""Liquidation (MC-1, MC-2, MC-10, PL-12): the parameters that allow it, and every order.

An order is stored before it is sent: the gateway (simulated exchange or FIX 4.4) reports back
execution reports, each applied once (``Execution.exec_id`` is unique per gateway) as a book
trade fill whose idempotency key names the execution, so a report delivered twice moves the
book once.
"""

from datetime import time

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from riskdesk.approvals.governed import GovernedModel, governed_history

PRICE = {"max_digits": 20, "decimal_places": 6}


class LiquidationParameters(GovernedModel):
    """One row (PL-12 平仓开关 and MC-1 自动平仓): changed only through approval."""

    batch_enabled = models.BooleanField(_("batch liquidation switch"), default=False)
    auto_enabled = models.BooleanField(_("auto liquidation"), default=False)
    # Local time of the home market on a trading day: calls past their deadline are liquidated.
    auto_time = models.TimeField(_("auto liquidation time"), default=time(15, 30))
    history = governed_history()

    class Meta:
        verbose_name = _("liquidation parameters")
        permissions = [("liquidate", "Can place and cancel liquidation orders")]

    def __str__(self) -> str:
        return "liquidation parameters"


class LiquidationBatch(models.Model):
    """One batch liquidation (MC-2) or one auto-liquidation run: the calls it covered."""

    class Kind(models.TextChoices):
        BATCH = "batch", _("Batch liquidation")
        AUTO = "auto", _("Auto liquidation")

    kind = models.CharField(_("kind"), max_length=5, choices=Kind.choices)
    instruments = models.JSONField(_("only these stocks"), default=list)
    created_at = models.DateTimeField(_("time"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    summary = models.JSONField(_("summary"), default=dict)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"


class LiquidationOrder(models.Model):
    class Side(models.TextChoices):
        SELL = "sell", _("Sell")
        BUY = "buy", _("Buy to cover")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")  # stored, not yet acknowledged by the gateway
        WORKING = "working", _("Working")  # acknowledged, nothing filled
        PARTIAL = "partial", _("Partially filled")
        FILLED = "filled", _("Filled")
        CANCEL_PENDING = "cancel_pending", _("Cancel requested")
        CANCELLED = "cancelled", _("Cancelled")
        REJECTED = "rejected", _("Rejected")

    class Source(models.TextChoices):
        MANUAL = "manual", _("Manual")
        PLANNER = "planner", _("Planner proposal")
        BATCH = "batch", _("Batch liquidation")
        AUTO = "auto", _("Auto liquidation")

    LIVE = (Status.PENDING, Status.WORKING, Status.PARTIAL, Status.CANCEL_PENDING)

    client_order_id = models.CharField(_("order id"), max_length=40, unique=True)
    # The form or API request that placed it: the same key again places nothing (idempotent).
    request_key = models.CharField(max_length=64, blank=True, db_index=True)
    account = models.ForeignKey(
        "book.Account",
        on_delete=models.PROTECT,
        related_name="liquidation_orders",
        verbose_name=_("account"),
    )
    call = models.ForeignKey(
        "margincall.MarginCall",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="orders",
        verbose_name=_("margin call"),
    )
    batch = models.ForeignKey(
        LiquidationBatch, on_delete=models.PROTECT, null=True, blank=True, related_name="orders"
    )
    instrument = models.ForeignKey(
        "book.Instrument", on_delete=models.PROTECT, related_name="+", verbose_name=_("instrument")
    )
    side = models.CharField(_("side"), max_length=4, choices=Side.choices)
    quantity = models.BigIntegerField(_("quantity"))
    # The price the order was planned at (last price); the simulated exchange fills there.
    reference_price = models.DecimalField(_("reference price"), **PRICE)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    filled_quantity = models.BigIntegerField(_("filled"), default=0)
    average_price = models.DecimalField(_("average price"), null=True, blank=True, **PRICE)
    gateway = models.CharField(_("gateway"), max_length=16)
    source = models.CharField(_("source"), max_length=8, choices=Source.choices)
    reason = models.TextField(_("reason"), blank=True)  # rejection or cancel reason
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)
    # When the gateway process sent the order / the cancel (FIX); a queue marker, not a status.
    sent_at = models.DateTimeField(null=True, blank=True)
    cancel_sent_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("cancelled by"),
    )

    class Meta:
        ordering = ["-id"]
        verbose_name = _("liquidation order")
        verbose_name_plural = _("liquidation orders")
        indexes = [models.Index(fields=["status", "gateway", "id"])]
        constraints = [
            models.CheckConstraint(
                name="order_quantity_positive", condition=models.Q(quantity__gt=0)
            ),
            models.CheckConstraint(
                name="order_fill_within_quantity",
                condition=models.Q(filled_quantity__lte=models.F("quantity"))
                & models.Q(filled_quantity__gte=0),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.client_order_id} {self.side} {self.quantity} {self.instrument_id}"

    @property
    def live(self) -> bool:
        return self.status in self.LIVE

    @property
    def leaves(self) -> int:
        return 0 if not self.live else self.quantity - self.filled_quantity


class Execution(models.Model):
    """One execution report applied to an order (MC-10); a fill carries the book event it
    posted. Unique per gateway and exec id, so a repeated report is a no-op."""

    order = models.ForeignKey(LiquidationOrder, on_delete=models.PROTECT, related_name="executions")
    gateway = models.CharField(max_length=16)
    exec_id = models.CharField(max_length=64)
    exec_type = models.CharField(max_length=16)  # new | trade | cancelled | rejected
    last_quantity = models.BigIntegerField(default=0)
    last_price = models.DecimalField(null=True, blank=True, **PRICE)
    text = models.TextField(blank=True)
    book_event_id = models.BigIntegerField(null=True, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["gateway", "exec_id"], name="one_execution_per_id")
        ]

    def __str__(self) -> str:
        return f"{self.gateway}:{self.exec_id} {self.exec_type}"
