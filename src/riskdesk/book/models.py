"""The book of record (PL-1): who holds what, and every movement that got them there.

Balances and positions are kept as rows updated in the same transaction as the ledger entry
that moves them, so reading an account is one indexed lookup; ``reconcile_book`` proves
balance = sum of entries. Nothing here is written except through ``book.services``.
"""

from decimal import Decimal

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

AMOUNT = {"max_digits": 20, "decimal_places": 2}
PRICE = {"max_digits": 20, "decimal_places": 6}
FX = {"max_digits": 20, "decimal_places": 8}


class Language(models.TextChoices):
    ZH_HANS = "zh-hans", "简体中文"
    ZH_HANT = "zh-hant", "繁體中文"
    EN = "en", "English"


class Client(models.Model):
    code = models.CharField(_("client code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=200)
    language = models.CharField(
        _("language"), max_length=8, choices=Language.choices, default=Language.ZH_HANT
    )
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["code"]
        verbose_name = _("client")
        verbose_name_plural = _("clients")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Account(models.Model):
    class Type(models.TextChoices):
        CASH = "cash", _("Cash")
        MARGIN = "margin", _("Margin")
        INTRADAY = "intraday", _("Intraday margin")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        CLOSED = "closed", _("Closed")

    number = models.CharField(_("account"), max_length=32, unique=True)
    client = models.ForeignKey(
        Client, on_delete=models.PROTECT, related_name="accounts", verbose_name=_("client")
    )
    type = models.CharField(_("type"), max_length=10, choices=Type.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE
    )
    # Accrued interest receivable (应收利息), base currency; raised by interest-accrual events.
    interest_receivable = models.DecimalField(
        _("interest receivable"), default=Decimal("0"), **AMOUNT
    )
    opened_at = models.DateTimeField(_("opened"), default=timezone.now)

    class Meta:
        ordering = ["number"]
        # The risk desk lists accounts by type and status; (type, number) lets a filtered,
        # number-ordered page seek instead of sorting half a million margin accounts.
        indexes = [
            models.Index(fields=["type", "number"]),
            models.Index(fields=["status", "number"]),
        ]
        verbose_name = _("account")
        verbose_name_plural = _("accounts")

    def __str__(self) -> str:
        return self.number


class Instrument(models.Model):
    class Market(models.TextChoices):
        HK = "HK", _("Hong Kong")
        US = "US", _("United States")
        CN = "CN", _("China Connect")

    class Kind(models.TextChoices):
        STOCK = "stock", _("Stock")
        ETF = "etf", _("ETF")
        WARRANT = "warrant", _("Warrant")
        OPTION = "option", _("Option")

    class Status(models.TextChoices):
        NORMAL = "normal", _("Normal")
        SUSPENDED = "suspended", _("Suspended")
        LONG_SUSPENDED = "long_suspended", _("Long suspended")
        DELISTED = "delisted", _("Delisted")

    class OptionType(models.TextChoices):
        CALL = "call", _("Call")
        PUT = "put", _("Put")

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    market = models.CharField(_("market"), max_length=2, choices=Market.choices, db_index=True)
    kind = models.CharField(
        _("kind"), max_length=10, choices=Kind.choices, default=Kind.STOCK, db_index=True
    )
    currency = models.CharField(_("currency"), max_length=3)
    lot_size = models.PositiveIntegerField(_("lot size"), default=1)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.NORMAL, db_index=True
    )
    # Options: contract size and terms. Shares per contract; 1 for everything that is not a contract.
    multiplier = models.PositiveIntegerField(_("multiplier"), default=1)
    underlying = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="derivatives",
        verbose_name=_("underlying"),
    )
    strike = models.DecimalField(_("strike"), null=True, blank=True, **PRICE)
    expiry = models.DateField(_("expiry"), null=True, blank=True)
    option_type = models.CharField(
        _("option type"), max_length=4, choices=OptionType.choices, blank=True
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("instrument")
        verbose_name_plural = _("instruments")
        constraints = [
            models.CheckConstraint(
                name="option_has_terms",
                condition=~models.Q(kind="option")
                | (
                    models.Q(underlying__isnull=False, strike__isnull=False, expiry__isnull=False)
                    & ~models.Q(option_type="")
                ),
            ),
            models.CheckConstraint(name="lot_size_positive", condition=models.Q(lot_size__gt=0)),
        ]

    def __str__(self) -> str:
        return self.code


class Price(models.Model):
    """The latest price of an instrument, in its own currency."""

    instrument = models.OneToOneField(
        Instrument, on_delete=models.CASCADE, related_name="price", primary_key=True
    )
    last = models.DecimalField(_("last"), **PRICE)
    prev_close = models.DecimalField(_("previous close"), null=True, blank=True, **PRICE)
    as_of = models.DateTimeField(_("as of"), db_index=True)

    class Meta:
        ordering = ["instrument__code"]
        verbose_name = _("price")
        verbose_name_plural = _("prices")

    def __str__(self) -> str:
        return f"{self.instrument_id} {self.last}"


class FxRate(models.Model):
    """Units of base currency per unit of ``currency``; the base currency itself is 1."""

    currency = models.CharField(_("currency"), max_length=3, primary_key=True)
    rate = models.DecimalField(_("rate"), **FX)
    as_of = models.DateTimeField(_("as of"))

    class Meta:
        ordering = ["currency"]
        verbose_name = _("FX rate")
        verbose_name_plural = _("FX rates")

    def __str__(self) -> str:
        return f"{self.currency} {self.rate}"


class BookEvent(models.Model):
    """Every event that changed the book, once per idempotency key (PL-1).

    Also the outbox the risk monitor tails by id: a committed event is never lost to it.
    """

    class Kind(models.TextChoices):
        DEPOSIT = "deposit", _("Deposit")
        WITHDRAWAL = "withdrawal", _("Withdrawal")
        TRANSFER_IN = "transfer_in", _("Stock transfer-in")
        TRADE_FILL = "trade_fill", _("Trade fill")
        INTEREST_ACCRUAL = "interest_accrual", _("Interest accrual")
        FX_CONVERSION = "fx_conversion", _("FX conversion")
        PRICE_UPDATE = "price_update", _("Price update")
        FX_UPDATE = "fx_update", _("FX update")
        OPENING = "opening", _("Opening balance")

    key = models.CharField(_("idempotency key"), max_length=128, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, db_index=True)
    payload = models.JSONField(_("payload"))
    result = models.JSONField(_("result"), default=dict)
    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    actor = models.ForeignKey(
        "auth.User", on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("by")
    )
    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("book event")
        verbose_name_plural = _("book events")
        permissions = [
            ("post_event", "Can post book events"),
            ("import_instruments", "Can batch-import instruments"),
            ("export_rows", "Can export list pages"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}"


class CashEntry(models.Model):
    """One movement of cash (PL-1). The balance of an account in a currency is their sum."""

    class Kind(models.TextChoices):
        OPENING = "opening", _("Opening balance")
        DEPOSIT = "deposit", _("Deposit")
        WITHDRAWAL = "withdrawal", _("Withdrawal")
        TRADE = "trade", _("Trade")
        FEE = "fee", _("Fee")
        FX = "fx", _("FX conversion")

    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="cash_entries", verbose_name=_("account")
    )
    currency = models.CharField(_("currency"), max_length=3)
    amount = models.DecimalField(_("amount"), **AMOUNT)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    event = models.ForeignKey(BookEvent, on_delete=models.PROTECT, related_name="cash_entries")
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("cash entry")
        verbose_name_plural = _("cash ledger")
        indexes = [models.Index(fields=["account", "currency", "id"])]

    def __str__(self) -> str:
        return f"{self.account_id} {self.currency} {self.amount}"


class CashBalance(models.Model):
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="balances")
    currency = models.CharField(_("currency"), max_length=3)
    balance = models.DecimalField(_("balance"), default=Decimal("0"), **AMOUNT)

    class Meta:
        ordering = ["account_id", "currency"]
        constraints = [
            models.UniqueConstraint(fields=["account", "currency"], name="one_balance_per_currency")
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.currency} {self.balance}"


class Position(models.Model):
    """Quantity held; negative is short (PL-1)."""

    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="positions", verbose_name=_("account")
    )
    instrument = models.ForeignKey(
        Instrument, on_delete=models.PROTECT, related_name="positions", verbose_name=_("instrument")
    )
    quantity = models.BigIntegerField(_("quantity"), default=0)

    class Meta:
        ordering = ["account_id", "instrument_id"]
        verbose_name = _("position")
        verbose_name_plural = _("positions")
        constraints = [
            models.UniqueConstraint(
                fields=["account", "instrument"], name="one_position_per_instrument"
            )
        ]
        indexes = [
            models.Index(fields=["instrument", "account"]),
            # The short positions of a stock (MC-6, MC-9) without reading its longs.
            models.Index(
                fields=["instrument", "account"],
                condition=models.Q(quantity__lt=0),
                name="position_short_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.instrument_id} {self.quantity}"


class PositionEntry(models.Model):
    """One movement of stock: a fill or a transfer-in."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="position_entries")
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="+")
    quantity = models.BigIntegerField(_("quantity"))
    price = models.DecimalField(_("price"), null=True, blank=True, **PRICE)
    event = models.ForeignKey(BookEvent, on_delete=models.PROTECT, related_name="position_entries")
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["account", "instrument", "id"])]

    def __str__(self) -> str:
        return f"{self.account_id} {self.instrument_id} {self.quantity:+d}"
