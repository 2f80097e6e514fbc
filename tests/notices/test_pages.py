"""PL-7 pages: the send form with the preview on a call's detail, the bulk action on the alerts
list with per-call results, the messages list; the auditor may read but not send."""

import pytest

from riskdesk.notices.models import Message

pytestmark = pytest.mark.django_db


def test_call_detail_shows_the_preview_in_the_client_language(client, users, make_call):
    call = make_call()
    client.force_login(users["officer"])
    page = client.get(f"/margincall/calls/{call.pk}/").content.decode()
    assert 'data-testid="notice-preview" lang="zh-hant"' in page
    assert "追加保證金金額：HKD 123,456.78" in page
    assert 'data-testid="send-notice"' in page


def test_officer_sends_from_the_call_detail(client, users, make_call, mailoutbox):
    call = make_call()
    client.force_login(users["officer"])
    r = client.post(f"/notices/calls/{call.pk}/send/", {"channels": ["email", "inbox"]})
    assert r.status_code == 302 and r["Location"] == f"/margincall/calls/{call.pk}/"
    assert sorted(Message.objects.values_list("channel", "status")) == [
        ("email", "queued"),  # not committed in this test transaction: the worker has not run
        ("inbox", "sent"),
    ]
    page = client.get(f"/margincall/calls/{call.pk}/").content.decode()
    assert 'data-testid="notice-messages"' in page and 'data-status="sent"' in page


def test_auditor_cannot_send(client, users, make_call):
    call = make_call()
    client.force_login(users["auditor"])
    assert (
        client.post(f"/notices/calls/{call.pk}/send/", {"channels": ["inbox"]}).status_code == 403
    )
    assert client.post("/notices/bulk-send/", {"ids": [call.pk]}).status_code == 403
    page = client.get(f"/margincall/calls/{call.pk}/").content.decode()
    assert 'data-testid="notice-preview"' in page and 'data-testid="send-notice"' not in page
    assert client.get("/notices/messages/").status_code == 200
    assert not Message.objects.exists()


def test_bulk_action_on_the_alerts_list_and_result_page(client, users, book, make_call):
    from riskdesk.book.models import Account

    ok = make_call()
    late = make_call(
        Account.objects.create(number="M2", client=book["client"], type="margin"), deadline_days=-1
    )
    client.force_login(users["officer"])
    alerts = client.get("/margincall/alerts/").content.decode()
    assert 'action="/notices/bulk-send/"' in alerts and "Send notice to selected" in alerts
    r = client.post("/notices/bulk-send/", {"ids": [ok.pk, late.pk]})
    assert r.status_code == 200
    page = r.content.decode()
    assert f'data-call="{ok.pk}" data-ok="1"' in page
    assert f'data-call="{late.pk}" data-ok="0"' in page and "past the deadline" in page
    assert Message.objects.filter(call=late, status="refused").count() == 2


def test_messages_list_filters_by_status_and_channel(client, users, make_call):
    from riskdesk.notices import services

    services.send_call_notice(make_call(), channels=["inbox", "webhook"], user=users["officer"])
    client.force_login(users["officer"])
    page = client.get("/notices/messages/", {"status": "refused"}).content.decode()
    assert "RISKDESK_WEBHOOK_URL" in page
    page = client.get("/notices/messages/", {"channel": "inbox", "status": "refused"})
    assert "RISKDESK_WEBHOOK_URL" not in page.content.decode()
