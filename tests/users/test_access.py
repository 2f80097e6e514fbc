"""PL-2: an anonymous user sees only the login page; every page checks its permission; an
auditor can read everything and write nothing."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db


def console_urls():
    """Every console URL that takes no argument (the API has its own tests)."""
    out = []

    def walk(patterns, prefix=""):
        for p in patterns:
            route = prefix + str(p.pattern)
            if isinstance(p, URLResolver):
                if route.startswith(("api/", "i18n/")):
                    continue
                walk(p.url_patterns, route)
            elif isinstance(p, URLPattern) and "<" not in route:
                out.append("/" + route)

    walk(get_resolver().url_patterns)
    return out


POST_ONLY = {"/logout/", "/approvals/bulk-approve/", "/margin/settings/sync/"}


def needed_permissions(url: str) -> tuple[str, ...]:
    """What the page itself says it needs: the ``requires`` decorator, an import's spec, or a
    list page's permission. Derived from the page, so a new write page cannot be forgotten."""
    from django.urls import resolve

    from riskdesk.console.imports import REGISTRY

    match = resolve(url)
    func = match.func
    if "key" in match.kwargs and match.kwargs["key"] in REGISTRY:
        return (REGISTRY[match.kwargs["key"]].permission,)
    page = getattr(func, "__self__", None)
    if page is not None and hasattr(page, "permission"):
        return (page.permission,)
    return tuple(getattr(func, "required_permissions", ()))


def test_there_are_console_urls_to_check():
    assert {
        "/",
        "/book/clients/",
        "/book/instruments/export.xlsx",
        "/book/instruments/import/",
    } <= set(console_urls())


@pytest.mark.parametrize("url", console_urls())
def test_anonymous_is_sent_to_login(client, url):
    r = client.get(url)
    if url == "/login/":
        assert r.status_code == 200
    else:
        assert r.status_code == 302 and r["Location"].startswith("/login/?next=")


def test_login_page_then_dashboard(client, users, book):
    r = client.post("/login/", {"username": "officer", "password": "riskdesk-demo"})
    assert r.status_code == 302
    page = client.get("/")
    assert page.status_code == 200
    assert "Chan Tai Man" not in page.content.decode()  # dashboard shows figures, not client lists
    assert b"coming soon" in page.content


def test_wrong_password_stays_on_login(client, users):
    r = client.post("/login/", {"username": "officer", "password": "nope"})
    assert r.status_code == 200 and b"Wrong user name or password" in r.content


@pytest.mark.parametrize("url", console_urls())
def test_auditor_can_read_every_console_page(client, users, book, url):
    auditor = users["auditor"]
    client.force_login(auditor)
    r = client.get(url)
    if url in POST_ONLY:
        assert r.status_code == 405
    elif auditor.has_perms(needed_permissions(url)):
        assert r.status_code in (200, 302), (url, r.status_code)
    else:
        assert r.status_code == 403, (url, r.status_code)  # a write flow


def test_every_write_page_names_a_permission_the_auditor_lacks():
    """Pages whose URL says new/edit/import/delete must need a permission an auditor lacks."""
    from django.contrib.auth.models import Group

    granted = {
        f"{p.content_type.app_label}.{p.codename}"
        for p in Group.objects.get(name="auditor").permissions.all()
    }
    writes = [
        u
        for u in console_urls()
        if any(w in u for w in ("/new/", "/import/", "/edit/", "/delete/"))
    ]
    assert writes
    for url in writes:
        perms = needed_permissions(url)
        assert perms and not set(perms) <= granted, url


def test_auditor_cannot_import_or_post(client, users, book):
    client.force_login(users["auditor"])
    assert client.get("/imports/book.instruments/").status_code == 403
    assert client.post("/imports/book.instruments/", {}).status_code == 403
    assert client.get("/imports/book.instruments/template.xlsx").status_code == 403


def test_role_permissions_are_exactly_the_table(users):
    from riskdesk.users.roles import ROLE_PERMISSIONS

    auditor = users["auditor"]
    assert auditor.has_perm("book.view_account")
    for perm in ("book.post_event", "book.import_instruments", "users.manage_users"):
        assert not auditor.has_perm(perm)
    assert users["clearing"].has_perm("book.post_event")
    assert not users["officer"].has_perm("book.post_event")
    for role, perms in ROLE_PERMISSIONS.items():
        from django.contrib.auth.models import Group

        granted = {
            f"{p.content_type.app_label}.{p.codename}"
            for p in Group.objects.get(name=role).permissions.all()
        }
        assert granted == set(perms), role


def test_auditor_writes_nothing_anywhere(client, users, book):
    """Every POST an auditor can send to a console URL is refused or changes nothing."""
    from riskdesk.book.models import BookEvent, Instrument

    client.force_login(users["auditor"])
    before = (Instrument.objects.count(), BookEvent.objects.count())
    for url in console_urls():
        if url in ("/logout/", "/login/"):
            continue
        client.post(url, {"code": "X", "name": "Y"})
    assert (Instrument.objects.count(), BookEvent.objects.count()) == before
