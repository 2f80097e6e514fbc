"""PL-3: the approvers of the waiting step get an e-mail over a real SMTP conversation with a
local server; the maker hears when the request closes."""

import socket
import time

import pytest
from aiosmtpd.controller import Controller

from riskdesk.approvals import services
from tests.approvals.conftest import submit_total

pytestmark = pytest.mark.django_db


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(
            (
                envelope.mail_from,
                list(envelope.rcpt_tos),
                envelope.content.decode("utf-8", "replace"),
            )
        )
        return "250 OK"


@pytest.fixture
def smtp(settings):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.RISKDESK_CONSOLE_URL = "http://console.test"
    yield inbox
    controller.stop()


def wait_for(inbox, n):
    for _ in range(50):
        if len(inbox.messages) >= n:
            return inbox.messages
        time.sleep(0.05)
    return inbox.messages


@pytest.mark.django_db(transaction=True)
def test_approvers_of_the_step_are_mailed_then_the_maker(users, company, smtp):
    request = submit_total(users["officer"], company, "42", note="quarter end")
    messages = wait_for(smtp, 1)
    assert len(messages) == 1
    _sender, recipients, body = messages[0]
    # both risk approvers, not the maker, not other roles
    assert sorted(recipients) == ["approver2@riskdesk.local", "approver@riskdesk.local"]
    assert (
        f"Approval needed: #{request.pk}" in body
        and f"http://console.test/approvals/requests/{request.pk}/" in body
    )
    assert "quarter end" in body
    services.approve(request_id=request.pk, user=users["approver"])
    messages = wait_for(smtp, 2)
    assert messages[1][1] == ["officer@riskdesk.local"]
    assert f"Request #{request.pk} applied" in messages[1][2]
