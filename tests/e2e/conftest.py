"""Browser tests: Debian's Chromium, driven by Playwright's sync API, against pytest-django's
live server and its file SQLite test database.

One browser for the session, a fresh context (cookies, language, downloads) for every test.
The data is built by the shared fixtures of tests/conftest.py (``users``, ``book``, ``post``)
on a transactional database, so the live server's thread sees it and the tests see what the
server wrote.
"""

import os
from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

# Playwright's sync API runs an event loop in this thread; Django refuses ORM calls from a
# thread with a running loop unless told that this is deliberate.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "1"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PASSWORD = "riskdesk-demo"
TIMEOUT_MS = 10_000

expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(scope="session")
def browser() -> Browser:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def context(browser, live_server) -> BrowserContext:
    context = browser.new_context(base_url=live_server.url, accept_downloads=True, locale="en-US")
    context.set_default_timeout(TIMEOUT_MS)
    yield context
    context.close()


@pytest.fixture
def page(context) -> Page:
    return context.new_page()


@pytest.fixture
def login(page, live_server):
    """``login(username)``: log in through the login form; returns the page on the dashboard."""

    def _login(username: str, password: str = PASSWORD) -> Page:
        page.goto("/login/")
        page.locator("#id_username").fill(username)
        page.locator("#id_password").fill(password)
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(f"{live_server.url}/")
        return page

    return _login


@pytest.fixture(autouse=True)
def e2e_book(transactional_db, live_server, users, book, post):
    """The ``book`` fixture (C1 with margin M1 and cash K1; 700.HK @ 400, AAPL.US @ 200 USD,
    the AAPL call @ 5.5 USD × 100, USD 7.8) plus client C2 with M2/K2 and a few events:

    M1: deposit HKD 100,000.00 and USD 1,000.00; buy 200 700.HK @ 380 with HKD 50 commission;
        buy 10 AAPL.US @ 190; sell (short) 1 AAPL call @ 5.
    K1: deposit HKD 50,000.00.
    """
    from django.core.cache import cache

    from riskdesk.book.models import Account, Client

    # The dashboard caches its figures for a minute in this process (the live server's too).
    cache.clear()
    c2 = Client.objects.create(code="C2", name="Wong Siu Ming", email="c2@example.com")
    Account.objects.create(number="M2", client=c2, type="margin")
    Account.objects.create(number="K2", client=c2, type="cash")
    post("deposit", account="M1", currency="HKD", amount="100000.00")
    post("deposit", account="M1", currency="USD", amount="1000.00")
    post(
        "trade_fill",
        account="M1",
        instrument="700.HK",
        side="buy",
        quantity=200,
        price="380",
        fees=[{"kind": "commission", "amount": "50.00"}],
    )
    post("trade_fill", account="M1", instrument="AAPL.US", side="buy", quantity=10, price="190")
    post(
        "trade_fill",
        account="M1",
        instrument="AAPL 261218C200",
        side="sell",
        quantity=1,
        price="5",
    )
    post("deposit", account="K1", currency="HKD", amount="50000.00")
    yield book
    cache.clear()


@pytest.fixture
def margined(e2e_book, post, monkeypatch):
    """M2 (client C2): HKD 300,000 deposited, 1,000 700.HK bought at 400 (cash −100,000);
    700.HK at 50/45/40/30. At 400: equity = lna 300,000 ≥ MM 160,000, no call; at 150:
    lna 50,000 < MM 60,000 → margin call (FM 45,000: not force close)."""
    from riskdesk.approvals.governed import seeding
    from riskdesk.margin.models import StockMargin
    from riskdesk.margincall import monitor

    monkeypatch.setattr(monitor, "GAP_WAIT", timedelta(0))
    with seeding("test"):
        StockMargin.objects.create(
            instrument=e2e_book["tencent"],
            im=Decimal("0.50"),
            mcm=Decimal("0.45"),
            mm=Decimal("0.40"),
            fm=Decimal("0.30"),
        )
    post("deposit", account="M2", currency="HKD", amount="300000.00")
    post("trade_fill", account="M2", instrument="700.HK", side="buy", quantity=1000, price="400")
    monitor.process_events()
    return e2e_book
