"""MR-2: when intraday ratios are in force (HKEX sessions from the trading-day calendar), the
rule's approval flow, and the pages that show the status now."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from riskdesk.approvals.governed import seeding
from riskdesk.approvals.services import ApprovalError
from riskdesk.margin.intraday import intraday_active
from riskdesk.margin.models import IntradayMargin, IntradayRule

pytestmark = pytest.mark.django_db
HK = ZoneInfo("Asia/Hong_Kong")


def hk(*args) -> datetime:
    return datetime(*args, tzinfo=HK)


@pytest.fixture
def hk_rule(db):
    with seeding("test"):
        return IntradayRule.objects.create(market="HK", starts_after_open=15, ends_before_close=30)


@pytest.mark.parametrize(
    ("at", "active"),
    [
        # Tue 2026-11-24, a normal day 09:30-16:00: active 09:45 (open + 15) to 15:30 (close − 30).
        (hk(2026, 11, 24, 9, 40), False),
        (hk(2026, 11, 24, 9, 45), True),
        (hk(2026, 11, 24, 10, 0), True),
        (hk(2026, 11, 24, 15, 29), True),
        (hk(2026, 11, 24, 15, 30), False),
        (hk(2026, 11, 24, 15, 45), False),
        # Thu 2026-12-24, a half day closing 12:00: active until 11:30.
        (hk(2026, 12, 24, 11, 0), True),
        (hk(2026, 12, 24, 11, 45), False),
        # Fri 2026-12-25, Christmas: closed all day.
        (hk(2026, 12, 25, 10, 0), False),
        # Sat 2026-11-28: closed.
        (hk(2026, 11, 28, 10, 0), False),
    ],
)
def test_intraday_ratios_follow_the_hk_session(hk_rule, at, active):
    assert intraday_active("HK", at, hk_rule) is active


def test_a_disabled_rule_or_no_rule_is_never_active(hk_rule):
    assert intraday_active("US", hk(2026, 11, 24, 23, 0), None) is False  # 10:00 in New York
    with seeding("test"):
        hk_rule.enabled = False
        hk_rule.save()
    assert intraday_active("HK", hk(2026, 11, 24, 10, 0), hk_rule) is False


def test_the_first_rule_of_a_market_is_created_by_approval(users, propose, approve):
    change = propose(
        "margin.intraday_rule",
        None,
        {"market": "US", "enabled": True, "starts_after_open": 5, "ends_before_close": 15},
    )
    assert change.target_key == "rule:US" and change.before == {}
    assert not IntradayRule.objects.exists()
    approve(change)
    rule = IntradayRule.objects.get()
    assert (rule.market, rule.enabled, rule.starts_after_open, rule.ends_before_close) == (
        "US",
        True,
        5,
        15,
    )
    assert rule.history.get().change_request_id == change.pk
    # 10:00 New York on Tue 2026-11-24 is 23:00 in Hong Kong.
    assert intraday_active("US", hk(2026, 11, 24, 23, 0), rule) is True


def test_an_existing_rule_is_changed_and_validated(hk_rule, propose, approve):
    with pytest.raises(ValidationError) as refused:
        propose("margin.intraday_rule", hk_rule, {"ends_before_close": -1})
    assert refused.value.message_dict == {"ends_before_close": ["must not be negative"]}
    with pytest.raises(ValidationError) as refused:
        propose("margin.intraday_rule", hk_rule, {"starts_after_open": "ten"})
    assert refused.value.message_dict == {"starts_after_open": ["a whole number of minutes"]}
    with pytest.raises(ValidationError) as refused:
        propose(
            "margin.intraday_rule", hk_rule, {"starts_after_open": 200, "ends_before_close": 190}
        )
    assert refused.value.message_dict == {
        "ends_before_close": ["leaves no window: 200 + 190 minutes ≥ the 390-minute HK session"]
    }
    with pytest.raises(ValidationError) as refused:
        propose("margin.intraday_rule", hk_rule, {"market": "US"})
    assert refused.value.message_dict == {"market": ["this rule is the HK rule"]}
    with pytest.raises(ApprovalError, match="nothing would change"):
        propose("margin.intraday_rule", hk_rule, {"ends_before_close": 30})
    change = propose("margin.intraday_rule", hk_rule, {"ends_before_close": 60})
    assert change.before == {
        "market": "HK",
        "enabled": True,
        "starts_after_open": 15,
        "ends_before_close": 30,
    }
    approve(change)
    hk_rule.refresh_from_db()
    assert hk_rule.ends_before_close == 60
    assert intraday_active("HK", hk(2026, 11, 24, 15, 15), hk_rule) is False


def test_the_auditor_cannot_change_a_rule(hk_rule, propose):
    with pytest.raises(ApprovalError, match="may not submit"):
        propose("margin.intraday_rule", hk_rule, {"ends_before_close": 60}, maker="auditor")


@pytest.fixture
def at_ten_on_a_tuesday(monkeypatch):
    """The clock at Tue 2026-11-24 10:00 in Hong Kong (21:00 Monday in New York)."""
    fixed = hk(2026, 11, 24, 10, 0)
    monkeypatch.setattr(timezone, "now", lambda: fixed)
    return fixed


def test_rules_page_and_intraday_list_show_the_status_now(
    client, users, book, hk_rule, at_ten_on_a_tuesday
):
    with seeding("test"):
        IntradayMargin.objects.create(
            instrument=book["tencent"],
            im=Decimal("0.25"),
            mcm=Decimal("0.2"),
            mm=Decimal("0.15"),
            fm=Decimal("0.1"),
        )
        IntradayMargin.objects.create(
            instrument=book["apple"],
            im=Decimal("0.3"),
            mcm=Decimal("0.25"),
            mm=Decimal("0.2"),
            fm=Decimal("0.1"),
        )
    client.force_login(users["auditor"])
    page = client.get("/margin/intraday/rules/").content.decode()
    assert 'data-testid="active-HK"><span class="badge">Active' in page
    assert "09:45–15:30" in page  # today's window
    assert 'data-testid="active-US"><span class="badge warn">Inactive (100%)' in page
    assert "no rule: never active" in page  # US has no rule
    assert 'data-testid="edit-HK"' not in page  # the auditor may not edit
    listing = client.get("/margin/intraday/", {"state": "active"}).content.decode()
    assert "700.HK" in listing and "AAPL.US" not in listing
    listing = client.get("/margin/intraday/", {"state": "inactive"}).content.decode()
    assert "AAPL.US" in listing and "Inactive (100%)" in listing
    detail = client.get(f"/margin/intraday/{book['tencent'].pk}/").content.decode()
    assert 'data-testid="active-now"><span class="badge">Active' in detail


def test_rule_edit_page_submits_a_request(client, users, hk_rule):
    client.force_login(users["officer"])
    assert client.get("/margin/intraday/rules/HK/edit/").status_code == 200
    assert client.get("/margin/intraday/rules/CN/edit/").status_code == 404
    r = client.post(
        "/margin/intraday/rules/HK/edit/",
        {"enabled": "on", "starts_after_open": "0", "ends_before_close": "400"},
    )
    assert "leaves no window" in r.content.decode()
    r = client.post(
        "/margin/intraday/rules/HK/edit/",
        {
            "enabled": "on",
            "starts_after_open": "0",
            "ends_before_close": "45",
            "note": "earlier cut",
        },
    )
    assert r.status_code == 302 and r["Location"].startswith("/approvals/requests/")
    client.force_login(users["auditor"])
    assert client.get("/margin/intraday/rules/HK/edit/").status_code == 403
    assert (
        client.post("/margin/intraday/rules/HK/edit/", {"ends_before_close": "5"}).status_code
        == 403
    )
