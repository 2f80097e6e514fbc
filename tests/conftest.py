"""Shared fixtures: one user per role, an API client with a bearer token, and a small book
built through the same services that production uses."""

import os
from datetime import date
from decimal import Decimal

import pytest

os.environ.setdefault("RISKDESK_HOME", "/tmp/riskdesk-test-home")


def pytest_configure(config):
    if not config.pluginmanager.hasplugin("django"):
        return  # the engine's tests run without Django (-p no:django)
    from django.conf import settings

    # Password hashing is not under test here; the slow default would dominate the run.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def tasks_run_at_commit(request):
    """Background tasks (approval e-mails, scheduled jobs) run in the test process when the
    transaction commits, instead of waiting for a worker; mail goes to memory unless a test
    points it at its own SMTP server."""
    if not request.config.pluginmanager.hasplugin("django"):
        yield  # the engine's tests run without Django
        return
    settings = request.getfixturevalue("settings")
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    yield


@pytest.fixture
def users(db):
    from django.contrib.auth import get_user_model

    from riskdesk.users.demo import create_demo_users

    create_demo_users()
    return {u.username: u for u in get_user_model().objects.all()}


@pytest.fixture
def api(users):
    """``api(username)`` → a Django test client that sends that user's bearer token."""
    from django.test import Client

    from riskdesk.users.models import ApiToken

    def make(username: str):
        _token, raw = ApiToken.objects.issue(user=users[username], name="test")
        return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")

    return make


@pytest.fixture
def book(db):
    """HKD base; USD 7.8. Instruments 700.HK (lot 100), AAPL.US, 1234.HK (delisted), an
    AAPL call. Client C1 with margin account M1 and cash account K1."""
    from django.utils import timezone

    from riskdesk.book.models import Account, Client, FxRate, Instrument, Price

    now = timezone.now()
    FxRate.objects.create(currency="USD", rate=Decimal("7.8"), as_of=now)
    tencent = Instrument.objects.create(
        code="700.HK", name="Tencent", market="HK", currency="HKD", lot_size=100
    )
    apple = Instrument.objects.create(
        code="AAPL.US", name="Apple", market="US", currency="USD", lot_size=1
    )
    dead = Instrument.objects.create(
        code="1234.HK",
        name="Gone Ltd",
        market="HK",
        currency="HKD",
        lot_size=1000,
        status="delisted",
    )
    call = Instrument.objects.create(
        code="AAPL 261218C200",
        name="AAPL Dec26 200 C",
        market="US",
        kind="option",
        currency="USD",
        multiplier=100,
        underlying=apple,
        strike=Decimal("200"),
        expiry=date(2026, 12, 18),
        option_type="call",
    )
    for inst, last in [(tencent, "400"), (apple, "200"), (dead, "10"), (call, "5.5")]:
        Price.objects.create(instrument=inst, last=Decimal(last), as_of=now)
    client = Client.objects.create(code="C1", name="Chan Tai Man", email="c1@example.com")
    margin = Account.objects.create(number="M1", client=client, type="margin")
    cash = Account.objects.create(number="K1", client=client, type="cash")
    return {
        "client": client,
        "margin": margin,
        "cash": cash,
        "tencent": tencent,
        "apple": apple,
        "dead": dead,
        "call": call,
    }


@pytest.fixture
def post(db):
    """Post an event through the book service, with a fresh key unless one is given."""
    from itertools import count

    from riskdesk.book.services import post_event

    seq = count(1)

    def _post(kind: str, key: str | None = None, **payload):
        return post_event(kind=kind, key=key or f"t-{kind}-{next(seq)}", payload=payload)

    return _post
