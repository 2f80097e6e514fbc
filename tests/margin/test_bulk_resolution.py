"""MR-6 for many accounts at once: ``RatioBook`` + ``resolve_positions`` (the risk monitor's
arrays) give every position the ratio ``Resolver`` gives it, on a demo book with client rules at
every level, short positions, intraday accounts in and out of session, cash accounts and
excluded stocks; and ``Resolver`` itself resolves an account's positions with a constant
number of queries.

``build_risk_book`` is shared with the margin-call tests (tests/margincall/test_live*.py).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from riskdesk.approvals.governed import seeding
from riskdesk.engine.money import FACTOR_PLACES, scaled
from riskdesk.margin.resolution import (
    KIND,
    SOURCES,
    RatioBook,
    Resolver,
    resolve_positions,
)

pytestmark = pytest.mark.django_db

HK = ZoneInfo("Asia/Hong_Kong")
#: Wed 2026-12-23 10:00 HKT: the HK intraday rule is in force, the US one is not (night in NY).
IN_SESSION = datetime(2026, 12, 23, 10, 0, tzinfo=HK)
#: 20:00 HKT the same day: no intraday rule in force anywhere.
AFTER_HOURS = datetime(2026, 12, 23, 20, 0, tzinfo=HK)
D = Decimal


def _ratio(im, mcm, mm, fm) -> dict[str, Decimal]:
    return {"im": D(im), "mcm": D(mcm), "mm": D(mm), "fm": D(fm)}


def build_risk_book(*, clients: int = 300, seed: int = 11) -> dict:
    """A demo broker (``riskdesk demo``'s generator and margin set-up) plus client margin rules
    at every MR-6 level, long and short, with ties: what a risk officer's approved rules
    would leave in the tables. Returns the objects the tests name."""
    from riskdesk.book.models import Account, Instrument, Position
    from riskdesk.demo.generator import build_demo
    from riskdesk.demo.margin import seed_margin
    from riskdesk.lists.models import ClientGroup, ClientGroupMember
    from riskdesk.margin.models import ClientMarginRule, StockGroup

    build_demo(clients=clients, seed=seed)
    seed_margin(seed=seed)
    hsi = StockGroup.objects.get(name="HSI blue chips")
    vip = ClientGroup.objects.get(name="Private banking")
    blue = list(hsi.members.order_by("instrument__code").values_list("instrument", flat=True))
    longs = Position.objects.filter(
        quantity__gt=0, account__type="margin", account__status="active", instrument__in=blue
    ).order_by("account__number", "instrument__code")
    shorts = Position.objects.filter(
        quantity__lt=0, account__type="margin", account__status="active"
    ).order_by("account__number", "instrument__code")
    first_long, second_long = longs[0], longs.exclude(account=longs[0].account)[0]
    a_short = shorts[0]
    vip_clients = set(vip.members.values_list("client", flat=True))
    named = {first_long.account.client_id, second_long.account.client_id}
    tie = next(p for p in longs if p.account.client_id not in named | vip_clients)
    with seeding("test"):
        rules = ClientMarginRule.objects
        # level 0: client × stock, lower than the stock's own ratio
        rules.create(
            side="long",
            client_id=first_long.account.client_id,
            instrument_id=first_long.instrument_id,
            **_ratio("0.20", "0.15", "0.10", "0.05"),
        )
        # level 1: client × stock group
        rules.create(
            side="long",
            client_id=second_long.account.client_id,
            stock_group=hsi,
            **_ratio("0.35", "0.30", "0.25", "0.20"),
        )
        # level 2: client group × stock, beats the demo's group × group rule
        rules.create(
            side="long",
            client_group=vip,
            instrument_id=blue[0],
            **_ratio("0.45", "0.40", "0.35", "0.30"),
        )
        # level 3 in a second margin group whose member is also in VIP (group × group
        # 25/20/15/10): the highest IM wins, and of two equal ones the oldest rule
        second = ClientGroup.objects.create(name="Second tier", business_type="margin")
        ClientGroupMember.objects.create(group=second, client_id=tie.account.client_id)
        ClientGroupMember.objects.create(group=vip, client_id=tie.account.client_id)
        rules.create(
            side="long",
            client_group=second,
            stock_group=hsi,
            **_ratio("0.55", "0.5", "0.45", "0.4"),
        )
        rules.create(
            side="long", client_group=second, stock_group=hsi, **_ratio("0.55", "0.5", "0.4", "0.3")
        )
        # short side: client × stock, and client group × stock group
        rules.create(
            side="short",
            client_id=a_short.account.client_id,
            instrument_id=a_short.instrument_id,
            **_ratio("0.80", "0.70", "0.60", "0.50"),
        )
        short_clients = set(shorts.values_list("account__client", flat=True)[:5])
        ClientGroupMember.objects.bulk_create(
            [
                ClientGroupMember(group=second, client_id=c)
                for c in short_clients - {tie.account.client_id}
            ]
        )
        short_group = StockGroup.objects.create(name="Shorted")
        from riskdesk.margin.models import StockGroupMember

        StockGroupMember.objects.bulk_create(
            [
                StockGroupMember(group=short_group, instrument_id=i)
                for i in set(shorts.values_list("instrument", flat=True)[:5])
            ]
        )
        rules.create(
            side="short",
            client_group=second,
            stock_group=short_group,
            **_ratio("0.70", "0.60", "0.50", "0.40"),
        )
        # ignored: a report group's rule (LS-2) and an invalidated rule
        report = ClientGroup.objects.create(name="Report only", business_type="report")
        ClientGroupMember.objects.create(group=report, client_id=first_long.account.client_id)
        rules.create(
            side="long",
            client_group=report,
            stock_group=hsi,
            **_ratio("0.95", "0.9", "0.85", "0.8"),
        )
        rules.create(
            side="long",
            client_id=second_long.account.client_id,
            instrument_id=second_long.instrument_id,
            status="invalid",
            **_ratio("0.99", "0.9", "0.85", "0.8"),
        )
    return {
        "first_long": first_long,
        "second_long": second_long,
        "a_short": a_short,
        "tie": tie,
        "intraday": Account.objects.filter(type="intraday", status="active"),
        "excluded": Instrument.objects.filter(status__in=["delisted", "long_suspended"]),
    }


def positions():
    from riskdesk.book.models import Position

    return list(
        Position.objects.exclude(quantity=0)
        .select_related("account", "instrument")
        .order_by("account_id", "instrument_id")
    )


def bulk(rows, at):
    ratios = RatioBook.load(at=at)
    return resolve_positions(
        ratios,
        kind=np.array([KIND[p.account.type] for p in rows]),
        client=np.array([p.account.client_id for p in rows]),
        instrument=np.array([p.instrument_id for p in rows]),
        quantity=np.array([p.quantity for p in rows]),
    )


def one_by_one(rows, at):
    resolvers: dict[int, Resolver] = {}
    out = []
    for p in rows:
        if p.account_id not in resolvers:
            resolvers[p.account_id] = Resolver(p.account, at=at)
        out.append(
            resolvers[p.account_id].resolve(p.instrument, "long" if p.quantity > 0 else "short")
        )
    return out


@pytest.mark.parametrize("at", [IN_SESSION, AFTER_HOURS], ids=["in-session", "after-hours"])
def test_bulk_resolution_equals_resolver_on_every_position(at):
    # Arrange
    build_risk_book()
    rows = positions()

    # Act
    got = bulk(rows, at)
    expected = one_by_one(rows, at)

    # Assert: the same factors and the same source for every position
    for k, (p, want) in enumerate(zip(rows, expected, strict=True)):
        factors = [scaled(f, FACTOR_PLACES) for f in want.factors.as_tuple()]
        assert got.factors[k].tolist() == factors, (p.account.number, p.instrument.code, want)
        assert SOURCES[got.source[k]] == want.source, (p.account.number, p.instrument.code)
    # and the book exercises every branch
    sources = Counter(SOURCES[s] for s in got.source)
    assert {"excluded", "cash_account", "client_rule", "short", "stock", "none"} <= set(sources)
    assert sources["intraday" if at == IN_SESSION else "intraday_inactive"] > 0
    assert sources["client_rule"] >= 5


def test_each_rule_level_and_tie_is_resolved_as_specified(users):
    # Arrange
    book = build_risk_book()
    rows = positions()
    got = bulk(rows, IN_SESSION)
    at = {(p.account_id, p.instrument_id): k for k, p in enumerate(rows)}

    def factors(position):
        return got.factors[at[(position.account_id, position.instrument_id)]].tolist()

    # Assert: the client × stock rule, 20/15/10/5, beats every other ratio of that stock
    assert factors(book["first_long"]) == [2000, 1500, 1000, 500]
    # the client × stock-group rule 35/30/25/20 (the invalid 99% rule is ignored)
    assert factors(book["second_long"]) == [3500, 3000, 2500, 2000]
    # the client × stock short rule 80/70/60/50
    assert factors(book["a_short"]) == [8000, 7000, 6000, 5000]
    # two groups' group × group rules: the highest IM (55 over VIP's 25), then the oldest
    assert factors(book["tie"]) == [5500, 5000, 4500, 4000]


def test_resolver_asks_a_constant_number_of_queries(django_assert_max_num_queries):
    from riskdesk.book.models import Account
    from riskdesk.margin.figures import account_risk

    build_risk_book()
    account = (
        Account.objects.filter(type="margin", status="active")
        .annotate(n=__import__("django.db.models", fromlist=["Count"]).Count("positions"))
        .order_by("-n")
        .first()
    )
    assert account.n >= 5
    # fx, positions, client groups, rules, intraday rules, 3 ratio tables, stock groups,
    # balances, calendar sessions: not one query per position
    with django_assert_max_num_queries(14):
        risk = account_risk(account, at=IN_SESSION)
    assert len(risk.lines) == account.n
