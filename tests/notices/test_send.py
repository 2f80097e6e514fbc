"""PL-7: margin-call notices in the client's language over e-mail (a real SMTP conversation
with a local server), the in-app inbox and a webhook (a local HTTP server); refused after the
deadline; failed with the error when the mail server is down; one MC-5 snapshot per send."""

import email
from datetime import timedelta
from email import policy

import pytest
from django.utils import timezone

from riskdesk.margincall.models import MarginCallSnapshot
from riskdesk.notices import services
from riskdesk.notices.models import Message
from riskdesk.notices.tasks import deliver
from tests.mailserver import free_port

pytestmark = pytest.mark.django_db


def parse(raw: bytes):
    msg = email.message_from_bytes(raw, policy=policy.default)
    return msg["subject"], msg.get_body(("plain",)).get_content()


def test_email_over_smtp_in_traditional_chinese_with_the_figures(
    users, make_call, smtp, django_capture_on_commit_callbacks
):
    call = make_call()
    with django_capture_on_commit_callbacks(execute=True):
        (msg,) = services.send_call_notice(call, channels=["email"], user=users["officer"])
    (recipients, raw), *_ = smtp.wait_for(1)
    assert recipients == ["c1@example.com"]
    subject, body = parse(raw)
    assert subject == "追加保證金通知：賬戶 M1"
    assert "追加保證金金額：HKD 123,456.78" in body
    assert "可用淨資產：HKD 45,000.00" in body
    assert "淨資產比率：31.25%" in body
    assert f"截止日期：{call.deadline:%Y-%m-%d}" in body
    assert "保证金" not in body  # Traditional, not Simplified
    msg.refresh_from_db()
    assert (msg.status, msg.channel, msg.language, msg.error) == ("sent", "email", "zh-hant", "")
    assert msg.sent_at is not None and msg.created_by == users["officer"]


@pytest.mark.parametrize(
    ("language", "subject", "line"),
    [
        ("en", "Margin call notice: account M1", "Call amount: HKD 123,456.78"),
        ("zh-hans", "追加保证金通知：账户 M1", "追加保证金金额：HKD 123,456.78"),
    ],
)
def test_notice_follows_the_client_language(book, make_call, language, subject, line):
    from riskdesk.notices.rendering import render_call_notice

    book["client"].language = language
    book["client"].save()
    notice = render_call_notice(make_call())
    assert notice.language == language and notice.subject == subject and line in notice.body


def test_inbox_message_is_stored_as_sent_and_a_notice_snapshot_is_taken(users, make_call):
    call = make_call()
    (msg,) = services.send_call_notice(call, channels=["inbox"], user=users["officer"])
    assert (msg.status, msg.recipient, msg.sent_at is not None) == ("sent", "", True)
    snaps = MarginCallSnapshot.objects.filter(call=call, reason="notice")
    assert snaps.count() == 1
    assert snaps.get().scenario["accounts"][0]["id"] == "M1"


def test_webhook_is_posted_as_json(users, make_call, webhook, django_capture_on_commit_callbacks):
    call = make_call()
    with django_capture_on_commit_callbacks(execute=True):
        (msg,) = services.send_call_notice(call, channels=["webhook"], user=users["officer"])
    (hit,) = webhook
    assert hit["path"] == "/hook" and hit["content_type"].startswith("application/json")
    body = hit["json"]
    assert (body["id"], body["client"], body["account"], body["language"]) == (
        msg.pk,
        "C1",
        "M1",
        "zh-hant",
    )
    assert body["call"]["call_amount"] == "123456.78"
    assert body["call"]["deadline"] == call.deadline.isoformat()
    assert "追加保證金金額：HKD 123,456.78" in body["body"]
    msg.refresh_from_db()
    assert msg.status == "sent" and msg.recipient.endswith("/hook")


def test_webhook_without_url_is_refused_with_the_reason(users, make_call, settings):
    settings.RISKDESK_WEBHOOK_URL = ""
    (msg,) = services.send_call_notice(make_call(), channels=["webhook"], user=users["officer"])
    assert msg.status == "refused" and "RISKDESK_WEBHOOK_URL" in msg.error


def test_nothing_is_sent_after_the_deadline(
    users, make_call, smtp, webhook, django_capture_on_commit_callbacks
):
    call = make_call(deadline_days=-1)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        sent = services.send_call_notice(
            call, channels=["email", "inbox", "webhook"], user=users["officer"]
        )
    assert callbacks == []
    assert [(m.channel, m.status) for m in sent] == [
        ("email", "refused"),
        ("inbox", "refused"),
        ("webhook", "refused"),
    ]
    assert all("past the deadline" in m.error for m in sent)
    assert Message.objects.filter(status="refused").count() == 3
    assert smtp.messages == [] and webhook == []
    assert not MarginCallSnapshot.objects.filter(call=call).exists()


def test_on_the_deadline_day_it_is_still_sent(users, make_call):
    call = make_call(deadline_days=0)
    (msg,) = services.send_call_notice(call, channels=["inbox"], user=users["officer"])
    assert msg.status == "sent"
    later = timezone.now() + timedelta(days=1)
    (msg,) = services.send_call_notice(call, channels=["inbox"], user=users["officer"], at=later)
    assert msg.status == "refused"


def test_a_queued_message_is_refused_when_delivered_after_the_deadline(users, make_call):
    call = make_call()
    (msg,) = services.send_call_notice(call, channels=["email"], user=users["officer"])
    assert msg.status == "queued"  # on_commit not run: still waiting for the worker
    call.deadline = timezone.localdate() - timedelta(days=1)
    call.save()
    assert deliver.call(msg.pk) == "refused"
    msg.refresh_from_db()
    assert msg.status == "refused" and "past the deadline" in msg.error


def test_smtp_server_down_leaves_the_message_failed_with_the_error(
    users, make_call, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2
    with django_capture_on_commit_callbacks(execute=True):
        (msg,) = services.send_call_notice(make_call(), channels=["email"], user=users["officer"])
    msg.refresh_from_db()
    assert msg.status == "failed" and msg.sent_at is None
    assert "Connection" in msg.error or "refused" in msg.error.lower()


def test_client_without_email_is_refused(users, book, make_call):
    book["client"].email = ""
    book["client"].save()
    email_msg, inbox_msg = services.send_call_notice(
        make_call(), channels=["inbox", "email"], user=users["officer"]
    )
    assert (email_msg.channel, email_msg.status) == ("email", "refused")
    assert "no e-mail address" in email_msg.error
    assert inbox_msg.status == "sent"


def test_one_snapshot_per_send_whatever_the_channels(users, make_call, settings):
    call = make_call()
    services.send_call_notice(call, channels=["email", "inbox"], user=users["officer"])
    assert MarginCallSnapshot.objects.filter(call=call, reason="notice").count() == 1


def test_bulk_send_gives_per_call_results(
    users, book, make_call, mailoutbox, django_capture_on_commit_callbacks
):
    from riskdesk.book.models import Account, Client

    c2 = Client.objects.create(code="C2", name="Lee", language="en", email="c2@example.com")
    late = make_call(
        Account.objects.create(number="M2", client=c2, type="margin"), deadline_days=-2
    )
    ok = make_call()
    with django_capture_on_commit_callbacks(execute=True):
        results = services.send_bulk([ok, late], channels=["email", "inbox"], user=users["officer"])
    assert [(r["call"].pk, r["ok"]) for r in results] == [(ok.pk, True), (late.pk, False)]
    assert [m.status for m in results[0]["messages"]] == ["queued", "sent"]
    assert sorted(Message.objects.filter(call=ok).values_list("status", flat=True)) == [
        "sent",
        "sent",
    ]
    assert [m.to for m in mailoutbox] == [["c1@example.com"]]
    assert "past the deadline" in results[1]["summary"]
    assert Message.objects.filter(call=late, status="refused").count() == 2
