"""Which margin ratio a position uses, and why (MR-6). The one place that decides it: the
console, the API and the engine's books all call ``Resolver``.

For a position of an account in an instrument, long or short, at a moment:

1. delisted or long-suspended stock → 100% (it is not collateral);
2. cash account → 100% (no margin lending);
3. an active client rule of the position's side (MR-5), the most specific first:
   client × stock > client × stock group > client group × stock > client group × stock group;
   several rules at the same level (a client in two groups) → the most conservative (highest IM);
4. short position → the stock's short ratio (MR-4);
   long position of an intraday account → the intraday ratio while the market's intraday rule
   is active (MR-2), else 100%;
   long position of a margin account → the stock's long ratio (MR-1);
5. no ratio → 100% (not marginable).
"""

from dataclasses import dataclass
from datetime import datetime

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from riskdesk.engine.margin import FULL_MARGIN, MarginFactors

EXCLUDED = ("delisted", "long_suspended")


@dataclass(frozen=True)
class Resolved:
    factors: MarginFactors
    source: str  # excluded | cash_account | client_rule | short | intraday | intraday_inactive | stock | none
    reason: str
    url: str | None = None


class Resolver:
    """Resolves every position of one account with a handful of queries (the account's
    client rules, the client's groups, and the ratios of the stocks asked about)."""

    def __init__(self, account, *, at: datetime | None = None):
        from riskdesk.lists.models import ClientGroupMember
        from riskdesk.margin.models import ClientMarginRule, IntradayRule

        self.account = account
        self.at = at or timezone.now()
        self.group_ids = set(
            ClientGroupMember.objects.filter(client_id=account.client_id).values_list(
                "group_id", flat=True
            )
        )
        rules = ClientMarginRule.objects.filter(status=ClientMarginRule.Status.ACTIVE).filter(
            client_id=account.client_id
        ) | ClientMarginRule.objects.filter(
            status=ClientMarginRule.Status.ACTIVE,
            client_group_id__in=self.group_ids,
            client_group__business_type="margin",  # report groups never carry margin (LS-2)
        )
        self.rules = list(
            rules.select_related("client", "client_group", "instrument", "stock_group")
        )
        self.intraday_rules = {r.market: r for r in IntradayRule.objects.all()}
        self._stock_groups: dict[int, set[int]] = {}

    def _groups_of(self, instrument_id: int) -> set[int]:
        from riskdesk.margin.models import StockGroupMember

        if instrument_id not in self._stock_groups:
            self._stock_groups[instrument_id] = set(
                StockGroupMember.objects.filter(instrument_id=instrument_id).values_list(
                    "group_id", flat=True
                )
            )
        return self._stock_groups[instrument_id]

    def _client_rule(self, instrument, side: str):
        """The most specific active client rule for this position, or None (MR-5, MR-6)."""
        stock_groups = None
        levels: list[list] = [[], [], [], []]
        for rule in self.rules:
            if rule.side != side:
                continue
            mine = rule.client_id == self.account.client_id
            if rule.instrument_id is not None:
                if rule.instrument_id != instrument.pk:
                    continue
                levels[0 if mine else 2].append(rule)
            else:
                if stock_groups is None:
                    stock_groups = self._groups_of(instrument.pk)
                if rule.stock_group_id not in stock_groups:
                    continue
                levels[1 if mine else 3].append(rule)
        for candidates in levels:
            if candidates:
                return max(candidates, key=lambda r: (r.im, -r.pk))
        return None

    def resolve(self, instrument, side: str) -> Resolved:
        from riskdesk.margin.intraday import intraday_active
        from riskdesk.margin.models import IntradayMargin, ShortMargin, StockMargin

        if instrument.status in EXCLUDED:
            return Resolved(
                FULL_MARGIN,
                "excluded",
                _("%(status)s: 100%%") % {"status": instrument.get_status_display()},
            )
        if self.account.type == "cash":
            return Resolved(FULL_MARGIN, "cash_account", _("cash account: no margin lending, 100%"))
        rule = self._client_rule(instrument, side)
        if rule is not None:
            who = (
                _("client %(c)s") % {"c": rule.client.code}
                if rule.client_id
                else _("client group %(g)s") % {"g": rule.client_group.name}
            )
            what = (
                _("stock %(s)s") % {"s": rule.instrument.code}
                if rule.instrument_id
                else _("stock group %(g)s") % {"g": rule.stock_group.name}
            )
            return Resolved(
                rule.factors(),
                "client_rule",
                _("client margin rule #%(n)s: %(who)s × %(what)s")
                % {"n": rule.pk, "who": who, "what": what},
                _url("margin:client-rule", rule.pk),
            )
        if side == "short":
            row = ShortMargin.objects.filter(instrument=instrument).first()
            if row is None:
                return Resolved(FULL_MARGIN, "none", _("no short margin ratio: 100%"))
            return Resolved(
                row.factors(),
                "short",
                _("short margin ratio of the stock"),
                _url("margin:short-detail", instrument.pk),
            )
        if self.account.type == "intraday":
            row = IntradayMargin.objects.filter(instrument=instrument).first()
            if row is None:
                return Resolved(FULL_MARGIN, "none", _("no intraday ratio: 100%"))
            if not intraday_active(
                instrument.market, self.at, self.intraday_rules.get(instrument.market)
            ):
                return Resolved(
                    FULL_MARGIN,
                    "intraday_inactive",
                    _("intraday ratio not in force now (outside the session rule): 100%"),
                    _url("margin:intraday-rules", None),
                )
            return Resolved(
                row.factors(),
                "intraday",
                _("intraday ratio of the stock, in session"),
                _url("margin:intraday", None),
            )
        row = StockMargin.objects.filter(instrument=instrument).first()
        if row is None:
            return Resolved(FULL_MARGIN, "none", _("no margin ratio: not marginable, 100%"))
        return Resolved(
            row.factors(),
            "stock",
            _("long margin ratio of the stock"),
            _url("margin:stock-detail", instrument.pk),
        )


def _url(name: str, arg) -> str | None:
    from django.urls import NoReverseMatch

    try:
        return reverse(name, args=[arg] if arg is not None else [])
    except NoReverseMatch:
        return None
