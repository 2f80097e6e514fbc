"""PL-7 stock recall notice: in the client's language with the stock, the quantity to return and
the return-by date (the next HK trading day), over e-mail (a real SMTP conversation with a
local server), the inbox and a webhook; stored with its delivery status; sent in bulk from the
securities-lending list (MC-6); never by an auditor.

Book: the ``book`` fixture's M1 (C1, zh-hant, c1@example.com) sells short 1,200 700.HK.
"""

import email
from datetime import date, datetime
from email import policy
from zoneinfo import ZoneInfo

import pytest

from riskdesk.book.models import Position
from riskdesk.notices import services
from riskdesk.notices.models import Message

pytestmark = pytest.mark.django_db
HK = ZoneInfo("Asia/Hong_Kong")
# Wed 23 Dec 2026 → the next HK trading day is Thu 24 Dec (a half day, it trades)
AT = datetime(2026, 12, 23, 10, 0, tzinfo=HK)
# Thu 24 Dec 2026 → Christmas and the weekend are closed: Mon 28 Dec
AT_EVE = datetime(2026, 12, 24, 15, 0, tzinfo=HK)


@pytest.fixture
def short(book, post):
    post("deposit", account="M1", currency="HKD", amount="100000")
    post("trade_fill", account="M1", instrument="700.HK", side="sell", quantity=1200, price="400")
    return Position.objects.get(account=book["margin"], instrument=book["tencent"])


def parse(raw: bytes):
    msg = email.message_from_bytes(raw, policy=policy.default)
    return msg["subject"], msg.get_body(("plain",)).get_content()


def test_recall_over_smtp_in_traditional_chinese(
    users, book, short, smtp, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        (msg,) = services.send_recall_notice(
            book["margin"], book["tencent"], 1200, channels=["email"], user=users["officer"], at=AT
        )
    (recipients, raw), *_ = smtp.wait_for(1)
    assert recipients == ["c1@example.com"]
    subject, body = parse(raw)
    assert subject == "股票召回通知：賬戶 M1 700.HK"
    assert "股票：700.HK Tencent" in body
    assert "須歸還數量：1,200 股" in body
    assert "歸還期限：2026-12-24" in body
    assert "账户" not in body  # Traditional, not Simplified
    msg.refresh_from_db()
    assert (msg.kind, msg.status, msg.channel, msg.language) == (
        "stock_recall",
        "sent",
        "email",
        "zh-hant",
    )
    assert (msg.instrument, msg.quantity, msg.due_date) == (
        book["tencent"],
        1200,
        date(2026, 12, 24),
    )
    assert msg.call is None and msg.created_by == users["officer"] and msg.sent_at is not None


@pytest.mark.parametrize(
    ("language", "subject", "lines"),
    [
        (
            "en",
            "Stock recall notice: 700.HK in account M1",
            ["Quantity to return: 1,200 shares", "Return by: 2026-12-28"],
        ),
        (
            "zh-hans",
            "股票召回通知：账户 M1 700.HK",
            ["须归还数量：1,200 股", "归还期限：2026-12-28"],
        ),
    ],
)
def test_recall_follows_the_client_language_and_the_hk_calendar(
    users, book, short, language, subject, lines
):
    book["client"].language = language
    book["client"].save()
    (msg,) = services.send_recall_notice(
        book["margin"], book["tencent"], -1200, channels=["inbox"], user=users["officer"], at=AT_EVE
    )
    assert (msg.status, msg.language, msg.subject) == ("sent", language, subject)
    assert all(line in msg.body for line in lines), msg.body


def test_recall_webhook_carries_the_figures(
    users, book, short, webhook, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        (msg,) = services.send_recall_notice(
            book["margin"],
            book["tencent"],
            1200,
            channels=["webhook"],
            user=users["officer"],
            at=AT,
        )
    (hit,) = webhook
    body = hit["json"]
    assert (body["id"], body["kind"], body["account"], body["client"]) == (
        msg.pk,
        "stock_recall",
        "M1",
        "C1",
    )
    assert body["recall"] == {"instrument": "700.HK", "quantity": 1200, "return_by": "2026-12-24"}
    assert "call" not in body
    msg.refresh_from_db()
    assert msg.status == "sent"


def test_refusals_are_stored_with_the_reason(users, book, short, settings):
    settings.RISKDESK_WEBHOOK_URL = ""
    book["client"].email = ""
    book["client"].save()
    sent = services.send_recall_notice(
        book["margin"],
        book["tencent"],
        1200,
        channels=["webhook", "email", "inbox"],
        user=users["officer"],
        at=AT,
    )
    assert [(m.channel, m.status) for m in sent] == [
        ("email", "refused"),
        ("inbox", "sent"),
        ("webhook", "refused"),
    ]
    assert "no e-mail address" in sent[0].error and "RISKDESK_WEBHOOK_URL" in sent[2].error
    with pytest.raises(ValueError):
        services.send_recall_notice(book["margin"], book["tencent"], 0, channels=["inbox"])
    with pytest.raises(ValueError):
        services.send_recall_notice(book["margin"], book["tencent"], 5, channels=["sms"])


def test_bulk_recall_from_the_lending_list(client, users, book, short, mailoutbox):
    client.force_login(users["officer"])
    page = client.get("/margincall/lending-positions/", {"stock": "700.HK"}).content.decode()
    assert 'action="/notices/recall/positions/"' in page
    assert f'name="ids" value="{short.pk}"' in page
    r = client.post("/notices/recall/positions/", {"ids": [short.pk]})
    assert r.status_code == 200
    page = r.content.decode()
    assert 'data-account="M1" data-stock="700.HK" data-ok="1"' in page
    assert sorted(
        Message.objects.filter(kind="stock_recall").values_list("channel", "status", "quantity")
    ) == [
        ("email", "queued", 1200),  # the worker runs after the test transaction commits
        ("inbox", "sent", 1200),
    ]
    messages = client.get("/notices/messages/", {"kind": "stock_recall"}).content.decode()
    assert "Stock recall notice" in messages and "700.HK" in messages
    assert client.post("/notices/recall/positions/", {}).status_code == 302


def test_auditor_cannot_send_a_recall(client, users, book, short):
    client.force_login(users["auditor"])
    assert client.post("/notices/recall/positions/", {"ids": [short.pk]}).status_code == 403
    assert client.post("/notices/recall/short-recalls/", {"ids": [1]}).status_code == 403
    page = client.get("/margincall/lending-positions/").content.decode()
    assert "M1" in page and "/notices/recall/" not in page
    assert not Message.objects.exists()
