"""MR-5 flow validation: what a client margin rule request may say, edit and invalidation,
one pending request per rule, and the batch flow's rows."""

import pytest
from django.core.exceptions import ValidationError

from riskdesk.approvals import services
from riskdesk.approvals.governed import seeding
from riskdesk.approvals.models import ChangeRequest

pytestmark = pytest.mark.django_db

FLOW = "margin.client_rule"
BATCH = "margin.client_rule_batch"
OK = {"im": "0.5", "mcm": "0.4", "mm": "0.3", "fm": "0.2"}


def submit(users, payload, target=None, flow=FLOW):
    return services.submit(flow=flow, target=target, payload=payload, maker=users["officer"])


def approve(users, change):
    services.approve(request_id=change.pk, user=users["approver"])
    change.refresh_from_db()
    return change


def refused(users, payload, target=None, flow=FLOW) -> tuple[str, str]:
    with pytest.raises(ValidationError) as caught:
        submit(users, payload, target, flow)
    field, messages = next(iter(caught.value.message_dict.items()))
    return field, messages[0]


@pytest.fixture
def long_rule(users, book):
    from riskdesk.margin.models import ClientMarginRule

    with seeding("test"):
        rule = ClientMarginRule.objects.create(
            side="long", client=book["client"], instrument=book["tencent"], **OK
        )
    return ClientMarginRule.objects.get(pk=rule.pk)


@pytest.fixture
def short_rule(users, book):
    from riskdesk.margin.models import ClientMarginRule

    with seeding("test"):
        rule = ClientMarginRule.objects.create(
            side="short",
            client=book["client"],
            instrument=book["tencent"],
            shortable="allowed",
            auto_close_qty=100,
            auto_restore_qty=500,
            **OK,
        )
    return ClientMarginRule.objects.get(pk=rule.pk)


@pytest.mark.parametrize(
    ("payload", "field", "reason"),
    [
        ({"side": "both", "client": "C1", "stock": "700.HK", **OK}, "side", "one of long, short"),
        (
            {"side": "long", "stock": "700.HK", **OK},
            "client",
            "required: a client or a client group",
        ),
        (
            {"side": "long", "client": "C1", "client_group": "G", "stock": "700.HK", **OK},
            "client_group",
            "not both",
        ),
        ({"side": "long", "client": "C9", "stock": "700.HK", **OK}, "client", "no client C9"),
        (
            {"side": "long", "client_group": "NOPE", "stock": "700.HK", **OK},
            "client_group",
            "no client group NOPE",
        ),
        ({"side": "long", "client": "C1", **OK}, "stock", "required: a stock or a stock group"),
        (
            {"side": "long", "client": "C1", "stock": "700.HK", "stock_group": "SG", **OK},
            "stock_group",
            "not both",
        ),
        ({"side": "long", "client": "C1", "stock": "9999.HK", **OK}, "stock", "no stock 9999.HK"),
        (
            {"side": "long", "client": "C1", "stock": "AAPL 261218C200", **OK},
            "stock",
            "is an option",
        ),
        (
            {"side": "long", "client": "C1", "stock_group": "SG", **OK},
            "stock_group",
            "no stock group SG",
        ),
        (
            {"side": "long", "client": "C1", "stock": "700.HK", **OK, "im": "1.1"},
            "im",
            "must be at most 1",
        ),
        (
            {"side": "long", "client": "C1", "stock": "700.HK", **OK, "mm": "0.45"},
            "mm",
            "must not exceed mcm",
        ),
        (
            {"side": "long", "client": "C1", "stock": "700.HK", **OK, "fm": "0.12345"},
            "fm",
            "at most 4 decimal places",
        ),
        ({"side": "long", "client": "C1", "stock": "700.HK", **OK, "mcm": ""}, "mcm", "required"),
        (
            {"side": "long", "client": "C1", "stock": "700.HK", **OK, "shortable": "allowed"},
            "shortable",
            "short rules only",
        ),
        (
            {"side": "short", "client": "C1", "stock": "700.HK", **OK, "shortable": "maybe"},
            "shortable",
            "one of",
        ),
        (
            {
                "side": "short",
                "client": "C1",
                "stock": "700.HK",
                **OK,
                "shortable": "system_forbidden",
            },
            "shortable",
            "set by the system",
        ),
        (
            {"side": "short", "client": "C1", "stock": "700.HK", **OK, "auto_close_qty": "-1"},
            "auto_close_qty",
            "whole number",
        ),
        (
            {
                "side": "short",
                "client": "C1",
                "stock": "700.HK",
                **OK,
                "auto_close_qty": 500,
                "auto_restore_qty": 499,
            },
            "auto_restore_qty",
            "at least the auto-close quantity (500)",
        ),
        (
            {"side": "long", "client": "C1", "stock": "700.HK", "colour": "red", **OK},
            "colour",
            "unknown field",
        ),
    ],
)
def test_a_new_rule_is_refused_naming_the_field(users, book, payload, field, reason):
    # Act
    got_field, got_reason = refused(users, payload)

    # Assert
    assert got_field == field
    assert reason in got_reason
    assert not ChangeRequest.objects.exists()


def test_a_new_short_rule_is_normalised_with_its_pool_rules(users, book):
    # Act
    change = submit(
        users,
        {
            "side": "short",
            "client": " C1 ",
            "stock": "700.HK",
            "im": "0.5",
            "mcm": "0.4",
            "mm": "0.3",
            "fm": "0",
            "auto_close_qty": "1,000",
            "auto_restore_qty": 1000,
        },
    )

    # Assert: factors as 4-dp strings; shortable defaults to allowed; restore may equal close
    assert change.payload == {
        "side": "short",
        "client": "C1",
        "client_group": None,
        "stock": "700.HK",
        "stock_group": None,
        "im": "0.5000",
        "mcm": "0.4000",
        "mm": "0.3000",
        "fm": "0.0000",
        "shortable": "allowed",
        "auto_close_qty": 1000,
        "auto_restore_qty": 1000,
    }
    assert change.target_key == "short:C:C1:S:700.HK"


def test_one_pending_request_per_rule(users, book):
    # Arrange
    first = submit(users, {"side": "long", "client": "C1", "stock": "700.HK", **OK})

    # Act
    with pytest.raises(services.ApprovalError) as caught:
        submit(users, {"side": "long", "client": "C1", "stock": "700.HK", **OK, "im": "0.6"})

    # Assert
    assert caught.value.existing == first


def test_an_edit_changes_the_factors_and_keeps_the_rule(users, long_rule):
    # Act
    change = submit(users, {"im": "0.6"}, target=long_rule)
    approve(users, change)
    long_rule.refresh_from_db()

    # Assert
    assert change.target_key == f"client-rule#{long_rule.pk}"
    assert change.before == {
        "im": "0.5000",
        "mcm": "0.4000",
        "mm": "0.3000",
        "fm": "0.2000",
        "status": "active",
    }
    assert change.payload["im"] == "0.6000"
    assert str(long_rule.im) == "0.6000" and long_rule.status == "active"
    assert long_rule.history.count() == 2


def test_an_edit_may_not_change_who_or_what_the_rule_covers(users, long_rule):
    assert refused(users, {"stock": "AAPL.US"}, long_rule) == (
        "stock",
        "cannot be changed; invalidate this rule and create a new one",
    )
    assert refused(users, {"shortable": "forbidden"}, long_rule) == (
        "shortable",
        "short rules only",
    )
    assert refused(users, {"mcm": "0.6"}, long_rule)[0] == "mcm"


def test_a_short_rule_edit_checks_the_pool_rules(users, short_rule):
    # Act / Assert
    assert refused(users, {"auto_restore_qty": 50}, short_rule)[0] == "auto_restore_qty"
    change = submit(
        users,
        {"shortable": "forbidden", "auto_close_qty": None, "auto_restore_qty": None},
        short_rule,
    )
    approve(users, change)
    short_rule.refresh_from_db()
    assert (short_rule.shortable, short_rule.auto_close_qty, short_rule.auto_restore_qty) == (
        "forbidden",
        None,
        None,
    )


def test_invalidation_changes_the_status_only_and_is_final(users, long_rule):
    # Act / Assert: an invalidation cannot carry other changes
    assert refused(users, {"status": "invalid", "im": "0.9"}, long_rule) == (
        "im",
        "an invalidation changes nothing else",
    )
    assert refused(users, {"status": "gone"}, long_rule)[0] == "status"

    # Act
    approve(users, submit(users, {"status": "invalid"}, long_rule))
    long_rule.refresh_from_db()

    # Assert: invalid; no further change, not even reactivation
    assert long_rule.status == "invalid"
    assert refused(users, {"status": "active"}, long_rule)[1].startswith("the rule is invalidated")
    assert refused(users, {"im": "0.6"}, long_rule)[0] == "status"


def test_nothing_would_change_is_refused(users, long_rule):
    with pytest.raises(services.ApprovalError, match="nothing would change"):
        submit(users, {"im": "0.5"}, long_rule)


def test_after_invalidation_the_same_pair_may_get_a_new_rule(users, long_rule):
    # Arrange
    approve(users, submit(users, {"status": "invalid"}, long_rule))

    # Act
    change = approve(
        users, submit(users, {"side": "long", "client": "C1", "stock": "700.HK", **OK, "im": "0.7"})
    )

    # Assert
    assert change.status == "applied"


def test_batch_rows_are_named_and_may_not_repeat_or_overlap_pending_requests(users, book):
    # Arrange
    row = {"side": "long", "client": "C1", "stock": "700.HK", **OK}
    other = {"side": "long", "client": "C1", "stock": "AAPL.US", **OK}

    # Act / Assert
    assert refused(users, {"rows": [row, {**other, "fm": "0.9"}]}, flow=BATCH)[0] == "rows.2.fm"
    assert refused(users, {"rows": [row, row]}, flow=BATCH) == (
        "rows.2.client",
        "same rule as row 1",
    )
    assert refused(users, {"rows": []}, flow=BATCH)[0] == "rows"
    single = submit(users, row)
    field, reason = refused(users, {"rows": [other, row]}, flow=BATCH)
    assert (field, reason) == ("rows.2.client", f"request #{single.pk} already proposes this rule")
    batch = submit(users, {"rows": [other]}, flow=BATCH)
    assert refused(users, {**other, "im": "0.6"}) == (
        "client",
        f"batch request #{batch.pk} already proposes this rule",
    )


def test_a_batch_applies_whole(users, book):
    # Arrange
    from riskdesk.margin.models import ClientMarginRule

    rows = [
        {"side": "long", "client": "C1", "stock": "700.HK", **OK},
        {"side": "short", "client": "C1", "stock": "700.HK", **OK, "shortable": "forbidden"},
    ]
    change = submit(users, {"rows": rows}, flow=BATCH)

    # Act
    approve(users, change)

    # Assert
    assert change.status == "applied"
    assert sorted(ClientMarginRule.objects.values_list("side", "shortable")) == [
        ("long", ""),
        ("short", "forbidden"),
    ]
    assert change.record_url == "/margin/client-long/"
