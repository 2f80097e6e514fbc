"""MC-1: the monitor reacts to ratio events, not only book events. A synced ratio change and
an approved client-group membership move an account in and out of margin call with no book
event in between. Figures worked by hand."""

from datetime import date
from decimal import Decimal

import pytest

from riskdesk.approvals import services
from riskdesk.margin import settings_records
from riskdesk.margincall.models import MarginCall, RescreenRequest
from riskdesk.margincall.monitor import process_all

pytestmark = pytest.mark.django_db


def open_call(account):
    return MarginCall.objects.filter(account=account, status="open").first()


def test_a_synced_ratio_rise_opens_a_call_and_a_group_rule_ends_it(call_book, users, monitor_at):
    # M1: cash 200,000 − 1,000 × 400 = −200,000; 700.HK 400,000; lna 200,000.
    # At 40/35/30/25: MM 120,000 ≤ 200,000 → no call.
    process_all(at=monitor_at)
    assert open_call(call_book["margin"]) is None

    # A risk officer's approved change raises 700.HK to 60/58/55/40 and is synced (MR-3).
    setting = settings_records.create(
        book="long",
        instrument=call_book["tencent"],
        action="set",
        factors={"im": "0.6000", "mcm": "0.5800", "mm": "0.5500", "fm": "0.4000"},
        effective_date=date(2026, 12, 24),
        request_id=0,
    )
    settings_records.sync(setting, users["officer"])
    assert RescreenRequest.objects.filter(instrument_ids=[call_book["tencent"].pk]).exists()
    process_all(at=monitor_at)
    # MM 400,000 × 0.55 = 220,000 > lna 200,000; FM 160,000 ≤ 200,000 → margin call;
    # call = MCM 232,000 − 200,000 = 32,000.
    call = open_call(call_book["margin"])
    assert (call.alert, call.call_amount, call.req_mm) == (
        "margin_call",
        Decimal("32000.00"),
        Decimal("220000.00"),
    )
    assert open_call(call_book["m2"]) is None  # M2 holds no 700.HK: untouched

    # C1 joins the margin group VIP, whose rule gives 700.HK 30/25/20/15 (MR-5, MR-6).
    group = services.submit(
        flow="lists.client_group",
        target=None,
        payload={"name": "VIP", "business_type": "margin", "members": []},
        maker=users["officer"],
    )
    services.approve(request_id=group.pk, user=users["approver"])
    rule = services.submit(
        flow="margin.client_rule",
        target=None,
        payload={
            "side": "long",
            "client_group": "VIP",
            "stock": "700.HK",
            "im": "0.30",
            "mcm": "0.25",
            "mm": "0.20",
            "fm": "0.15",
        },
        maker=users["officer"],
    )
    services.approve(request_id=rule.pk, user=users["approver"])
    from riskdesk.lists.models import ClientGroup

    join = services.submit(
        flow="lists.client_group",
        target=ClientGroup.objects.get(name="VIP"),
        payload={"members": ["C1"]},
        maker=users["officer"],
    )
    services.approve(request_id=join.pk, user=users["approver"])
    process_all(at=monitor_at)
    # Now MM 400,000 × 0.20 = 80,000 ≤ 200,000 → cured, the call ends.
    call.refresh_from_db()
    assert call.status == "ended"
    assert list(call.events.values_list("kind", flat=True)) == ["open", "end"]


def test_ratio_changes_are_applied_once(call_book, monitor_at, stock_ratio):
    process_all(at=monitor_at)
    from riskdesk.approvals.governed import seeding
    from riskdesk.margin.models import StockMargin

    with seeding("test"):
        row = StockMargin.objects.get(instrument=call_book["tencent"])
        row.im, row.mcm, row.mm, row.fm = (Decimal(x) for x in ("0.60", "0.58", "0.55", "0.40"))
        row.save()
    assert process_all(at=monitor_at) == 1
    events = MarginCall.objects.get().events.count()
    assert process_all(at=monitor_at) == 0  # nothing pending, nothing re-applied
    assert MarginCall.objects.get().events.count() == events
