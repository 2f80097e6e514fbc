"""Margin ratios (MR-1 … MR-5) and stock groups (PL-12).

Every ratio is four factors, 1 ≥ IM ≥ MCM ≥ MM ≥ FM ≥ 0. The ratios in force are governed
models: only an approved request (or, for MR-1/MR-2, the setting record it created, when it
is synchronised or falls due) writes them. ``resolution.py`` decides which one a position uses.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from riskdesk.approvals.governed import GovernedModel, governed_history
from riskdesk.engine.margin import MarginFactors

FACTOR = {"max_digits": 5, "decimal_places": 4}


class Factors(models.Model):
    im = models.DecimalField(_("initial margin"), **FACTOR)
    mcm = models.DecimalField(_("margin-call margin"), **FACTOR)
    mm = models.DecimalField(_("maintenance margin"), **FACTOR)
    fm = models.DecimalField(_("force-close margin"), **FACTOR)

    class Meta:
        abstract = True
        constraints = []

    def factors(self) -> MarginFactors:
        return MarginFactors(self.im, self.mcm, self.mm, self.fm)


def _ordered(prefix: str) -> models.CheckConstraint:
    return models.CheckConstraint(
        name=f"{prefix}_factors_ordered",
        condition=Q(im__lte=1)
        & Q(im__gte=models.F("mcm"))
        & Q(mcm__gte=models.F("mm"))
        & Q(mm__gte=models.F("fm"))
        & Q(fm__gte=0),
    )


class Shortable(models.TextChoices):
    ALLOWED = "allowed", _("Short selling allowed")
    FORBIDDEN = "forbidden", _("Short selling forbidden")
    SYSTEM_FORBIDDEN = "system_forbidden", _("Forbidden by the system")


class StockGroup(GovernedModel):
    """A named set of stocks (股票组, PL-12) that client margin rules may target."""

    name = models.CharField(_("group name"), max_length=100, unique=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    history = governed_history()

    class Meta:
        ordering = ["name"]
        verbose_name = _("stock group")

    def __str__(self) -> str:
        return self.name


class StockGroupMember(GovernedModel):
    group = models.ForeignKey(StockGroup, on_delete=models.CASCADE, related_name="members")
    instrument = models.ForeignKey(
        "book.Instrument", on_delete=models.CASCADE, related_name="stock_group_memberships"
    )
    history = governed_history()

    class Meta:
        ordering = ["group", "instrument"]
        constraints = [
            models.UniqueConstraint(fields=["group", "instrument"], name="stock_once_per_group")
        ]

    def __str__(self) -> str:
        return f"{self.group.name}: {self.instrument.code}"


class StockMargin(GovernedModel, Factors):
    """The long margin ratio in force for a stock (MR-1). No row: not marginable (100%)."""

    instrument = models.OneToOneField(
        "book.Instrument", on_delete=models.CASCADE, related_name="stock_margin"
    )
    history = governed_history()

    class Meta:
        ordering = ["instrument"]
        verbose_name = _("long stock margin")
        constraints = [_ordered("stock_margin")]

    def __str__(self) -> str:
        return f"{self.instrument_id} long"


class IntradayMargin(GovernedModel, Factors):
    """The intraday ratio of a stock for intraday-margin accounts (MR-2); used only while the
    market's intraday rule is active, otherwise 100%."""

    instrument = models.OneToOneField(
        "book.Instrument", on_delete=models.CASCADE, related_name="intraday_margin"
    )
    history = governed_history()

    class Meta:
        ordering = ["instrument"]
        verbose_name = _("intraday margin")
        constraints = [_ordered("intraday_margin")]

    def __str__(self) -> str:
        return f"{self.instrument_id} intraday"


class IntradayRule(GovernedModel):
    """规则设置 (MR-2): on trading days of ``market``, intraday ratios are active from
    ``starts_after_open`` minutes after the open until ``ends_before_close`` minutes before
    the close (the early close on a half day)."""

    market = models.CharField(_("market"), max_length=2, unique=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    starts_after_open = models.PositiveSmallIntegerField(
        _("active from (minutes after the open)"), default=0
    )
    ends_before_close = models.PositiveSmallIntegerField(
        _("active until (minutes before the close)"), default=30
    )
    history = governed_history()

    class Meta:
        ordering = ["market"]
        verbose_name = _("intraday rule")

    def __str__(self) -> str:
        return f"{self.market} intraday rule"


class MarginSetting(models.Model):
    """设置记录 (MR-3): an approved MR-1 / MR-2 change waiting for its effective date.

    未触发 (pending) → 同步 applies it now (已触发, triggered), or it falls due on its effective
    date; 取消同步 revokes it (已撤销). Written only by margin services.
    """

    class Book(models.TextChoices):
        LONG = "long", _("Long stock margin")
        # Not the account type "Intraday margin" (日内融): the ratio book (日内交易实时保证金).
        INTRADAY = "intraday", pgettext_lazy("ratio", "Intraday margin")

    class Action(models.TextChoices):
        SET = "set", _("Set ratio")
        DELETE = "delete", _("Delete ratio")

    class Status(models.TextChoices):
        PENDING = "pending", _("Not triggered")
        TRIGGERED = "triggered", _("Triggered")
        REVOKED = "revoked", _("Revoked")

    book = models.CharField(_("ratio"), max_length=10, choices=Book.choices)
    instrument = models.ForeignKey(
        "book.Instrument",
        on_delete=models.PROTECT,
        related_name="margin_settings",
        verbose_name=_("stock"),
    )
    action = models.CharField(
        _("action"), max_length=10, choices=Action.choices, default=Action.SET
    )
    factors = models.JSONField(
        _("new ratio"), null=True, blank=True
    )  # {"im": "0.4000", …}; None to delete
    before = models.JSONField(_("ratio before"), null=True, blank=True)  # in force when triggered
    effective_date = models.DateField(_("effective date"), db_index=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    request_id = models.BigIntegerField(_("request"), db_index=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    acted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    acted_at = models.DateTimeField(_("triggered / revoked"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("margin setting record")
        permissions = [("sync_marginsetting", "Can synchronise or revoke margin setting records")]

    def __str__(self) -> str:
        return f"{self.book} {self.instrument_id} {self.status}"


class ShortMargin(GovernedModel, Factors):
    """空头保证金 (MR-4): the short ratio of a stock, its shortable status and lending-pool rules.

    The pool (融券池) is reported by the securities-lending desk; at or below
    ``auto_close_qty`` the system forbids short selling, at or above ``auto_restore_qty``
    (≥ auto_close_qty) it allows it again — unless forbidden by hand.
    """

    instrument = models.OneToOneField(
        "book.Instrument", on_delete=models.CASCADE, related_name="short_margin"
    )
    shortable = models.CharField(
        _("shortable"), max_length=16, choices=Shortable.choices, default=Shortable.ALLOWED
    )
    auto_close_qty = models.BigIntegerField(_("auto-close quantity"), null=True, blank=True)
    auto_restore_qty = models.BigIntegerField(_("auto-restore quantity"), null=True, blank=True)
    pool_qty = models.BigIntegerField(_("lending pool"), null=True, blank=True)
    status_reason = models.CharField(_("why"), max_length=200, blank=True)
    history = governed_history()

    class Meta:
        ordering = ["instrument"]
        verbose_name = _("short margin")
        permissions = [("update_lending_pool", "Can report lending-pool quantities")]
        constraints = [
            _ordered("short_margin"),
            models.CheckConstraint(
                name="short_margin_restore_at_least_close",
                condition=Q(auto_close_qty__isnull=True)
                | Q(auto_restore_qty__isnull=True)
                | Q(auto_restore_qty__gte=models.F("auto_close_qty")),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.instrument_id} short"


class ClientMarginRule(GovernedModel, Factors):
    """客户保证金 (MR-5): a ratio for a client or a client group × a stock or a stock group,
    long or short, that beats the stock's own ratio (MR-6). 生效中 (active) until 置为失效."""

    class Side(models.TextChoices):
        LONG = "long", _("Long")
        SHORT = "short", _("Short")

    class Status(models.TextChoices):
        ACTIVE = "active", pgettext_lazy("rule", "Active")  # 生效中, not an account's 正常
        INVALID = "invalid", _("Invalidated")

    side = models.CharField(_("side"), max_length=5, choices=Side.choices)
    client = models.ForeignKey(
        "book.Client",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="margin_rules",
        verbose_name=_("client"),
    )
    client_group = models.ForeignKey(
        "lists.ClientGroup",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="margin_rules",
        verbose_name=_("client group"),
    )
    instrument = models.ForeignKey(
        "book.Instrument",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="client_margin_rules",
        verbose_name=_("stock"),
    )
    stock_group = models.ForeignKey(
        StockGroup,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="client_margin_rules",
        verbose_name=_("stock group"),
    )
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.ACTIVE, db_index=True
    )
    # Short side only (MR-5 "as MR-4"):
    shortable = models.CharField(
        _("shortable"), max_length=16, choices=Shortable.choices, blank=True
    )
    auto_close_qty = models.BigIntegerField(_("auto-close quantity"), null=True, blank=True)
    auto_restore_qty = models.BigIntegerField(_("auto-restore quantity"), null=True, blank=True)
    history = governed_history()

    class Meta:
        ordering = ["-id"]
        verbose_name = _("client margin rule")
        constraints = [
            _ordered("client_margin"),
            models.CheckConstraint(
                name="client_margin_one_subject",
                condition=(Q(client__isnull=False) & Q(client_group__isnull=True))
                | (Q(client__isnull=True) & Q(client_group__isnull=False)),
            ),
            models.CheckConstraint(
                name="client_margin_one_object",
                condition=(Q(instrument__isnull=False) & Q(stock_group__isnull=True))
                | (Q(instrument__isnull=True) & Q(stock_group__isnull=False)),
            ),
        ]
        indexes = [
            models.Index(fields=["client", "side", "status"]),
            models.Index(fields=["client_group", "side", "status"]),
        ]

    def __str__(self) -> str:
        who = (
            f"client {self.client.code}"
            if self.client_id
            else f"client group {self.client_group.name}"
        )
        what = (
            f"stock {self.instrument.code}"
            if self.instrument_id
            else f"stock group {self.stock_group.name}"
        )
        return f"{self.side} {who} × {what}"
