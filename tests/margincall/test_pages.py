"""MC-1 / MC-3 / MC-4 / MC-5 pages, on calls built by hand (not by the monitor): the alert
columns and filters, the two totals, triggered hours rounded up, the intraday page, history,
snapshots, the exception list, notes by an officer, the auditor refused, the export of the
filtered rows and the live fragment marking rows changed since the page was opened."""

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from riskdesk.book.models import Account
from riskdesk.margincall.models import MarginCall, MarginCallEvent, MarginCallSnapshot
from riskdesk.margincall.services import hours_between as triggered_hours

pytestmark = pytest.mark.django_db
D = Decimal


def make_call(account, *, amount, ago=timedelta(hours=2), **extra):
    now = timezone.now()
    fields = {
        "status": "open",
        "alert": "margin_call",
        "triggered_at": now - ago,
        "deadline": (now + timedelta(days=3)).date(),
        "updated_at": now - ago,
        "call_amount": D(amount),
        "equity": D("50000.00"),
        "lna": D("45000.00"),
        "nar": D("0.312500"),
        "req_im": D("80000.00"),
        "req_mcm": D("70000.00"),
        "req_mm": D("60000.00"),
        "req_fm": D("50000.00"),
        "loan": D("120000.00"),
        "cash": D("-120000.00"),
        "market_value": D("170000.00"),
        "credit_limit": D("200000.00"),
        "trading_credit": D("0.00"),
        **extra,
    }
    call = MarginCall.objects.create(account=account, **fields)
    MarginCallEvent.objects.create(
        call=call,
        kind="open",
        at=call.triggered_at,
        before=None,
        after={"alert": call.alert, "call_amount": str(call.call_amount), "lna": str(call.lna)},
    )
    return call


@pytest.fixture
def calls(book):
    """Open calls on margin accounts M1 (100.00), M3 (250.50), M4 (1,000.00, 91 days ago,
    force close, exception), intraday account D1 (777.00)."""
    client = book["client"]
    m3 = Account.objects.create(number="M3", client=client, type="margin")
    m4 = Account.objects.create(number="M4", client=client, type="margin")
    d1 = Account.objects.create(number="D1", client=client, type="intraday")
    return {
        "m1": make_call(book["margin"], amount="100.00", ago=timedelta(minutes=59)),
        "m3": make_call(m3, amount="250.50", ago=timedelta(minutes=61)),
        "m4": make_call(
            m4, amount="1000.00", ago=timedelta(days=91), alert="force_close", exception=True
        ),
        "d1": make_call(d1, amount="777.00"),
    }


@pytest.fixture
def officer(client, users):
    client.force_login(users["officer"])
    return client


@pytest.fixture
def auditor(client, users):
    client.force_login(users["auditor"])
    return client


def text(response):
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_triggered_hours_round_up_to_at_least_one():
    now = timezone.now()
    assert triggered_hours(now - timedelta(minutes=59), now) == 1
    assert triggered_hours(now - timedelta(minutes=61), now) == 2
    assert triggered_hours(now - timedelta(seconds=5), now) == 1
    assert triggered_hours(now - timedelta(hours=3), now) == 3


def test_alerts_page_columns_totals_and_hours(officer, calls):
    page = text(officer.get("/margincall/alerts/"))
    assert "3 rows" in page and "D1" not in page
    for label in (
        "Alert type",
        "Deadline",
        "Triggered duration (h)",
        "Net asset ratio",
        "Liquid net assets",
        "Equity",
        "Call amount",
        "IM requirement",
        "MM requirement",
        "FM requirement",
        "Loan",
        "Credit",
        "Trading credit",
        "Cash",
        "Market value",
        "Exception",
    ):
        assert f">{label}" in page, label
    assert 'data-testid="total-call-amount">1,350.50<' in page
    assert 'data-testid="long-call-amount">1,000.00<' in page
    assert f'href="/margincall/calls/{calls["m1"].pk}/"' in page
    assert "Force close" in page and "0.3125" in page and "-120,000.00" in page
    # 59 minutes → 1 hour, 61 minutes → 2 hours, 91 days and a moment → 2,185 hours
    rows = {r.split("</a>")[0].rsplit(">", 1)[1]: r for r in page.split("<tr")[2:] if "</a>" in r}
    assert '<span class="">1</span>' in rows["M1"] and '<span class="">2</span>' in rows["M3"]
    assert '<span class="">2,185</span>' in rows["M4"]
    assert 'hx-trigger="every 5s"' in page


def test_alerts_filters_narrow_rows_and_totals(officer, calls):
    def rows(**params):
        return text(officer.get("/margincall/alerts/", params))

    page = rows(alert="force_close")
    assert "1 row" in page and "M4" in page and 'total-call-amount">1,000.00<' in page
    page = rows(amount_min="200", amount_max="300")
    assert "1 row" in page and "M3" in page
    assert 'total-call-amount">250.50<' in page and 'long-call-amount">0.00<' in page
    assert "1 row" in rows(account="M1") and "1 row" in rows(exception="1")
    assert "2 rows" in rows(exception="0") and "3 rows" in rows(client="C1")
    today = timezone.localdate()
    assert "0 rows" in rows(deadline_to=str(today))
    assert "3 rows" in rows(deadline_from=str(today))
    assert "Call amount from: not a number" in rows(amount_min="x")


def test_intraday_page_shows_only_intraday_accounts(officer, calls):
    page = text(officer.get("/margincall/intraday/"))
    assert "1 row" in page and "D1" in page and "M1" not in page
    assert 'total-call-amount">777.00<' in page


def test_export_is_the_filtered_rows(officer, calls):
    response = officer.get("/margincall/alerts/export.xlsx", {"amount_max": "300"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    values = list(sheet.values)
    assert values[0][:4] == ("Account", "Client code", "Client name", "Alert type")
    accounts = sorted(row[0] for row in values[1:])
    assert accounts == ["M1", "M3"]
    by_account = {row[0]: dict(zip(values[0], row, strict=True)) for row in values[1:]}
    assert by_account["M3"]["Call amount"] == D("250.50")
    assert by_account["M3"]["Triggered duration (h)"] == 2


def test_live_fragment_marks_rows_changed_after_opened(officer, calls):
    opened = timezone.now()
    later = opened + timedelta(seconds=1)
    MarginCall.objects.filter(pk=calls["m3"].pk).update(call_amount=D("300.00"), updated_at=later)
    new = make_call(
        Account.objects.create(number="M9", client=calls["m1"].account.client, type="margin"),
        amount="42.00",
        ago=timedelta(0),
    )
    MarginCall.objects.filter(pk=new.pk).update(triggered_at=later, updated_at=later)
    fragment = text(
        officer.get(
            "/margincall/alerts/",
            {"opened": opened.isoformat(), "poll": "1"},
            HTTP_HX_REQUEST="true",
        )
    )
    assert "<html" not in fragment and 'hx-trigger="every 1s"' in fragment
    rows = {
        r.split("</a>")[0].rsplit(">", 1)[1]: r for r in fragment.split("<tr")[2:] if "</a>" in r
    }
    assert 'data-mark="new"' in rows["M9"] and 'data-mark="updated"' in rows["M3"]
    assert "data-mark" not in rows["M1"] and "data-mark" not in rows["M4"]
    assert 'total-call-amount">1,442.00<' in fragment
    # The poll keeps the page's opening time and the filters.
    filtered = text(
        officer.get(
            "/margincall/alerts/",
            {"opened": opened.isoformat(), "account": "M"},
            HTTP_HX_REQUEST="true",
        )
    )
    assert "opened=" in filtered.split('data-testid="live-poll"')[0] + filtered
    assert "account=M" in filtered


def test_history_shows_ended_calls_with_first_and_last_figures(officer, calls):
    call = calls["m3"]
    ended = call.triggered_at + timedelta(hours=5, minutes=1)
    MarginCallEvent.objects.create(
        call=call,
        kind="end",
        at=ended,
        before={"alert": "margin_call", "call_amount": "260.00", "lna": "44000.00"},
        after={"alert": "none", "call_amount": "0.00", "lna": "90000.00"},
    )
    MarginCall.objects.filter(pk=call.pk).update(status="ended", ended_at=ended)
    page = text(officer.get("/margincall/history/"))
    assert "1 row" in page and "M3" in page
    row = page.split("M3</a>")[1].split("</tr>")[0]
    for figure in ("250.50", "45,000.00", "260.00", "44,000.00", "90,000.00", ">6<"):
        assert figure in row, figure
    assert "2 rows" in text(officer.get("/margincall/alerts/"))


def test_snapshot_list_page_and_download(officer, calls):
    snap = MarginCallSnapshot.objects.create(
        call=calls["m1"],
        reason="triggered",
        scenario={"base_currency": "HKD", "accounts": [{"number": "M1"}]},
        figures={"M1": {"call_amount": "100.00", "alert": "margin_call"}},
    )
    page = text(officer.get("/margincall/snapshots/"))
    assert "1 row" in page and "Margin call triggered" in page
    assert f'href="/margincall/snapshots/{snap.pk}/"' in page
    detail = text(officer.get(f"/margincall/snapshots/{snap.pk}/"))
    assert "M1.call_amount" in detail and "100.00" in detail
    assert f"snapshot-{snap.pk}.json" in detail
    download = officer.get(f"/margincall/snapshots/{snap.pk}/snapshot.json")
    assert download["Content-Disposition"] == f'attachment; filename="snapshot-{snap.pk}.json"'
    assert download.json() == snap.scenario


def test_call_detail_and_annotate_by_officer(officer, calls, users):
    call = calls["m1"]
    page = text(officer.get(f"/margincall/calls/{call.pk}/"))
    assert 'data-testid="fig-call_amount">100.00<' in page
    assert "Cash by currency" in page and 'data-testid="margin-panel"' in page
    assert "No liquidation orders." in page and 'data-kind="open"' in page
    assert 'data-testid="save-note"' in page
    r = officer.post(
        f"/margincall/calls/{call.pk}/annotate/",
        {"note": "Client promised funds", "exception": "on"},
    )
    assert r.status_code == 302
    call.refresh_from_db()
    assert call.note == "Client promised funds" and call.exception
    event = call.events.get(kind="note")
    assert event.actor == users["officer"] and event.after["exception"] is True
    page = text(officer.get(f"/margincall/calls/{call.pk}/"))
    assert 'data-kind="note"' in page and "Client promised funds" in page
    exceptions = text(officer.get("/margincall/exceptions/"))
    assert "2 rows" in exceptions and "M1" in exceptions and "M4" in exceptions


def test_auditor_reads_but_may_not_annotate(auditor, calls):
    call = calls["m1"]
    page = text(auditor.get(f"/margincall/calls/{call.pk}/"))
    assert 'data-testid="save-note"' not in page
    r = auditor.post(f"/margincall/calls/{call.pk}/annotate/", {"note": "x"})
    assert r.status_code == 403
    call.refresh_from_db()
    assert call.note == "" and not call.events.filter(kind="note").exists()


def test_menu_links_the_margin_call_pages(officer, calls):
    page = text(officer.get("/"))
    for url in ("/margincall/alerts/", "/margincall/intraday/", "/margincall/history/"):
        assert f'href="{url}"' in page
