"""PL-8 / PL-3: a trading day changes only through approval (calendar.trading_day)."""

from datetime import date, time

import pytest
from django.core.exceptions import ValidationError

from riskdesk.approvals import selectors as approvals
from riskdesk.approvals import services
from riskdesk.approvals.governed import UngovernedWrite
from riskdesk.approvals.models import Flow
from riskdesk.calendars.models import TradingDay
from riskdesk.calendars.selectors import is_trading_day, next_trading_day
from riskdesk.calendars.setup import extend_trading_days
from riskdesk.jobs import calendar as jobs_calendar

from .conftest import hk, propose

pytestmark = pytest.mark.django_db

TUE_22, WED_23 = date(2026, 12, 22), date(2026, 12, 23)
TYPHOON = "Typhoon signal No. 8 hoisted"


def test_the_flow_is_set_up_with_one_risk_approver():
    flow = Flow.objects.get(key="calendar.trading_day")
    steps = [(s.role, s.approvals) for r in flow.routes.all() for s in r.steps.all()]
    assert steps == [("risk_approver", 1)]


def test_a_typhoon_closure_takes_effect_only_when_approved(users):
    # Arrange
    day = hk(WED_23)
    # Act 1: the officer proposes closing Wednesday 23rd.
    request = propose(
        users["officer"], day, status="closed", open_time=None, close_time=None, note=TYPHOON
    )
    # Assert 1: nothing changed yet; the day shows the pending change.
    day.refresh_from_db()
    assert (day.status, day.source) == ("open", "exchange-calendars")
    assert next_trading_day("HK", TUE_22, 1) == WED_23
    assert approvals.pending_change("calendar.trading_day", "HK:2026-12-23") == request
    assert request.before == {
        "status": "open",
        "open_time": "09:30",
        "close_time": "16:00",
        "note": "",
    }
    # Act 2: the approver approves.
    services.approve(request_id=request.pk, user=users["approver"])
    # Assert 2: closed, manual, with the reason; history stamped with the request id.
    request.refresh_from_db()
    assert request.status == "applied"
    day.refresh_from_db()
    assert (day.status, day.open_time, day.close_time, day.note, day.source) == (
        "closed",
        None,
        None,
        TYPHOON,
        "manual",
    )
    latest = day.history.order_by("-history_id").first()
    assert (latest.history_type, latest.change_request_id, latest.status) == (
        "~",
        request.pk,
        "closed",
    )
    # The calendar's readers see it at once: the next trading day after Tuesday is now the
    # half day of Thursday 24th, and the scheduler does not run on the 23rd.
    assert next_trading_day("HK", TUE_22, 1) == date(2026, 12, 24)
    assert not is_trading_day("HK", WED_23)
    assert not jobs_calendar.is_trading_day("HK", WED_23)
    # Re-seeding from exchange-calendars does not overwrite the approved change.
    assert extend_trading_days() == {"HK": 0, "US": 0}
    day.refresh_from_db()
    assert (day.status, day.source) == ("closed", "manual")


def test_a_late_open_is_a_valid_change(users):
    # Signal No. 8 lowered before noon: the market opens for the afternoon session only.
    request = propose(
        users["officer"],
        hk(WED_23),
        status="open",
        open_time="13:00",
        close_time="16:00",
        note="Typhoon signal No. 8 lowered at 11:10; afternoon session only",
    )
    services.approve(request_id=request.pk, user=users["approver"])
    day = hk(WED_23)
    assert (day.status, day.open_time, day.close_time) == ("open", time(13, 0), time(16, 0))


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"status": "closed", "open_time": None, "close_time": None, "note": ""}, "note"),
        ({"status": "closed", "open_time": None, "close_time": None, "note": "   "}, "note"),
        ({"status": "closed", "open_time": None, "close_time": None}, "note"),
        ({"status": "closed", "note": TYPHOON}, "open_time"),  # keeps 09:30 from the day
        (
            {"status": "closed", "open_time": None, "close_time": "16:00", "note": TYPHOON},
            "close_time",
        ),
        (
            {"status": "open", "open_time": "16:00", "close_time": "09:30", "note": "x"},
            "close_time",
        ),
        ({"status": "open", "open_time": None, "close_time": "16:00", "note": "x"}, "open_time"),
        (
            {"status": "half_day", "open_time": "09:30", "close_time": "16:00", "note": "x"},
            "close_time",
        ),
        ({"status": "open", "open_time": "9h30", "close_time": "16:00", "note": "x"}, "open_time"),
        ({"status": "shut", "note": "x"}, "status"),
        ({"status": "closed", "source": "manual", "note": "x"}, "source"),
    ],
)
def test_an_invalid_change_is_refused_naming_the_field(users, payload, field):
    with pytest.raises(ValidationError) as err:
        propose(users["officer"], hk(WED_23), **payload)
    assert field in err.value.message_dict
    assert not approvals.pending_change("calendar.trading_day", "HK:2026-12-23")


def test_only_a_role_with_the_permission_may_propose(users):
    with pytest.raises(services.ApprovalError):
        propose(
            users["auditor"],
            hk(WED_23),
            status="closed",
            open_time=None,
            close_time=None,
            note=TYPHOON,
        )


def test_writing_a_trading_day_directly_is_refused():
    day = hk(WED_23)
    day.status, day.open_time, day.close_time = "closed", None, None
    with pytest.raises(UngovernedWrite):
        day.save()
    with pytest.raises(UngovernedWrite):
        TradingDay.objects.filter(pk=day.pk).update(status="closed")
    with pytest.raises(UngovernedWrite):
        TradingDay.objects.create(market="HK", date=date(2023, 12, 29), status="closed")
    with pytest.raises(UngovernedWrite):
        hk(WED_23).delete()
    assert hk(WED_23).status == "open"
