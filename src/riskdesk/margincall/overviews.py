"""Margin-call overviews (风险预警 and 股票追收): the securities-lending overview per stock and
the clients behind each stock (MC-6), bad credit (MC-7), covered-option recall (MC-8) and the
daily short-stock recall list (MC-9). All are list pages (``console.listing``) with filters and
export; liquidating is a link to the liquidation ticket of the account, prefilled with the
instrument and quantity; the recall notice (PL-7) is the bulk action of MC-6 and MC-9.

Market values are the engine's line figure (``engine.margin.market_value``: quantity × last ×
multiplier × FX, rounded once), shown in base currency and positive for a short quantity.
A page sorts by the same product computed in the database, which may differ from the shown
figure by the rounding only.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlencode

from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    Max,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest, Least
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from riskdesk.book.models import Account, Instrument, Position
from riskdesk.book.selectors import fx_table
from riskdesk.console.listing import BASE, Column, DayFilter, Filter, LinkColumn, OverviewPage
from riskdesk.engine.margin import market_value
from riskdesk.engine.money import round_amount
from riskdesk.margin.models import Shortable
from riskdesk.margincall.models import MarginCall, ShortRecall
from riskdesk.margincall.pages import call_account_filters
from riskdesk.margincall.recalls import SHORT_KINDS, short_stock_positions

VIEW = "margincall.view_margincall"
SEND = "notices.send_message"
LIQUIDATE = "liquidation.liquidate"

DEC = DecimalField(max_digits=38, decimal_places=10)
FX = DecimalField(max_digits=20, decimal_places=8)
QTY = BigIntegerField()

MARKETS = dict(Instrument.Market.choices)
ACCOUNT_TYPES = dict(Account.Type.choices)
ALERTS = dict(MarginCall.Alert.choices)
NO_SHORT_MARGIN = "none"
SHORTABLE = {**dict(Shortable.choices), NO_SHORT_MARGIN: _("No short margin")}
REASONS = dict(ShortRecall.Reason.choices)


def ticket_url(account_number: str, code: str | None = None, quantity: int | None = None):
    """The liquidation ticket of an account (MC-1), prefilled with an instrument and the
    quantity to close when given; None while the ticket page is not installed."""
    try:
        url = reverse("liquidation:ticket", args=[account_number])
    except NoReverseMatch:
        return None
    if code is None:
        return url
    return f"{url}?{urlencode({'instrument': code, 'quantity': abs(int(quantity or 0))})}"


def _account_detail(row: dict, number_key: str = "account__number") -> str:
    """The account's open margin call when it has one, else its book page."""
    if row.get("open_call"):
        return reverse("margincall:call", args=[row["open_call"]])
    return reverse("book:account", args=[row[number_key]])


# --- query pieces ------------------------------------------------------------------------------


def _fx(currency_field: str):
    """Units of base currency per unit of the row's currency (NULL for an unknown currency)."""
    return Case(
        *[
            When(**{currency_field: currency}, then=Value(rate, output_field=FX))
            for currency, rate in fx_table().items()
        ],
        default=Value(None, output_field=FX),
        output_field=FX,
    )


def _value_in_base(quantity: str, price: str, multiplier: str, fx: str = "fx_rate"):
    """The sort key of a market value: quantity × price × multiplier × FX, 0 when unpriced."""
    product = ExpressionWrapper(F(quantity) * F(price) * F(multiplier) * F(fx), output_field=DEC)
    return Coalesce(product, Value(Decimal(0), output_field=DEC), output_field=DEC)


def _mv(quantity: str, price: str, multiplier: str, fx: str = "fx_rate"):
    """A derive: the engine's market value of the row's quantity, in base currency."""

    def get(row):
        values = (row.get(quantity), row.get(price), row.get(fx))
        if any(v is None for v in values):
            return None
        return market_value(row[quantity], row[price], row[multiplier], row[fx])

    return get


def _open_call(field: str = "pk", account: str = "account"):
    return Subquery(
        MarginCall.objects.filter(account=OuterRef(account), status=MarginCall.Status.OPEN).values(
            field
        )[:1]
    )


# --- MC-6 融券持仓概览 ----------------------------------------------------------------------------


def _short_total(expr):
    """A per-stock figure over the stock's short positions."""
    return Subquery(
        Position.objects.filter(instrument=OuterRef("pk"), quantity__lt=0)
        .order_by()
        .values("instrument")
        .annotate(v=expr)
        .values("v")[:1]
    )


def _lending_stocks():
    qs = Instrument.objects.filter(kind__in=SHORT_KINDS).annotate(
        short_qty=_short_total(Sum(F("quantity") * -1, output_field=QTY)),
        accounts=_short_total(Count("id")),
        clients=_short_total(Count("account__client", distinct=True)),
        fx_rate=_fx("currency"),
    )
    return qs.filter(short_qty__gt=0).annotate(
        short_mv=_value_in_base("short_qty", "price__last", "multiplier"),
        pool_left=ExpressionWrapper(F("short_margin__pool_qty") - F("short_qty"), output_field=QTY),
    )


def positions_url(code: str) -> str:
    """The clients short in one stock: the MC-6 detail."""
    return f"{reverse('margincall:lending-positions')}?{urlencode({'stock': code})}"


def _shortable(row):
    return row.get("short_margin__shortable") or NO_SHORT_MARGIN


def _total_short_mv(qs, quantity: str, price: str, multiplier: str) -> Decimal:
    keys = (quantity, price, multiplier, "fx_rate")
    total = Decimal("0.00")
    for values in qs.order_by().values_list(*keys).iterator(chunk_size=2000):
        if None not in values:
            total += market_value(*values)
    return total


def _lending_summary(qs) -> list:
    return [
        (
            _("Short market value"),
            _total_short_mv(qs, "short_qty", "price__last", "multiplier"),
            "total-short-mv",
        )
    ]


lending = OverviewPage(
    name="lending",
    title=_("Securities-lending overview"),
    feature="MC-6",
    permission=VIEW,
    queryset=_lending_stocks,
    columns=[
        LinkColumn("code", _("Stock"), href=lambda row: positions_url(row["code"])),
        Column("name", _("Name")),
        Column("market", _("Market"), choices=MARKETS),
        Column("short_qty", _("Short quantity"), kind="quantity", sortable=True),
        Column("accounts", _("Accounts"), kind="quantity", sortable=True),
        Column("clients", _("Clients"), kind="quantity"),
        Column("currency", _("Currency")),
        Column("price__last", _("Last price"), kind="price", currency_key="currency"),
        Column(
            "short_mv",
            _("Short market value"),
            kind="amount",
            sortable=True,
            currency_key=BASE,
            derive=_mv("short_qty", "price__last", "multiplier"),
        ),
        Column("short_margin__shortable", _("Shortable"), choices=SHORTABLE, derive=_shortable),
        Column("short_margin__pool_qty", _("Lending pool"), kind="quantity"),
        Column("pool_left", _("Pool less short quantity"), kind="quantity"),
        Column("short_margin__status_reason", _("Why")),
        LinkColumn(
            "code", _("Clients short"), text=_("Detail"), href=lambda r: positions_url(r["code"])
        ),
    ],
    filters=[
        Filter("code", _("Stock"), "prefix"),
        Filter("name", _("Name"), "contains"),
        Filter("market", _("Market"), "choice", choices=tuple(Instrument.Market.choices)),
        Filter(
            "shortable",
            _("Shortable"),
            "choice",
            lookup="short_margin__shortable",
            choices=tuple(Shortable.choices),
        ),
    ],
    default_sort="-short_mv",
    summary=_lending_summary,
    extra_keys=("multiplier", "fx_rate"),
)


def _lending_positions():
    qs = short_stock_positions().annotate(
        short_qty=ExpressionWrapper(F("quantity") * -1, output_field=QTY),
        fx_rate=_fx("instrument__currency"),
        open_call=_open_call(),
        open_call_amount=_open_call("call_amount"),
    )
    return qs.annotate(
        short_mv=_value_in_base("short_qty", "instrument__price__last", "instrument__multiplier")
    )


def _positions_summary(qs) -> list:
    total = _total_short_mv(qs, "short_qty", "instrument__price__last", "instrument__multiplier")
    return [(_("Short market value"), total, "total-short-mv")]


def _liquidate_position(row):
    return ticket_url(row["account__number"], row["instrument__code"], row["short_qty"])


lending_positions = OverviewPage(
    name="lending-positions",
    title=_("Clients short in a stock"),
    feature="MC-6",
    permission=VIEW,
    queryset=_lending_positions,
    columns=[
        Column("instrument__code", _("Stock")),
        Column("instrument__name", _("Name")),
        Column("account__number", _("Account"), link=("book:account", "account__number")),
        Column("account__client__code", _("Client code")),
        Column("account__client__name", _("Client name")),
        Column("short_qty", _("Short quantity"), kind="quantity", sortable=True),
        Column("instrument__currency", _("Currency")),
        Column(
            "instrument__price__last",
            _("Last price"),
            kind="price",
            currency_key="instrument__currency",
        ),
        Column(
            "short_mv",
            _("Market value"),
            kind="amount",
            sortable=True,
            currency_key=BASE,
            derive=_mv("short_qty", "instrument__price__last", "instrument__multiplier"),
        ),
        Column("open_call", _("Open margin call"), link=("margincall:call", "open_call")),
        Column("open_call_amount", _("Call amount"), kind="amount", currency_key=BASE),
        LinkColumn(
            "account__number",
            _("Liquidate"),
            text=_("Liquidate"),
            href=_liquidate_position,
            permission=LIQUIDATE,
        ),
    ],
    filters=[
        Filter("stock", _("Stock"), "exact", lookup="instrument__code"),
        Filter("account", _("Account"), "prefix", lookup="account__number"),
        Filter("client", _("Client code"), "prefix", lookup="account__client__code"),
        Filter(
            "market",
            _("Market"),
            "choice",
            lookup="instrument__market",
            choices=tuple(Instrument.Market.choices),
        ),
    ],
    default_sort="-short_mv",
    summary=_positions_summary,
    extra_keys=("instrument__multiplier", "fx_rate"),
    bulk_action=(_("Send recall notice to selected"), "notices:recall-positions", SEND),
)


# --- MC-7 不良信贷处理 ----------------------------------------------------------------------------


def _bad_credit():
    """Accounts whose debt exceeds their collateral: liquid net assets below zero, as the
    risk monitor last screened them (open margin calls)."""
    return MarginCall.objects.filter(status=MarginCall.Status.OPEN, lna__lt=0).annotate(
        shortfall=ExpressionWrapper(
            F("lna") * -1, output_field=DecimalField(max_digits=20, decimal_places=2)
        )
    )


def _bad_credit_summary(qs) -> list:
    totals = qs.order_by().aggregate(lna=Sum("lna"), loan=Sum("loan"))
    zero = Decimal("0.00")
    return [
        (_("Total shortfall"), round_amount(-(totals["lna"] or zero)), "total-shortfall"),
        (_("Total loan"), round_amount(totals["loan"] or zero), "total-loan"),
    ]


bad_credit = OverviewPage(
    name="bad-credit",
    title=_("Bad credit"),
    feature="MC-7",
    permission=VIEW,
    queryset=_bad_credit,
    columns=[
        Column("account__number", _("Account"), link=("margincall:call", "pk")),
        Column("account__client__code", _("Client code")),
        Column("account__client__name", _("Client name")),
        Column("account__type", _("Account type"), choices=ACCOUNT_TYPES),
        Column("alert", _("Alert type"), choices=ALERTS),
        Column("loan", _("Loan"), kind="amount", sortable=True, currency_key=BASE),
        Column("market_value", _("Market value"), kind="amount", currency_key=BASE),
        Column("equity", _("Equity"), kind="amount", currency_key=BASE),
        Column("lna", _("Liquid net assets"), kind="amount", currency_key=BASE),
        Column("shortfall", _("Shortfall"), kind="amount", sortable=True, currency_key=BASE),
        Column("call_amount", _("Call amount"), kind="amount", sortable=True, currency_key=BASE),
        Column("triggered_at", _("Triggered"), kind="datetime", sortable=True),
        Column("deadline", _("Deadline"), kind="date"),
        LinkColumn(
            "account__number",
            _("Liquidate"),
            text=_("Liquidate"),
            href=lambda row: ticket_url(row["account__number"]),
            permission=LIQUIDATE,
        ),
    ],
    filters=[
        *call_account_filters(),
        Filter("shortfall_min", _("Shortfall from"), "min", lookup="shortfall"),
        Filter("triggered_from", _("Triggered from"), "date_from", lookup="triggered_at"),
        Filter("triggered_to", _("Triggered to"), "date_to", lookup="triggered_at"),
    ],
    default_sort="-shortfall",
    summary=_bad_credit_summary,
)


# --- MC-8 期权备兑追收 ----------------------------------------------------------------------------


def _short_calls():
    return Position.objects.filter(
        quantity__lt=0,
        instrument__kind=Instrument.Kind.OPTION,
        instrument__option_type=Instrument.OptionType.CALL,
    )


def _covered_calls():
    """Short calls whose underlying shares in the same account do not cover them.

    Shares required = contracts × multiplier. The account's long underlying shares cover its
    short calls on that underlying one call after another, nearest expiry first (then by
    option code), so a holding is never counted twice: ``covering`` is what is left for this
    call, and the shortfall is what it still lacks.
    """
    earlier = (
        _short_calls()
        .filter(
            account=OuterRef("account"),
            instrument__underlying=OuterRef("instrument__underlying"),
        )
        .filter(
            Q(instrument__expiry__lt=OuterRef("instrument__expiry"))
            | Q(
                instrument__expiry=OuterRef("instrument__expiry"),
                instrument__code__lt=OuterRef("instrument__code"),
            )
        )
        .order_by()
        .values("account")
        .annotate(v=Sum(F("quantity") * F("instrument__multiplier") * -1, output_field=QTY))
        .values("v")[:1]
    )
    held = Subquery(
        Position.objects.filter(
            account=OuterRef("account"), instrument=OuterRef("instrument__underlying")
        ).values("quantity")[:1]
    )
    zero = Value(0, output_field=QTY)
    qs = _short_calls().annotate(
        contracts=ExpressionWrapper(F("quantity") * -1, output_field=QTY),
        required=ExpressionWrapper(
            F("quantity") * F("instrument__multiplier") * -1, output_field=QTY
        ),
        held=Greatest(Coalesce(held, zero), zero, output_field=QTY),
        earlier=Coalesce(Subquery(earlier), zero, output_field=QTY),
    )
    qs = qs.annotate(
        covering=Least(
            Greatest(F("held") - F("earlier"), zero, output_field=QTY),
            F("required"),
            output_field=QTY,
        )
    )
    return qs.annotate(
        shortfall=ExpressionWrapper(F("required") - F("covering"), output_field=QTY),
        open_call=_open_call(),
    ).filter(shortfall__gt=0)


def _shortfall_value(row):
    last = row.get("instrument__underlying__price__last")
    return None if last is None else round_amount(row["shortfall"] * last)


def _close_option(row):
    return ticket_url(row["account__number"], row["instrument__code"], row["contracts"])


covered_calls = OverviewPage(
    name="covered-calls",
    title=_("Covered-option recall"),
    feature="MC-8",
    permission=VIEW,
    queryset=_covered_calls,
    columns=[
        LinkColumn("account__number", _("Account"), href=_account_detail),
        Column("account__client__code", _("Client code")),
        Column("account__client__name", _("Client name")),
        Column("instrument__code", _("Option")),
        Column("instrument__expiry", _("Expiry"), kind="date"),
        Column("instrument__strike", _("Strike"), kind="price"),
        Column("contracts", _("Contracts short"), kind="quantity", sortable=True),
        Column("instrument__multiplier", _("Multiplier"), kind="quantity"),
        Column("instrument__underlying__code", _("Underlying")),
        Column("required", _("Shares required"), kind="quantity"),
        Column("held", _("Shares held"), kind="quantity"),
        Column("covering", _("Shares covering this option"), kind="quantity"),
        Column("shortfall", _("Shortfall (shares)"), kind="quantity", sortable=True),
        Column("instrument__underlying__currency", _("Currency")),
        Column(
            "instrument__underlying__price__last",
            _("Underlying last price"),
            kind="price",
            currency_key="instrument__underlying__currency",
        ),
        Column(
            "shortfall",
            _("Shortfall value"),
            kind="amount",
            currency_key="instrument__underlying__currency",
            derive=_shortfall_value,
        ),
        LinkColumn(
            "account__number",
            _("Close option"),
            text=_("Close option"),
            href=_close_option,
            permission=LIQUIDATE,
        ),
    ],
    filters=[
        Filter("account", _("Account"), "prefix", lookup="account__number"),
        Filter("client", _("Client code"), "prefix", lookup="account__client__code"),
        Filter("underlying", _("Underlying"), "prefix", lookup="instrument__underlying__code"),
        Filter("option", _("Option"), "prefix", lookup="instrument__code"),
        Filter("expiry_from", _("Expiry from"), "day_from", lookup="instrument__expiry"),
        Filter("expiry_to", _("Expiry to"), "day_to", lookup="instrument__expiry"),
    ],
    default_sort="-shortfall",
    extra_keys=("open_call",),
)


# --- MC-9 空头股票追收 ----------------------------------------------------------------------------


@dataclass
class RecallPage(OverviewPage):
    """The daily recall list: one run date at a time, the latest unless the filter names one."""

    def filtered(self, params, user=None):
        qs, active, errors = super().filtered(params, user)
        if not (params.get("run_date") or "").strip():
            latest = ShortRecall.objects.aggregate(latest=Max("run_date"))["latest"]
            qs = qs.filter(run_date=latest) if latest else qs.none()
        return qs, active, errors


def _recalls():
    return ShortRecall.objects.annotate(open_call=_open_call())


def _recall_summary(qs) -> list:
    total = qs.order_by().aggregate(mv=Sum("market_value"))["mv"] or Decimal("0.00")
    return [(_("Market value to recall"), round_amount(total), "total-recall-mv")]


def _close_short(row):
    return ticket_url(row["account__number"], row["instrument__code"], row["quantity"])


short_recalls = RecallPage(
    name="short-recalls",
    title=_("Short-stock recall"),
    feature="MC-9",
    permission=VIEW,
    queryset=_recalls,
    columns=[
        Column("run_date", _("Run date"), kind="date"),
        LinkColumn("account__number", _("Account"), href=_account_detail),
        Column("account__client__code", _("Client code")),
        Column("account__client__name", _("Client name")),
        Column("instrument__code", _("Stock")),
        Column("instrument__name", _("Name")),
        Column("quantity", _("Quantity short"), kind="quantity", sortable=True),
        Column("market_value", _("Market value"), kind="amount", currency_key=BASE),
        Column("reason", _("Reason"), choices=REASONS),
        Column(
            "shortable",
            _("Shortable"),
            choices=SHORTABLE,
            derive=lambda row: row.get("shortable") or NO_SHORT_MARGIN,
        ),
        Column("pool_qty", _("Lending pool"), kind="quantity"),
        Column("total_short", _("Short quantity of all clients"), kind="quantity"),
        LinkColumn(
            "account__number",
            _("Close"),
            text=_("Close"),
            href=_close_short,
            permission=LIQUIDATE,
        ),
    ],
    filters=[
        DayFilter("run_date", _("Run date")),
        Filter("account", _("Account"), "prefix", lookup="account__number"),
        Filter("stock", _("Stock"), "prefix", lookup="instrument__code"),
        Filter("reason", _("Reason"), "choice", choices=tuple(ShortRecall.Reason.choices)),
    ],
    default_sort="id",
    summary=_recall_summary,
    extra_keys=("open_call",),
    bulk_action=(_("Send recall notice to selected"), "notices:recall-short", SEND),
)

LIST_PAGES = [lending, lending_positions, bad_credit, covered_calls, short_recalls]
