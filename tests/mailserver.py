"""A local SMTP server for the tests (aiosmtpd): real SMTP conversations, messages kept."""

import socket
import time
from contextlib import contextmanager

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"

    def wait_for(self, n):
        for _ in range(100):
            if len(self.messages) >= n:
                break
            time.sleep(0.05)
        return self.messages


@contextmanager
def smtp_server(settings):
    """Serve SMTP on a free port and point Django's SMTP backend at it; yields the inbox."""
    port = free_port()
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    try:
        yield inbox
    finally:
        controller.stop()
