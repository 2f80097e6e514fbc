"""PL-8: the calendar list (shared list page), a day with its change records, the edit form."""

from datetime import date

import pytest

from riskdesk.approvals.models import ChangeRequest

from .conftest import hk

pytestmark = pytest.mark.django_db


def shown_dates(response):
    return [(r["market"], r["date"]) for r in response.context["result"]["rows"]]


def test_the_list_filters_by_market_status_and_dates(client, users):
    client.force_login(users["auditor"])
    response = client.get(
        "/calendar/days/",
        {"market": "HK", "status": "half_day", "date_from": "2026-01-01", "date_to": "2026-12-31"},
    )
    assert response.status_code == 200
    # HKEX 2026 half days (exchange-calendars XHKG): Lunar New Year's Eve (Mon 16 Feb),
    # Christmas Eve and New Year's Eve.
    assert shown_dates(response) == [
        ("HK", date(2026, 2, 16)),
        ("HK", date(2026, 12, 24)),
        ("HK", date(2026, 12, 31)),
    ]
    response = client.get(
        "/calendar/days/",
        {"market": "US", "status": "closed", "date_from": "2026-11-26", "date_to": "2026-11-29"},
    )
    # Thanksgiving, then the weekend.
    assert shown_dates(response) == [
        ("US", date(2026, 11, 26)),
        ("US", date(2026, 11, 28)),
        ("US", date(2026, 11, 29)),
    ]
    assert b"Thanksgiving" in response.content


def test_a_bad_date_filter_is_reported(client, users):
    client.force_login(users["auditor"])
    response = client.get("/calendar/days/", {"date_from": "23/12/2026"})
    assert response.context["result"]["errors"]


def test_an_auditor_reads_a_day_but_may_not_edit_it(client, users):
    day = hk(date(2026, 12, 24))
    client.force_login(users["auditor"])
    response = client.get(f"/calendar/days/{day.pk}/")
    assert response.status_code == 200
    assert b"Christmas Eve" in response.content and b'data-testid="history"' in response.content
    assert b"exchange-calendars XHKG" in response.content  # the seed reason in the change records
    assert b'data-testid="edit"' not in response.content
    assert client.get(f"/calendar/days/{day.pk}/edit/").status_code == 403


def test_the_officer_edits_a_day_and_lands_on_the_request(client, users):
    day = hk(date(2026, 12, 23))
    client.force_login(users["officer"])
    page = client.get(f"/calendar/days/{day.pk}/")
    assert b'data-testid="edit"' in page.content
    # Without a note: refused, the note field named.
    response = client.post(
        f"/calendar/days/{day.pk}/edit/", {"status": "closed", "open_time": "", "close_time": ""}
    )
    assert response.status_code == 200
    assert "note" in response.context["form"].errors
    assert not ChangeRequest.objects.exists()
    # With one: submitted, and the day shows the pending change.
    response = client.post(
        f"/calendar/days/{day.pk}/edit/",
        {"status": "closed", "open_time": "", "close_time": "", "note": "Black rainstorm warning"},
    )
    request = ChangeRequest.objects.get()
    assert (
        response.status_code == 302 and response["Location"] == f"/approvals/requests/{request.pk}/"
    )
    assert (request.flow, request.target_key, request.payload["note"]) == (
        "calendar.trading_day",
        "HK:2026-12-23",
        "Black rainstorm warning",
    )
    page = client.get(f"/calendar/days/{day.pk}/")
    assert (
        b'data-testid="pending-change"' in page.content
        and b'data-testid="edit"' not in page.content
    )


def test_the_menu_links_the_calendar(client, users):
    client.force_login(users["officer"])
    assert b'href="/calendar/days/"' in client.get("/").content
