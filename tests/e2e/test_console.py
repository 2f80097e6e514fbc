"""Log in, switch language, walk the menu (PL-1, PL-2, PL-9) in a real browser."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def built_entries():
    """(section, label) of every built menu entry, in menu order; each page's <h1> is its label."""
    from riskdesk.console.menu import MENU

    return [
        (str(s.label), str(e.label))
        for s in MENU
        for g in s.groups
        for e in g.entries
        if e.url_name
    ]


def test_anonymous_lands_on_login_and_officer_sees_dashboard(page, live_server):
    page.goto("/")
    expect(page).to_have_url(f"{live_server.url}/login/?next=/")
    expect(page.locator("#id_username")).to_be_visible()

    page.locator("#id_username").fill("officer")
    page.locator("#id_password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".messages .error")).to_have_text("Wrong user name or password.")
    expect(page).to_have_url(f"{live_server.url}/login/?next=/")

    page.locator("#id_password").fill("riskdesk-demo")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.locator("h1")).to_have_text("Dashboard")
    expect(page.locator(".who")).to_contain_text("Olivia Chan")
    # Fixture data: clients C1 and C2; accounts M1, K1, M2, K2 (2 cash, 2 margin).
    expect(page.get_by_test_id("clients").locator(".value")).to_have_text("2")
    accounts = page.locator(".card", has=page.locator(".label", has_text="Accounts"))
    expect(accounts.locator(".value")).to_have_text("4")
    expect(accounts.locator(".sub")).to_have_text("cash 2 · margin 2 · intraday 0")


# The translator's labels for Dashboard, Clients, Accounts and Log out.
CHINESE = {
    "zh-hans": ("简体中文", ["总览", "客户", "账户", "退出登录"]),
    "zh-hant": ("繁體中文", ["總覽", "客戶", "帳戶", "登出"]),
}


def test_language_switch_translates_the_menu(login):
    """Needs the compiled catalogues under src/riskdesk/locale/<lang>/LC_MESSAGES/django.mo."""
    page = login("officer")
    html = page.locator("html")
    nav = page.locator("nav.menu")
    language = page.locator("#language-form select")
    expect(html).to_have_attribute("lang", "en")
    expect(nav.get_by_role("link", name="Dashboard", exact=True)).to_be_visible()

    for code, (name, labels) in CHINESE.items():
        language.select_option(label=name)  # submits the form; the page re-renders
        expect(html).to_have_attribute("lang", code)
        dashboard, clients, accounts, logout = labels
        expect(page.locator("h1")).to_have_text(dashboard)
        expect(nav.get_by_role("link", name=dashboard, exact=True)).to_be_visible()
        expect(nav.get_by_role("link", name=clients, exact=True)).to_be_visible()
        expect(nav.get_by_role("link", name=accounts, exact=True)).to_be_visible()
        expect(page.get_by_role("button", name=logout, exact=True)).to_be_visible()
        expect(nav.get_by_role("link", name="Dashboard", exact=True)).to_have_count(0)

    # The choice sticks across pages (session cookie); English brings the labels back.
    nav.get_by_role("link", name="帳戶", exact=True).click()
    expect(page).to_have_url(re.compile(r"/book/accounts/$"))
    expect(html).to_have_attribute("lang", "zh-hant")
    expect(page.locator("h1")).to_have_text("帳戶")
    language.select_option(label="English")
    expect(html).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text("Accounts")
    expect(nav.get_by_role("link", name="Dashboard", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Log out", exact=True)).to_be_visible()


def test_auditor_opens_every_built_page_from_the_menu(login, live_server):
    from riskdesk.console.menu import MENU

    page = login("auditor")
    failures = []

    def check(response):
        # Chromium asks for /favicon.ico on its own; the console has none (a harmless 404).
        if response.status >= 400 and not response.url.endswith("/favicon.ico"):
            failures.append(f"{response.status} {response.url}")

    page.on("response", check)
    nav = page.locator("nav.menu")
    built = built_entries()
    # Exactly the built entries are links (open or folded sections alike): the auditor may
    # view everything that is built.
    assert nav.locator("a").all_text_contents() == [label for _section, label in built]

    for section, label in built:
        link = nav.get_by_role("link", name=label, exact=True)
        if not link.is_visible():
            nav.locator("summary").filter(has_text=re.compile(f"^{re.escape(section)}$")).click()
        with page.expect_navigation() as navigation:
            link.click()
        assert navigation.value.status == 200, label
        expect(page.locator("h1")).to_have_text(label)
        expect(nav.get_by_role("link", name=label, exact=True)).to_have_class("current")

    # The detail pages, reached through the list links.
    nav.get_by_role("link", name="Accounts", exact=True).click()
    page.locator("#rows").get_by_role("link", name="M1", exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/book/accounts/M1/")
    expect(page.locator("h1")).to_have_text("Account M1")
    page.get_by_role("link", name="C1 Chan Tai Man").click()
    expect(page).to_have_url(f"{live_server.url}/book/clients/C1/")
    expect(page.locator("h1")).to_have_text("Client C1 Chan Tai Man")
    expect(page.locator("main table tbody tr")).to_have_count(2)  # K1 and M1

    # "Coming soon" entries are greyed spans, never links.
    soon = sum(1 for s in MENU for g in s.groups for e in g.entries if e.url_name is None)
    assert soon > 0
    expect(nav.locator("span.soon")).to_have_count(soon)
    expect(nav.locator("span.soon a")).to_have_count(0)
    nav.locator("summary", has_text="Credit").first.click()
    entry = nav.locator("span.soon", has_text="Client credit")
    expect(entry).to_be_visible()
    expect(entry).to_have_attribute("aria-disabled", "true")
    expect(entry).to_contain_text("coming soon")
    expect(nav.get_by_role("link", name="Client credit")).to_have_count(0)
    expect(nav.locator("a")).to_have_count(len(built))

    assert failures == []


def test_auditor_cannot_reach_the_import_page(login):
    page = login("auditor")
    for url in ("/book/instruments/import/", "/imports/book.instruments/"):
        response = page.goto(url)
        assert response.status == 403, url
        expect(page.get_by_role("button", name="Upload and preview")).to_have_count(0)


def test_officer_does_not_see_the_batch_import_action(login):
    page = login("officer")
    page.locator("nav.menu").get_by_role("link", name="Instruments", exact=True).click()
    expect(page.locator("h1")).to_have_text("Instruments")
    expect(page.get_by_test_id("export")).to_be_visible()  # the toolbar did render
    expect(page.get_by_role("link", name="Batch import")).to_have_count(0)
