"""Reads of the book (PL-1): an account as a risk officer sees it, and the dashboard figures."""

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db.models import (
    Case,
    Count,
    DecimalField,
    Exists,
    F,
    Max,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from riskdesk.book.models import (
    Account,
    BookEvent,
    CashBalance,
    CashEntry,
    Client,
    FxRate,
    Position,
    PositionEntry,
)
from riskdesk.engine.margin import market_value
from riskdesk.engine.money import fmt_amount, round_amount

DEC = DecimalField(max_digits=38, decimal_places=10)


def fx_table() -> dict[str, Decimal]:
    """Units of base currency per unit of each currency, the base currency included."""
    rates = dict(FxRate.objects.values_list("currency", "rate"))
    rates[settings.RISKDESK_BASE_CURRENCY] = Decimal(1)
    return rates


@dataclass(frozen=True)
class Balance:
    currency: str
    balance: Decimal
    fx: Decimal
    base: Decimal


@dataclass(frozen=True)
class Holding:
    code: str
    name: str
    kind: str
    status: str
    status_label: str
    currency: str
    quantity: int
    multiplier: int
    price: Decimal | None
    price_as_of: object
    market_value: Decimal | None
    market_value_base: Decimal | None


@dataclass(frozen=True)
class AccountView:
    account: Account
    base_currency: str
    balances: list[Balance]
    holdings: list[Holding]
    cash_base: Decimal
    long_mv_base: Decimal
    short_mv_base: Decimal
    equity_base: Decimal
    unpriced: list[str]


def account_view(account: Account) -> AccountView:
    """Balances and positions with market value, each also in base currency.

    Market value is the engine's line figure (``engine.margin.market_value``: quantity × last ×
    multiplier × FX, rounded once), so it equals the margin figures to the cent. A position
    without a price is listed as unpriced, not valued at zero silently.
    """
    fx = fx_table()
    balances = [
        Balance(
            b.currency,
            b.balance,
            fx.get(b.currency, Decimal(0)),
            round_amount(b.balance * fx.get(b.currency, Decimal(0))),
        )
        for b in account.balances.order_by("currency")
    ]
    holdings, unpriced = [], []
    long_mv = short_mv = Decimal(0)
    positions = (
        account.positions.exclude(quantity=0)
        .select_related("instrument", "instrument__price")
        .order_by("instrument__code")
    )
    for p in positions:
        inst = p.instrument
        price = getattr(inst, "price", None)
        last = price.last if price else None
        if last is None:
            unpriced.append(inst.code)
            mv = mv_base = None
        else:
            mv = market_value(p.quantity, last, inst.multiplier, Decimal(1))
            mv_base = market_value(
                p.quantity, last, inst.multiplier, fx.get(inst.currency, Decimal(0))
            )
            if p.quantity > 0:
                long_mv += mv_base
            else:
                short_mv += mv_base
        holdings.append(
            Holding(
                inst.code,
                inst.name,
                inst.kind,
                inst.status,
                inst.get_status_display(),
                inst.currency,
                p.quantity,
                inst.multiplier,
                last,
                price.as_of if price else None,
                mv,
                mv_base,
            )
        )
    cash_base = sum((b.base for b in balances), Decimal(0))
    return AccountView(
        account,
        settings.RISKDESK_BASE_CURRENCY,
        balances,
        holdings,
        cash_base,
        long_mv,
        short_mv,
        cash_base + long_mv + short_mv,
        unpriced,
    )


def _in_base(amount_expr, currency_field: str, fx: dict[str, Decimal]):
    return Case(
        *[
            When(**{currency_field: cur}, then=amount_expr * Value(rate, output_field=DEC))
            for cur, rate in fx.items()
        ],
        default=Value(Decimal(0), output_field=DEC),
        output_field=DEC,
    )


def headline_figures() -> dict:
    """The dashboard's figures, cached for a minute: they aggregate the whole book (about 2 s
    at a million clients on SQLite) and the page says when they were computed."""
    figures = cache.get("book:headline")
    if figures is None:
        figures = {**_headline_figures(), "computed_at": timezone.now()}
        cache.set("book:headline", figures, 60)
    return figures


def _headline_figures() -> dict:
    fx = fx_table()
    accounts = Account.objects.aggregate(
        total=Count("id"),
        active=Count("id", filter=Q(status=Account.Status.ACTIVE)),
        cash=Count("id", filter=Q(type=Account.Type.CASH)),
        margin=Count("id", filter=Q(type=Account.Type.MARGIN)),
        intraday=Count("id", filter=Q(type=Account.Type.INTRADAY)),
    )
    cash_by_currency = list(
        CashBalance.objects.values("currency").annotate(total=Sum("balance")).order_by("currency")
    )
    per_account = (
        CashBalance.objects.values("account_id")
        .annotate(net=Sum(_in_base(F("balance"), "currency", fx)))
        .filter(net__lt=0)
    )
    debt = per_account.aggregate(
        n=Count("account_id"), total=Coalesce(Sum("net"), Value(Decimal(0), output_field=DEC))
    )
    mv_expr = F("quantity") * F("instrument__price__last") * F("instrument__multiplier")
    mv = Position.objects.aggregate(
        long=Coalesce(
            Sum(_in_base(mv_expr, "instrument__currency", fx), filter=Q(quantity__gt=0)),
            Value(Decimal(0), output_field=DEC),
        ),
        short=Coalesce(
            Sum(_in_base(mv_expr, "instrument__currency", fx), filter=Q(quantity__lt=0)),
            Value(Decimal(0), output_field=DEC),
        ),
        shorts=Count("id", filter=Q(quantity__lt=0)),
    )
    today = timezone.localdate()
    events = BookEvent.objects.aggregate(
        last=Max("created_at"), today=Count("id", filter=Q(created_at__date=today))
    )
    return {
        "base_currency": settings.RISKDESK_BASE_CURRENCY,
        "clients": Client.objects.count(),
        "accounts": accounts,
        "cash_by_currency": cash_by_currency,
        "debtors": debt["n"],
        "debt": round_amount(-debt["total"]),
        "long_mv": round_amount(mv["long"]),
        "short_mv": round_amount(mv["short"]),
        "short_positions": mv["shorts"],
        "last_event": events["last"],
        "events_today": events["today"],
    }


def reconcile_book() -> list[str]:
    """Every balance or position that differs from the sum of its entries (PL-1).

    Done in the database with correlated sums over the (account, currency) and (account,
    instrument) indexes, so it runs on a million accounts without loading them.
    """
    entries = (
        CashEntry.objects.filter(account_id=OuterRef("account_id"), currency=OuterRef("currency"))
        .values("account_id")
        .annotate(t=Sum("amount"))
        .values("t")
    )
    bad_cash = (
        CashBalance.objects.annotate(
            entries=Coalesce(Subquery(entries), Value(Decimal(0), output_field=DEC))
        )
        .exclude(balance=F("entries"))
        .values_list("account__number", "currency", "balance", "entries")[:100]
    )
    moves = (
        PositionEntry.objects.filter(
            account_id=OuterRef("account_id"), instrument_id=OuterRef("instrument_id")
        )
        .values("account_id")
        .annotate(t=Sum("quantity"))
        .values("t")
    )
    bad_stock = (
        Position.objects.annotate(entries=Coalesce(Subquery(moves), Value(0)))
        .exclude(quantity=F("entries"))
        .values_list("account__number", "instrument__code", "quantity", "entries")[:100]
    )
    orphan_cash = (
        CashEntry.objects.values("account_id", "currency")
        .annotate(t=Sum("amount"))
        .exclude(t=0)
        .exclude(
            Exists(
                CashBalance.objects.filter(
                    account_id=OuterRef("account_id"), currency=OuterRef("currency")
                )
            )
        )
        .values_list("account__number", "currency", "t")[:100]
    )
    return (
        [f"{a} {c}: balance {fmt_amount(b)} != entries {fmt_amount(e)}" for a, c, b, e in bad_cash]
        + [f"{a} {i}: position {q} != entries {e}" for a, i, q, e in bad_stock]
        + [f"{a} {c}: entries {fmt_amount(t)} without a balance row" for a, c, t in orphan_cash]
    )
