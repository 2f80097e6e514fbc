"""MR-5 client margin rules through the approval centre, read back by the MR-6 resolver.

Every branch of ``Resolver.resolve`` is walked with rules and groups created the way a risk
officer creates them (submit → approve), except the stock ratios, which are MR-1's and are
seeded. Expected factors are written by hand from the rule each case sets up.
"""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from riskdesk.approvals import services
from riskdesk.approvals.governed import seeding
from riskdesk.approvals.models import ChangeRequest
from riskdesk.engine.margin import FULL_MARGIN, MarginFactors
from riskdesk.margin.resolution import Resolver

pytestmark = pytest.mark.django_db

D = Decimal


def factors(im, mcm, mm, fm) -> MarginFactors:
    return MarginFactors(D(im), D(mcm), D(mm), D(fm))


def ratio(im, mcm, mm, fm) -> dict:
    return {"im": im, "mcm": mcm, "mm": mm, "fm": fm}


def submit(users, flow, payload, target=None, maker="officer"):
    return services.submit(flow=flow, target=target, payload=payload, maker=users[maker])


def approved(users, change):
    """Approve as the risk approver; the request must be applied."""
    services.approve(request_id=change.pk, user=users["approver"])
    change.refresh_from_db()
    assert change.status == ChangeRequest.Status.APPLIED, change.failure
    return change


def rule(users, **payload):
    """Create a client margin rule through approval; return the rule."""
    from riskdesk.margin.models import ClientMarginRule

    change = approved(users, submit(users, "margin.client_rule", {"side": "long", **payload}))
    pk = int(change.record_url.rstrip("/").rsplit("/", 1)[1])
    return ClientMarginRule.objects.get(pk=pk)


def invalidate(users, target):
    approved(users, submit(users, "margin.client_rule", {"status": "invalid"}, target=target))


def client_group(users, name, members, business_type="margin"):
    from riskdesk.lists.models import ClientGroup

    payload = {"name": name, "business_type": business_type, "members": members}
    approved(users, submit(users, "lists.client_group", payload))
    return ClientGroup.objects.get(name=name)


def stock_group(users, name, members):
    from riskdesk.margin.models import StockGroup

    approved(users, submit(users, "margin.stock_group", {"name": name, "members": members}))
    return StockGroup.objects.get(name=name)


@pytest.fixture
def ratios(book):
    """Stock ratios (MR-1 / MR-4, seeded): 700.HK long 0.3/0.25/0.2/0.1, short 0.5/0.45/0.4/0.3.
    AAPL.US has none."""
    from riskdesk.margin.models import ShortMargin, StockMargin

    with seeding("test"):
        StockMargin.objects.create(instrument=book["tencent"], **ratio("0.3", "0.25", "0.2", "0.1"))
        ShortMargin.objects.create(instrument=book["tencent"], **ratio("0.5", "0.45", "0.4", "0.3"))
        StockMargin.objects.create(instrument=book["dead"], **ratio("0.3", "0.25", "0.2", "0.1"))
    return book


def resolve(account, instrument, side="long"):
    return Resolver(account).resolve(instrument, side)


def test_a_rule_applies_only_once_approved_and_links_to_its_page(users, ratios):
    # Arrange
    m1, tencent = ratios["margin"], ratios["tencent"]
    payload = {
        "side": "long",
        "client": "C1",
        "stock": "700.HK",
        **ratio("0.6", "0.5", "0.4", "0.3"),
    }

    # Act: submitted, not yet approved
    change = submit(users, "margin.client_rule", payload)

    # Assert: the stock ratio still applies; the request is keyed by the rule's natural key
    assert change.target_key == "long:C:C1:S:700.HK"
    assert resolve(m1, tencent).source == "stock"

    # Act: approved
    approved(users, change)
    got = resolve(m1, tencent)

    # Assert
    assert got.source == "client_rule"
    assert got.factors == factors("0.6", "0.5", "0.4", "0.3")
    pk = int(change.record_url.rstrip("/").rsplit("/", 1)[1])
    assert got.url == reverse("margin:client-rule", args=[pk])
    assert "client C1 × stock 700.HK" in got.reason


def test_specificity_client_stock_over_client_group_over_group_stock_over_group_group(
    users, ratios
):
    # Arrange: C1 in margin group VIP; 700.HK in stock group HK-BLUE
    m1, tencent = ratios["margin"], ratios["tencent"]
    client_group(users, "VIP", ["C1"])
    stock_group(users, "HK-BLUE", ["700.HK"])

    # Act / Assert: each more specific rule beats the ones before, although its IM is lower
    # (so neither "highest IM" nor "first created" would pick it)
    group_group = rule(
        users, client_group="VIP", stock_group="HK-BLUE", **ratio("0.8", "0.7", "0.6", "0.5")
    )
    assert resolve(m1, tencent).factors == factors("0.8", "0.7", "0.6", "0.5")
    group_stock = rule(
        users, client_group="VIP", stock="700.HK", **ratio("0.7", "0.6", "0.5", "0.4")
    )
    assert resolve(m1, tencent).factors == factors("0.7", "0.6", "0.5", "0.4")
    client_sg = rule(users, client="C1", stock_group="HK-BLUE", **ratio("0.6", "0.5", "0.4", "0.3"))
    assert resolve(m1, tencent).factors == factors("0.6", "0.5", "0.4", "0.3")
    client_stock = rule(users, client="C1", stock="700.HK", **ratio("0.55", "0.5", "0.4", "0.3"))
    got = resolve(m1, tencent)
    assert got.factors == factors("0.55", "0.5", "0.4", "0.3")
    assert got.reason == f"client margin rule #{client_stock.pk}: client C1 × stock 700.HK"

    # Act / Assert: invalidating from the top falls back one level at a time, not to the newest
    invalidate(users, client_stock)
    assert resolve(m1, tencent).reason.startswith(f"client margin rule #{client_sg.pk}:")
    invalidate(users, client_sg)
    assert resolve(m1, tencent).reason.startswith(f"client margin rule #{group_stock.pk}:")
    invalidate(users, group_stock)
    assert resolve(m1, tencent).reason.startswith(f"client margin rule #{group_group.pk}:")
    invalidate(users, group_group)
    got = resolve(m1, tencent)
    assert got.source == "stock"
    assert got.factors == factors("0.3", "0.25", "0.2", "0.1")


def test_two_group_rules_at_the_same_level_the_highest_im_wins(users, ratios):
    # Arrange: C1 in two margin groups, each with a rule on 700.HK
    client_group(users, "G1", ["C1"])
    client_group(users, "G2", ["C1"])
    rule(users, client_group="G1", stock="700.HK", **ratio("0.4", "0.3", "0.2", "0.1"))
    conservative = rule(
        users, client_group="G2", stock="700.HK", **ratio("0.7", "0.3", "0.2", "0.1")
    )

    # Act
    got = resolve(ratios["margin"], ratios["tencent"])

    # Assert
    assert got.factors == factors("0.7", "0.3", "0.2", "0.1")
    assert got.reason.startswith(f"client margin rule #{conservative.pk}:")


def test_an_invalidated_rule_is_ignored(users, ratios):
    # Arrange
    target = rule(users, client="C1", stock="700.HK", **ratio("0.9", "0.9", "0.9", "0.9"))

    # Act
    invalidate(users, target)
    target.refresh_from_db()

    # Assert
    assert target.status == "invalid"
    assert resolve(ratios["margin"], ratios["tencent"]).source == "stock"


def test_short_positions_use_short_rules_only(users, ratios):
    # Arrange: a long rule on 700.HK
    m1, tencent = ratios["margin"], ratios["tencent"]
    rule(users, client="C1", stock="700.HK", **ratio("0.6", "0.5", "0.4", "0.3"))

    # Act / Assert: the short side still uses the stock's short ratio (MR-4)
    got = resolve(m1, tencent, "short")
    assert got.source == "short"
    assert got.factors == factors("0.5", "0.45", "0.4", "0.3")

    # Act: a short rule, with shortable status and pool rules
    short = rule(
        users,
        side="short",
        client="C1",
        stock="700.HK",
        **ratio("0.8", "0.7", "0.6", "0.5"),
        shortable="forbidden",
        auto_close_qty=1000,
        auto_restore_qty="5000",
    )

    # Assert
    got = resolve(m1, tencent, "short")
    assert got.source == "client_rule"
    assert got.factors == factors("0.8", "0.7", "0.6", "0.5")
    assert (short.shortable, short.auto_close_qty, short.auto_restore_qty) == (
        "forbidden",
        1000,
        5000,
    )
    assert resolve(m1, tencent, "long").factors == factors("0.6", "0.5", "0.4", "0.3")


def test_delisted_and_long_suspended_stocks_are_100_percent_even_with_a_client_rule(users, ratios):
    # Arrange: rules on the delisted 1234.HK and on 700.HK
    m1, dead, tencent = ratios["margin"], ratios["dead"], ratios["tencent"]
    rule(users, client="C1", stock="1234.HK", **ratio("0.2", "0.2", "0.2", "0.2"))
    rule(users, client="C1", stock="700.HK", **ratio("0.2", "0.2", "0.2", "0.2"))

    # Act
    delisted = resolve(m1, dead)
    tencent.status = "long_suspended"
    tencent.save()
    suspended = resolve(m1, tencent)

    # Assert
    assert (delisted.source, delisted.factors) == ("excluded", FULL_MARGIN)
    assert (suspended.source, suspended.factors) == ("excluded", FULL_MARGIN)


def test_a_cash_account_is_100_percent_even_with_a_client_rule(users, ratios):
    # Arrange
    rule(users, client="C1", stock="700.HK", **ratio("0.2", "0.2", "0.2", "0.2"))

    # Act
    got = resolve(ratios["cash"], ratios["tencent"])

    # Assert
    assert (got.source, got.factors) == ("cash_account", FULL_MARGIN)


def test_no_ratio_is_100_percent_and_a_client_rule_makes_it_marginable(users, ratios):
    # Arrange: AAPL.US has no stock ratio
    m1, apple = ratios["margin"], ratios["apple"]

    # Act / Assert
    assert (resolve(m1, apple).source, resolve(m1, apple).factors) == ("none", FULL_MARGIN)
    assert resolve(m1, apple, "short").factors == FULL_MARGIN
    rule(users, client="C1", stock="AAPL.US", **ratio("0.5", "0.4", "0.3", "0.2"))
    assert resolve(m1, apple).factors == factors("0.5", "0.4", "0.3", "0.2")


def test_intraday_accounts_use_client_rules_before_the_intraday_ratio(users, ratios):
    # Arrange: an intraday account of C1; an intraday ratio for 700.HK but no session rule
    from riskdesk.book.models import Account
    from riskdesk.margin.models import IntradayMargin

    day = Account.objects.create(number="D1", client=ratios["client"], type="intraday")
    with seeding("test"):
        IntradayMargin.objects.create(
            instrument=ratios["tencent"], **ratio("0.2", "0.15", "0.1", "0.05")
        )

    # Act / Assert: outside the intraday rule → 100%; AAPL has no intraday ratio → 100%
    assert resolve(day, ratios["tencent"]).source == "intraday_inactive"
    assert resolve(day, ratios["tencent"]).factors == FULL_MARGIN
    assert resolve(day, ratios["apple"]).source == "none"

    # Act / Assert: a client rule applies to every account of the client
    rule(users, client="C1", stock="700.HK", **ratio("0.4", "0.3", "0.2", "0.1"))
    assert resolve(day, ratios["tencent"]).factors == factors("0.4", "0.3", "0.2", "0.1")


def test_a_report_group_cannot_be_used_in_a_rule(users, ratios):
    # Arrange
    client_group(users, "REPORTING", ["C1"], business_type="report")

    # Act
    with pytest.raises(ValidationError) as caught:
        submit(
            users,
            "margin.client_rule",
            {
                "side": "long",
                "client_group": "REPORTING",
                "stock": "700.HK",
                **ratio("0.5", "0.4", "0.3", "0.2"),
            },
        )

    # Assert
    assert "only margin groups" in caught.value.message_dict["client_group"][0]
    assert not ChangeRequest.objects.filter(flow="margin.client_rule").exists()


def test_a_group_used_by_a_rule_cannot_become_a_report_group(users, ratios):
    # Arrange
    group = client_group(users, "VIP", ["C1"])
    used = rule(users, client_group="VIP", stock="700.HK", **ratio("0.5", "0.4", "0.3", "0.2"))

    # Act
    with pytest.raises(ValidationError) as caught:
        submit(users, "lists.client_group", {"business_type": "report"}, target=group)

    # Assert
    assert f"#{used.pk}" in caught.value.message_dict["business_type"][0]


def test_a_second_active_rule_for_the_same_subject_and_object_is_refused_naming_the_first(
    users, ratios
):
    # Arrange
    first = rule(users, client="C1", stock="700.HK", **ratio("0.5", "0.4", "0.3", "0.2"))

    # Act
    with pytest.raises(ValidationError) as caught:
        submit(
            users,
            "margin.client_rule",
            {
                "side": "long",
                "client": "C1",
                "stock": "700.HK",
                **ratio("0.6", "0.4", "0.3", "0.2"),
            },
        )

    # Assert: named; a short rule for the same pair is another rule and is accepted
    assert f"active rule #{first.pk}" in caught.value.message_dict["client"][0]
    short = submit(
        users,
        "margin.client_rule",
        {"side": "short", "client": "C1", "stock": "700.HK", **ratio("0.6", "0.4", "0.3", "0.2")},
    )
    assert short.status == ChangeRequest.Status.PENDING


def test_the_duplicate_check_runs_again_at_apply(users, ratios):
    # Arrange: a request submitted, then (by a race) an active rule appears for the same pair
    from riskdesk.margin.models import ClientMarginRule

    change = submit(
        users,
        "margin.client_rule",
        {"side": "long", "client": "C1", "stock": "700.HK", **ratio("0.5", "0.4", "0.3", "0.2")},
    )
    with seeding("test"):
        raced = ClientMarginRule.objects.create(
            side="long",
            client=ratios["client"],
            instrument=ratios["tencent"],
            **ratio("0.9", "0.9", "0.9", "0.9"),
        )

    # Act
    services.approve(request_id=change.pk, user=users["approver"])
    change.refresh_from_db()

    # Assert: failed whole, naming the rule in the way; still one rule
    assert change.status == ChangeRequest.Status.FAILED
    assert f"#{raced.pk}" in change.failure
    assert ClientMarginRule.objects.count() == 1


def test_a_group_used_by_an_active_rule_cannot_be_deleted(users, ratios):
    # Arrange
    from riskdesk.lists.models import ClientGroup
    from riskdesk.margin.models import ClientMarginRule, StockGroup

    vip = client_group(users, "VIP", ["C1"])
    blue = stock_group(users, "HK-BLUE", ["700.HK"])
    used = rule(
        users, client_group="VIP", stock_group="HK-BLUE", **ratio("0.5", "0.4", "0.3", "0.2")
    )

    # Act / Assert: both deletions refused, naming the rule
    for flow, group in (("lists.client_group", vip), ("margin.stock_group", blue)):
        with pytest.raises(ValidationError) as caught:
            submit(users, flow, {"delete": True}, target=group)
        assert f"#{used.pk}" in caught.value.message_dict["delete"][0]

    # Act: invalidate the rule, then delete both groups
    invalidate(users, used)
    approved(users, submit(users, "lists.client_group", {"delete": True}, target=vip))
    approved(users, submit(users, "margin.stock_group", {"delete": True}, target=blue))

    # Assert: the groups, their members and the invalidated rule are gone
    assert not ClientGroup.objects.exists()
    assert not StockGroup.objects.exists()
    assert not ClientMarginRule.objects.exists()


def test_a_membership_change_through_approval_changes_the_resolved_ratio(users, ratios):
    # Arrange: a group rule; C1 is not (yet) in the group
    m1, tencent = ratios["margin"], ratios["tencent"]
    vip = client_group(users, "VIP", [])
    rule(users, client_group="VIP", stock="700.HK", **ratio("0.45", "0.4", "0.3", "0.2"))
    assert resolve(m1, tencent).source == "stock"

    # Act: add C1 — pending
    change = submit(users, "lists.client_group", {"members": ["C1"]}, target=vip)

    # Assert: no effect until approved
    assert resolve(m1, tencent).source == "stock"
    approved(users, change)
    assert resolve(m1, tencent).factors == factors("0.45", "0.4", "0.3", "0.2")

    # Act: a stock group rule follows its membership too
    blue = stock_group(users, "US-TECH", [])
    rule(users, client="C1", stock_group="US-TECH", **ratio("0.35", "0.3", "0.2", "0.1"))
    assert resolve(m1, ratios["apple"]).source == "none"
    approved(users, submit(users, "margin.stock_group", {"members": ["AAPL.US"]}, target=blue))

    # Assert
    assert resolve(m1, ratios["apple"]).factors == factors("0.35", "0.3", "0.2", "0.1")


def test_a_batch_with_one_bad_row_submits_nothing_and_a_good_batch_is_one_request(users, ratios):
    # Arrange
    from riskdesk.console.imports import REGISTRY, apply_batch

    spec = REGISTRY["margin.client_rules"]
    good = {"side": "long", "client": "C1", "stock": "700.HK", **ratio("0.6", "0.5", "0.4", "0.3")}
    bad = {
        "side": "short",
        "client": "C1",
        "stock": "700.HK",
        **ratio("0.4", "0.5", "0.4", "0.3"),
    }  # mcm > im
    apple = {
        "side": "long",
        "client": "C1",
        "stock": "AAPL.US",
        **ratio("0.5", "0.5", "0.5", "0.5"),
    }

    # Act
    checked, result = apply_batch(
        spec, [{"line": 2, "values": good}, {"line": 3, "values": bad}], user=users["officer"]
    )

    # Assert: the bad row names the factor; nothing submitted
    assert result is None
    assert checked[1]["errors"] and checked[1]["errors"][0].startswith("mcm:")
    assert not ChangeRequest.objects.exists()

    # Act: a good file
    _checked, result = apply_batch(
        spec, [{"line": 2, "values": good}, {"line": 3, "values": apple}], user=users["officer"]
    )

    # Assert: ONE request holding both rows; applied, both rules resolve
    assert ChangeRequest.objects.count() == 1
    (request_id,) = result["requests"]
    change = ChangeRequest.objects.get(pk=request_id)
    assert change.flow == "margin.client_rule_batch"
    assert len(change.payload["rows"]) == 2
    assert resolve(ratios["margin"], ratios["tencent"]).source == "stock"
    approved(users, change)
    assert resolve(ratios["margin"], ratios["tencent"]).factors == factors(
        "0.6", "0.5", "0.4", "0.3"
    )
    assert resolve(ratios["margin"], ratios["apple"]).factors == factors("0.5", "0.5", "0.5", "0.5")


def test_the_auditor_may_not_submit_any_of_these_changes(users, ratios):
    # Arrange
    vip = client_group(users, "VIP", ["C1"])
    blue = stock_group(users, "HK-BLUE", ["700.HK"])
    target = rule(users, client="C1", stock="700.HK", **ratio("0.5", "0.4", "0.3", "0.2"))
    attempts = [
        (
            "margin.client_rule",
            None,
            {
                "side": "short",
                "client": "C1",
                "stock": "700.HK",
                **ratio("0.5", "0.4", "0.3", "0.2"),
            },
        ),
        ("margin.client_rule", target, {"status": "invalid"}),
        ("margin.client_rule_batch", None, {"rows": []}),
        ("margin.stock_group", None, {"name": "X", "members": []}),
        ("margin.stock_group", blue, {"delete": True}),
        ("lists.client_group", None, {"name": "Y", "business_type": "margin"}),
        ("lists.client_group", vip, {"members": []}),
    ]

    for flow, target_, payload in attempts:
        # Act / Assert
        with pytest.raises(services.ApprovalError, match="may not submit"):
            submit(users, flow, payload, target=target_, maker="auditor")
