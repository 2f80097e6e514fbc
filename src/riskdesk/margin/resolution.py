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

``Resolver`` answers for one account (the console, the API, ``account_risk``); call
``preload`` with the account's instruments first and it resolves them all with a constant
number of queries. ``RatioBook`` + ``resolve_positions`` answer for many accounts at once (the
risk monitor's arrays, MC-1): every ratio table is read once, and the same precedence is
applied with numpy over all positions. tests/margin/test_bulk_resolution.py pins the two to
the same answer on every position of a demo book.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.db.models import Q
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
        # instrument id → ratio row (None: no row), per ratio model; filled by ``preload``
        self._ratios: dict[type, dict[int, object]] = {}
        self._active: dict[str, bool] = {}

    def preload(self, instrument_ids: Iterable[int]) -> Resolver:
        """Read the ratios and stock-group memberships of these instruments in four queries,
        so that resolving the account's positions asks the database nothing more."""
        from riskdesk.margin.models import (
            IntradayMargin,
            ShortMargin,
            StockGroupMember,
            StockMargin,
        )

        ids = [i for i in set(instrument_ids) if i is not None]
        for model in (StockMargin, ShortMargin, IntradayMargin):
            rows = self._ratios.setdefault(model, {})
            found = {r.instrument_id: r for r in model.objects.filter(instrument_id__in=ids)}
            rows.update({i: found.get(i) for i in ids})
        groups: dict[int, set[int]] = {i: set() for i in ids}
        for group_id, instrument_id in StockGroupMember.objects.filter(
            instrument_id__in=ids
        ).values_list("group_id", "instrument_id"):
            groups[instrument_id].add(group_id)
        self._stock_groups.update(groups)
        return self

    def _ratio(self, model, instrument):
        rows = self._ratios.get(model)
        if rows is not None and instrument.pk in rows:
            return rows[instrument.pk]
        return model.objects.filter(instrument=instrument).first()

    def _intraday_active(self, market: str) -> bool:
        from riskdesk.margin.intraday import intraday_active

        if market not in self._active:
            self._active[market] = intraday_active(market, self.at, self.intraday_rules.get(market))
        return self._active[market]

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
            row = self._ratio(ShortMargin, instrument)
            if row is None:
                return Resolved(FULL_MARGIN, "none", _("no short margin ratio: 100%"))
            return Resolved(
                row.factors(),
                "short",
                _("short margin ratio of the stock"),
                _url("margin:short-detail", instrument.pk),
            )
        if self.account.type == "intraday":
            row = self._ratio(IntradayMargin, instrument)
            if row is None:
                return Resolved(FULL_MARGIN, "none", _("no intraday ratio: 100%"))
            if not self._intraday_active(instrument.market):
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
        row = self._ratio(StockMargin, instrument)
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


# --------------------------------------------------------------------- many accounts at once

#: ``ResolvedPositions.source`` codes; the names are ``Resolved.source``'s.
SOURCES = (
    "none",
    "excluded",
    "cash_account",
    "client_rule",
    "short",
    "intraday",
    "intraday_inactive",
    "stock",
)
SRC = {name: code for code, name in enumerate(SOURCES)}
#: Account types as codes (``resolve_positions``'s ``kind``).
ACCOUNT_KINDS = ("cash", "margin", "intraday")
KIND = {name: code for code, name in enumerate(ACCOUNT_KINDS)}
#: Factor 1 (100%) in the ×10⁴ integers of the arrays.
FULL = 10_000
#: Rule levels, most specific first (MR-6): client × stock, client × stock group,
#: client group × stock, client group × stock group.
CLIENT_STOCK, CLIENT_GROUP_OF_STOCKS, GROUP_STOCK, GROUP_GROUP = range(4)


def _factor_rows(rows) -> np.ndarray:
    """(n, 4) int64 ×10⁴ from (im, mcm, mm, fm) Decimals with at most 4 dp."""
    from riskdesk.engine.money import FACTOR_PLACES, scaled

    out = np.empty((len(rows), 4), dtype=np.int64)
    for k, row in enumerate(rows):
        out[k] = [scaled(f, FACTOR_PLACES) for f in row]
    return out


def _pairs(queries: np.ndarray, table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every (i, j) with ``queries[i] == table[j]``; ``table`` sorted ascending."""
    lo = np.searchsorted(table, queries, side="left")
    hi = np.searchsorted(table, queries, side="right")
    count = hi - lo
    i = np.repeat(np.arange(len(queries), dtype=np.int64), count)
    first = np.repeat(np.cumsum(count) - count, count)
    j = lo[i] + (np.arange(len(i), dtype=np.int64) - first)
    return i, j


@dataclass
class RatioBook:
    """Every table MR-6 reads, read once (a constant number of queries, whatever the book):
    instruments (status, market), long / short / intraday ratios, the intraday rules at ``at``,
    active client rules with their stock groups expanded to stocks, and the members of the
    client groups those rules name. Instruments are rows ``0..n-1`` (``row_of`` maps ids)."""

    at: datetime
    instrument_ids: np.ndarray  # int64, row → id
    row_by_id: np.ndarray  # int64, id → row (−1: unknown)
    excluded: np.ndarray  # bool per row
    stock: np.ndarray  # (n, 4) int64 ×10⁴
    has_stock: np.ndarray
    short: np.ndarray
    has_short: np.ndarray
    intraday: np.ndarray
    has_intraday: np.ndarray
    intraday_on: np.ndarray  # bool per row: the market's intraday rule is in force at ``at``
    rule_pk: np.ndarray  # per active rule
    rule_im: np.ndarray
    rule_factors: np.ndarray  # (n_rules, 4)
    direct_keys: np.ndarray  # sorted ((client id × n + row) × 2 + short)
    direct_rule: np.ndarray  # rule index per key
    direct_level: np.ndarray
    group_keys: np.ndarray  # sorted ((client group id × n + row) × 2 + short)
    group_rule: np.ndarray
    group_level: np.ndarray
    member_client: np.ndarray  # sorted client ids of rule-bearing margin groups' members
    member_group: np.ndarray  # the group of each

    @classmethod
    def load(cls, *, at: datetime | None = None) -> RatioBook:
        from riskdesk.book.models import Instrument
        from riskdesk.lists.models import ClientGroupMember
        from riskdesk.margin.intraday import intraday_active
        from riskdesk.margin.models import (
            ClientMarginRule,
            IntradayMargin,
            IntradayRule,
            ShortMargin,
            StockGroupMember,
            StockMargin,
        )

        at = at or timezone.now()
        rows = list(Instrument.objects.order_by("id").values_list("id", "status", "market"))
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        n = len(ids)
        row_by_id = np.full(int(ids.max()) + 1 if n else 1, -1, dtype=np.int64)
        row_by_id[ids] = np.arange(n, dtype=np.int64)
        markets = [r[2] for r in rows]
        rules_by_market = {r.market: r for r in IntradayRule.objects.all()}
        active = {m: intraday_active(m, at, rules_by_market.get(m)) for m in sorted(set(markets))}

        def table(model):
            values = list(model.objects.values_list("instrument_id", "im", "mcm", "mm", "fm"))
            factors = np.full((n, 4), FULL, dtype=np.int64)
            has = np.zeros(n, dtype=np.bool_)
            if values:
                at_rows = row_by_id[np.array([v[0] for v in values], dtype=np.int64)]
                factors[at_rows] = _factor_rows([v[1:] for v in values])
                has[at_rows] = True
            return factors, has

        stock, has_stock = table(StockMargin)
        short, has_short = table(ShortMargin)
        intraday, has_intraday = table(IntradayMargin)

        rules = list(
            ClientMarginRule.objects.filter(status=ClientMarginRule.Status.ACTIVE)
            .filter(Q(client__isnull=False) | Q(client_group__business_type="margin"))
            .order_by("pk")
            .values_list(
                "pk", "side", "client_id", "client_group_id", "instrument_id", "stock_group_id",
                "im", "mcm", "mm", "fm",
            )
        )  # fmt: skip
        rule_pk = np.array([r[0] for r in rules], dtype=np.int64)
        rule_factors = _factor_rows([r[6:] for r in rules]).reshape(len(rules), 4)
        group_ids = sorted({r[5] for r in rules if r[5] is not None})
        members = sorted(
            StockGroupMember.objects.filter(group_id__in=group_ids).values_list(
                "group_id", "instrument_id"
            )
        )
        member_gid = np.array([m[0] for m in members], dtype=np.int64)
        member_row = row_by_id[np.array([m[1] for m in members], dtype=np.int64)]
        entries: dict[bool, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {
            True: [],
            False: [],
        }
        for k, (_pk, side, client, client_group, instrument, stock_group, *_f) in enumerate(rules):
            direct = client is not None
            subject = client if direct else client_group
            if instrument is not None:
                at_rows = np.array([row_by_id[instrument]], dtype=np.int64)
                level = CLIENT_STOCK if direct else GROUP_STOCK
            else:
                lo, hi = np.searchsorted(member_gid, [stock_group, stock_group + 1])
                at_rows = member_row[lo:hi]
                level = CLIENT_GROUP_OF_STOCKS if direct else GROUP_GROUP
            keys = (subject * n + at_rows) * 2 + (side == "short")
            entries[direct].append(
                (keys, np.full(len(keys), k, np.int64), np.full(len(keys), level, np.int64))
            )

        def sorted_entries(parts):
            if not parts:
                return (np.empty(0, np.int64),) * 3
            keys, rule, level = (np.concatenate(x) for x in zip(*parts, strict=True))
            order = np.argsort(keys, kind="stable")
            return keys[order], rule[order], level[order]

        direct_keys, direct_rule, direct_level = sorted_entries(entries[True])
        group_keys, group_rule, group_level = sorted_entries(entries[False])
        rule_groups = sorted({r[3] for r in rules if r[3] is not None})
        memberships = sorted(
            ClientGroupMember.objects.filter(group_id__in=rule_groups).values_list(
                "client_id", "group_id"
            )
        )
        return cls(
            at=at,
            instrument_ids=ids,
            row_by_id=row_by_id,
            excluded=np.array([r[1] in EXCLUDED for r in rows], dtype=np.bool_),
            stock=stock,
            has_stock=has_stock,
            short=short,
            has_short=has_short,
            intraday=intraday,
            has_intraday=has_intraday,
            intraday_on=np.array([active[m] for m in markets], dtype=np.bool_),
            rule_pk=rule_pk,
            rule_im=rule_factors[:, 0].copy(),
            rule_factors=rule_factors,
            direct_keys=direct_keys,
            direct_rule=direct_rule,
            direct_level=direct_level,
            group_keys=group_keys,
            group_rule=group_rule,
            group_level=group_level,
            member_client=np.array([m[0] for m in memberships], dtype=np.int64),
            member_group=np.array([m[1] for m in memberships], dtype=np.int64),
        )

    def rows(self, instrument_ids: np.ndarray) -> np.ndarray:
        """Rows of these instrument ids; ``LookupError`` for an instrument created after load."""
        ids = np.asarray(instrument_ids, dtype=np.int64)
        out = np.full(len(ids), -1, dtype=np.int64)
        known = (ids >= 0) & (ids < len(self.row_by_id))
        out[known] = self.row_by_id[ids[known]]
        if (out < 0).any():
            raise LookupError(f"instrument {int(ids[out < 0][0])} unknown to this RatioBook")
        return out


@dataclass(frozen=True)
class ResolvedPositions:
    factors: np.ndarray  # (n, 4) int64, im / mcm / mm / fm ×10⁴
    source: np.ndarray  # int8 codes into SOURCES
    rule: np.ndarray  # int64 client rule pk where source is client_rule, else 0


def resolve_positions(
    ratios: RatioBook,
    *,
    kind: np.ndarray,
    client: np.ndarray,
    instrument: np.ndarray,
    quantity: np.ndarray,
) -> ResolvedPositions:
    """MR-6 for many positions at once: the factors ``Resolver.resolve`` gives each.

    ``kind`` is the account type code (ACCOUNT_KINDS), ``client`` the client id, ``instrument``
    the instrument id, ``quantity`` the signed quantity (> 0 long, otherwise short) per position.
    The precedence is ``Resolver``'s, applied from the weakest source up so the strongest
    writes last: no ratio (100%) < the stock's short / intraday / long ratio < the most
    specific client rule (ties: highest IM, then the oldest rule) < cash account < excluded.
    """
    kind = np.asarray(kind, dtype=np.int64)
    client = np.asarray(client, dtype=np.int64)
    quantity = np.asarray(quantity, dtype=np.int64)
    row = ratios.rows(instrument)
    n, n_ins = len(row), len(ratios.instrument_ids)
    short = quantity <= 0
    factors = np.full((n, 4), FULL, dtype=np.int64)
    source = np.full(n, SRC["none"], dtype=np.int8)
    rule_pk = np.zeros(n, dtype=np.int64)

    sel = short & ratios.has_short[row]
    factors[sel] = ratios.short[row[sel]]
    source[sel] = SRC["short"]
    long_intraday = ~short & (kind == KIND["intraday"]) & ratios.has_intraday[row]
    on = long_intraday & ratios.intraday_on[row]
    factors[on] = ratios.intraday[row[on]]
    source[on] = SRC["intraday"]
    source[long_intraday & ~on] = SRC["intraday_inactive"]
    sel = ~short & (kind == KIND["margin"]) & ratios.has_stock[row]
    factors[sel] = ratios.stock[row[sel]]
    source[sel] = SRC["stock"]

    side = short.astype(np.int64)
    candidates = []  # (position, level, rule) triples
    if len(ratios.direct_keys):
        pos, at = _pairs((client * n_ins + row) * 2 + side, ratios.direct_keys)
        candidates.append((pos, ratios.direct_level[at], ratios.direct_rule[at]))
    if len(ratios.group_keys) and len(ratios.member_client):
        pos, m = _pairs(client, ratios.member_client)
        keys = (ratios.member_group[m] * n_ins + row[pos]) * 2 + side[pos]
        q, at = _pairs(keys, ratios.group_keys)
        candidates.append((pos[q], ratios.group_level[at], ratios.group_rule[at]))
    if candidates:
        pos, level, rule = (np.concatenate(x) for x in zip(*candidates, strict=True))
        # most specific level, then the highest IM, then the oldest rule (Resolver's max)
        order = np.lexsort((ratios.rule_pk[rule], -ratios.rule_im[rule], level, pos))
        pos, rule = pos[order], rule[order]
        first = np.ones(len(pos), dtype=np.bool_)
        first[1:] = pos[1:] != pos[:-1]
        pos, rule = pos[first], rule[first]
        factors[pos] = ratios.rule_factors[rule]
        source[pos] = SRC["client_rule"]
        rule_pk[pos] = ratios.rule_pk[rule]

    cash = kind == KIND["cash"]
    factors[cash] = FULL
    source[cash] = SRC["cash_account"]
    rule_pk[cash] = 0
    excluded = ratios.excluded[row]
    factors[excluded] = FULL
    source[excluded] = SRC["excluded"]
    rule_pk[excluded] = 0
    return ResolvedPositions(factors, source, rule_pk)
