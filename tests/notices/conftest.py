"""Fixtures of the PL-7 tests: a margin call built by hand on the ``book`` fixture's M1
(client C1, zh-hant, c1@example.com), a local SMTP server (aiosmtpd) and a local HTTP server
receiving webhooks."""

import json
import threading
from datetime import timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from tests.mailserver import smtp_server

D = Decimal


@pytest.fixture
def make_call(book):
    from riskdesk.margincall.models import MarginCall

    def _make(account=None, *, amount="123456.78", deadline_days=3, **extra):
        now = timezone.now()
        fields = {
            "status": "open",
            "alert": "margin_call",
            "triggered_at": now - timedelta(hours=2),
            "deadline": timezone.localdate(now) + timedelta(days=deadline_days),
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
            **extra,
        }
        return MarginCall.objects.create(account=account or book["margin"], **fields)

    return _make


@pytest.fixture
def smtp(settings):
    with smtp_server(settings) as inbox:
        yield inbox


@pytest.fixture
def webhook(settings):
    """A local HTTP server recording each POSTed JSON body; RISKDESK_WEBHOOK_URL points at it."""
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length", 0))
            received.append(
                {
                    "path": self.path,
                    "content_type": self.headers.get("Content-Type"),
                    "json": json.loads(self.rfile.read(length).decode("utf-8")),
                }
            )
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.RISKDESK_WEBHOOK_URL = f"http://127.0.0.1:{server.server_address[1]}/hook"
    yield received
    server.shutdown()
    server.server_close()
