"""Liquidation pages (MC-1 ticket, MC-2 batch, MC-10 orders, PL-12 switch) through the test
client, on ``liq_book`` after the crash to 150 (call 17,500; the planner sells 300)."""

import io
from decimal import Decimal

import pytest
from django.urls import reverse

from riskdesk.approvals.models import ChangeRequest
from riskdesk.liquidation.models import LiquidationOrder


@pytest.fixture
def officer(client, users):
    client.force_login(users["officer"])
    return client


def test_ticket_proposes_shows_figures_after_and_places(
    officer, crash, django_capture_on_commit_callbacks
):
    call = crash()
    url = reverse("liquidation:ticket", args=["M1"])
    page = officer.get(url, {"propose": "1"}).content.decode()
    assert 'data-testid="line-700.HK"' in page
    assert 'name="quantity" value="300"' in page
    assert 'data-testid="after-req_mcm">47,250.00' in page
    assert 'data-testid="before-call_amount">17,500.00' in page
    assert 'data-testid="after-call_amount">0.00' in page
    assert "Cures the call" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = officer.post(
            url,
            {"code": ["700.HK"], "quantity": ["300"], "token": "t-1", "source": "planner"},
        )
    assert response.status_code == 302
    assert response["Location"] == reverse("margincall:call", args=[call.pk])
    order = LiquidationOrder.objects.get()
    assert (order.quantity, order.status, order.source) == (300, "filled", "planner")
    detail = officer.get(response["Location"]).content.decode()
    assert order.client_order_id in detail and "Filled" in detail


def test_ticket_preview_of_typed_quantities_and_errors(officer, crash):
    crash()
    url = reverse("liquidation:ticket", args=["M1"])
    page = officer.get(url, {"q_700.HK": "200"}).content.decode()
    assert 'data-testid="after-req_mcm">54,000.00' in page  # 0.45 × 800 × 150
    assert "Does not cure the call" in page
    page = officer.get(url, {"q_700.HK": "2000"}).content.decode()
    assert 'data-testid="ticket-error">700.HK: 2000 exceeds the 1000' in page
    assert 'data-testid="place"' not in page
    page = officer.get(url, {"q_700.HK": "1,000"}).content.decode()
    # Quantities travel unlocalised: "1,000" on the screen, 1000 in the form.
    assert 'name="quantity" value="1000"' in page and 'data-testid="qty-700.HK"' in page
    assert 'name="q_700.HK" value="1000"' in page
    page = officer.get(url, {"instrument": "700.HK", "quantity": "100"}).content.decode()
    assert 'data-testid="qty-700.HK" value="100"' in page or 'value="100" size="10"' in page


def test_auditor_may_not_open_the_ticket_or_place(client, users, crash):
    crash()
    client.force_login(users["auditor"])
    url = reverse("liquidation:ticket", args=["M1"])
    assert client.get(url).status_code == 403
    assert client.post(url, {"code": "700.HK", "quantity": "100"}).status_code == 403
    assert not LiquidationOrder.objects.exists()
    assert client.get(reverse("liquidation:orders")).status_code == 200


def test_orders_list_export_and_cancel(
    officer, crash, liq_book, users, django_capture_on_commit_callbacks
):
    """An order in a suspended stock rests: listed as working, exported, cancelled from its
    page with the reason, and the book never moves."""
    from openpyxl import load_workbook

    from riskdesk.liquidation import services

    call = crash()
    liq_book["tencent"].status = "suspended"
    liq_book["tencent"].save()
    with django_capture_on_commit_callbacks(execute=True):
        (order,) = services.place(call.account, [("700.HK", 100)], user=users["officer"])
    listing = officer.get(reverse("liquidation:orders"), {"status": "working"}).content.decode()
    assert order.client_order_id in listing and "Working" in listing
    export = officer.get(reverse("liquidation:orders-export"), {"status": "working"})
    sheet = load_workbook(io.BytesIO(b"".join(export.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][0] == order.client_order_id and len(rows) == 2
    detail = reverse("liquidation:order", args=[order.pk])
    assert 'data-testid="cancel-order"' in officer.get(detail).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        officer.post(reverse("liquidation:order-cancel", args=[order.pk]), {"reason": "wrong"})
    order.refresh_from_db()
    assert order.status == "cancelled" and order.reason == "wrong"
    page = officer.get(detail).content.decode()
    assert 'data-testid="order-status">Cancelled' in page
    assert 'data-testid="cancel-order"' not in page


def test_batch_page_previews_and_confirms_only_when_switched_on(
    officer, crash, approve_parameters, django_capture_on_commit_callbacks
):
    call = crash()
    url = reverse("liquidation:batch")
    page = officer.get(url).content.decode()
    assert 'data-testid="switch-off"' in page and "M1" in page
    preview = officer.post(url, {"ids": [call.pk]}).content.decode()
    assert 'data-account="M1"' in preview and "300 700.HK" in preview
    refused = officer.post(url, {"ids": [call.pk], "confirm": "1"}).content.decode()
    assert 'data-testid="batch-error">batch liquidation is switched off' in refused
    assert not LiquidationOrder.objects.exists()
    approve_parameters(batch_enabled=True)
    with django_capture_on_commit_callbacks(execute=True):
        done = officer.post(url, {"ids": [call.pk], "confirm": "1"}).content.decode()
    assert 'data-testid="batch-summary"' in done and "1 order(s)" in done
    order = LiquidationOrder.objects.get()
    assert (order.quantity, order.source, order.status) == (300, "batch", "filled")


def test_parameters_change_goes_to_approval(officer):
    page = officer.get(reverse("liquidation:parameters")).content.decode()
    assert 'data-testid="batch-enabled">off' in page
    response = officer.post(
        reverse("liquidation:parameters-edit"),
        {"batch_enabled": "on", "auto_time": "15:30", "note": "volatile market"},
    )
    change = ChangeRequest.objects.get(flow="liquidation.parameters")
    assert response["Location"] == reverse("approvals:detail", args=[change.pk])
    assert change.payload == {"batch_enabled": True, "auto_enabled": False, "auto_time": "15:30"}
    page = officer.get(reverse("liquidation:parameters")).content.decode()
    assert 'data-testid="pending-change"' in page and 'data-testid="batch-enabled">off' in page


def test_deadline_form_on_the_call_page(officer, crash):
    from riskdesk.calendars.selectors import next_trading_day

    call = crash()
    later = next_trading_day("HK", call.deadline, 1)
    response = officer.post(
        reverse("liquidation:deadline", args=[call.pk]),
        {"deadline": later.isoformat(), "note": "agreed"},
    )
    assert response.status_code == 302
    call.refresh_from_db()
    assert call.deadline == later and call.auto_liquidate is False
    page = officer.get(reverse("margincall:call", args=[call.pk])).content.decode()
    assert 'data-testid="auto-exempt"' in page and "Deadline changed" in page
    assert Decimal(call.call_amount) == Decimal("17500.00")


def test_auditor_sees_the_batch_page_but_cannot_preview_or_liquidate(client, users, crash):
    call = crash()
    client.force_login(users["auditor"])
    url = reverse("liquidation:batch")
    page = client.get(url).content.decode()
    assert "M1" in page and 'data-testid="batch-preview"' not in page
    assert client.post(url, {"ids": [call.pk]}).status_code == 403
    assert client.post(url, {"ids": [call.pk], "confirm": "1"}).status_code == 403
    assert not LiquidationOrder.objects.exists()


def test_ticket_shows_the_booked_position_while_live_orders_close_it_all(
    officer, crash, liq_book, users, django_capture_on_commit_callbacks
):
    """A resting sell of all 1,000 700.HK: the ticket still says 1,000 held, 1,000 being
    closed, side Sell; a link with a bad quantity is a clear error, not a server error."""
    from riskdesk.liquidation import services

    call = crash()
    liq_book["tencent"].status = "suspended"
    liq_book["tencent"].save()
    with django_capture_on_commit_callbacks(execute=True):
        services.place(call.account, [("700.HK", 1000)], user=users["officer"])
    url = reverse("liquidation:ticket", args=["M1"])
    page = officer.get(url).content.decode()
    row = page[page.index('<tr data-code="700.HK">') :]
    row = row[: row.index("</tr>")]
    held, closing = (c.split(">", 1)[1] for c in row.split("<td")[4:6])
    assert (held, closing) == ("1,000</td>", "1,000</td>")
    assert "<td>Sell</td>" in row
    bad = officer.get(url, {"instrument": "700.HK", "quantity": "abc"})
    assert bad.status_code == 200
    assert 'data-testid="ticket-error">700.HK: not a whole number' in bad.content.decode()
