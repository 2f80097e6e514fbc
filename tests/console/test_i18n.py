"""PL-9: the console in Simplified Chinese, Traditional Chinese (Hong Kong) and English.

The catalogues in src/riskdesk/locale are complete (no empty or fuzzy entry in Chinese), the
committed .mo files are compiled from the .po files as they are now (a fresh machine has no
msgfmt, so a .po edited without `make messages` must fail here), pages render in the language
the user chose, and amounts keep their thousand separators in every language.

After adding strings: `make messages`, translate the new entries in both zh catalogues, then
`make messages` again to compile.
"""

import ast
import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings

import riskdesk

LOCALE = Path(riskdesk.__file__).parent / "locale"
ZH = ["zh_Hans", "zh_Hant"]
CATALOGUES = [*ZH, "en"]
PLACEHOLDER = re.compile(r"%\([a-zA-Z_]\w*\)[sd]|\{\{\s*\w+\s*\}\}")


def po_path(lang: str) -> Path:
    return LOCALE / lang / "LC_MESSAGES" / "django.po"


def parse_po(path: Path) -> list[dict]:
    """The entries of a .po file, header first: msgctxt, msgid, msgid_plural, msgstr (index →
    text; a singular entry has index 0 only), plural (bool) and flags. Obsolete (#~) entries
    are skipped, as msgfmt skips them."""
    entries: list[dict] = []
    entry: dict | None = None
    target: tuple | None = None  # (key,) or ("msgstr", index): where continuation lines go
    flags: set[str] = set()
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#~"):
            continue
        if line.startswith("#,"):
            flags |= {f.strip() for f in line[2:].split(",")}
            continue
        if line.startswith("#"):
            continue
        if line.startswith('"'):
            assert entry is not None and target is not None, f"{path}: stray line {raw!r}"
        else:
            keyword, _, line = line.partition(" ")
            if keyword == "msgctxt" or (
                keyword == "msgid" and (entry is None or entry["msgid"] is not None)
            ):
                entry = {"msgctxt": None, "msgid": None, "msgid_plural": None, "msgstr": {}}
                entry["flags"], flags = flags, set()
                entries.append(entry)
            if keyword.startswith("msgstr"):
                target = ("msgstr", int(keyword[7:-1]) if "[" in keyword else 0)
                entry["msgstr"][target[1]] = ""
            else:
                target = (keyword,)
                entry[keyword] = ""
        text = ast.literal_eval(line)
        if target[0] == "msgstr":
            entry["msgstr"][target[1]] += text
        else:
            entry[target[0]] += text
    for e in entries:
        e["plural"] = e["msgid_plural"] is not None
    return entries


def header_field(entries: list[dict], name: str) -> str:
    header = entries[0]
    assert header["msgid"] == "", "the header must be the first entry"
    for line in header["msgstr"][0].splitlines():
        key, _, value = line.partition(":")
        if key.strip() == name:
            return value.strip()
    raise AssertionError(f"no {name} in the header")


def without_pot_date(header: str) -> str:
    """msgfmt leaves POT-Creation-Date out of the .mo header (reproducible builds)."""
    return "".join(
        line for line in header.splitlines(keepends=True) if not line.startswith("POT-Creation")
    )


def expected_catalog(entries: list[dict]) -> dict:
    """What msgfmt puts in the .mo, keyed as gettext.GNUTranslations keys its catalogue:
    translated, non-fuzzy entries only, plus the header."""
    catalog = {"": without_pot_date(entries[0]["msgstr"][0])}
    for e in entries[1:]:
        if "fuzzy" in e["flags"] or not all(e["msgstr"].values()):
            continue
        msgid = e["msgid"] if e["msgctxt"] is None else f"{e['msgctxt']}\x04{e['msgid']}"
        if e["plural"]:
            for i, text in e["msgstr"].items():
                catalog[(msgid, i)] = text
        else:
            catalog[msgid] = e["msgstr"][0]
    return catalog


# --- the catalogues ------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ZH)
def test_chinese_catalogue_is_complete(lang):
    entries = parse_po(po_path(lang))
    assert len(entries) > 300
    assert header_field(entries, "Plural-Forms") == "nplurals=1; plural=0;"
    assert header_field(entries, "Language") == lang
    problems = []
    for e in entries:
        if "fuzzy" in e["flags"]:
            problems.append(f"fuzzy: {e['msgid']!r}")
        if not e["msgid"]:
            continue
        forms = sorted(e["msgstr"])
        if forms != [0]:  # one plural form in Chinese, so one msgstr[0] per entry
            problems.append(f"forms {forms}: {e['msgid']!r}")
        for text in e["msgstr"].values():
            if not text.strip():
                problems.append(f"empty: {e['msgid']!r}")
            wanted = set(PLACEHOLDER.findall(e["msgid"] + (e["msgid_plural"] or "")))
            if set(PLACEHOLDER.findall(text)) != wanted:
                problems.append(f"placeholders {wanted} → {text!r}: {e['msgid']!r}")
    assert not problems, "\n".join(problems)


def test_catalogues_hold_the_same_messages():
    ids = {
        lang: {(e["msgctxt"], e["msgid"]) for e in parse_po(po_path(lang))} for lang in CATALOGUES
    }
    assert ids["zh_Hans"] == ids["zh_Hant"] == ids["en"]


@pytest.mark.parametrize(
    "msgid, hans, hant",
    [
        ("Dashboard", "总览", "總覽"),
        ("Accounts", "账户", "帳戶"),
        ("Clients", "客户", "客戶"),
        ("Log out", "退出登录", "登出"),
        ("coming soon", "即将推出", "即將推出"),
        ("Margin call", "Margin Call", "Margin Call"),
    ],
)
def test_fixed_terms(msgid, hans, hant):
    for lang, wanted in (("zh_Hans", hans), ("zh_Hant", hant)):
        found = [e["msgstr"][0] for e in parse_po(po_path(lang)) if e["msgid"] == msgid]
        assert found == [wanted], lang


@pytest.mark.parametrize("lang", CATALOGUES)
def test_mo_is_compiled_from_the_current_po(lang):
    mo = po_path(lang).with_suffix(".mo")
    assert mo.exists(), f"{mo} missing: run `make messages` and commit the .mo"
    with mo.open("rb") as fh:
        compiled = gettext.GNUTranslations(fh)
    expected = expected_catalog(parse_po(po_path(lang)))
    actual = dict(compiled._catalog)
    actual[""] = without_pot_date(actual.get("", ""))
    stale = {k: (actual.get(k), v) for k, v in expected.items() if actual.get(k) != v}
    extra = sorted(str(k) for k in actual.keys() - expected.keys())
    assert not stale and not extra, (
        f"{mo} is out of date with its .po (run `make messages`): "
        f"differs {list(stale.items())[:5]}, only in .mo {extra[:5]}"
    )


# --- pages ---------------------------------------------------------------------------------------


def test_set_language_renders_the_dashboard_in_traditional_chinese(client, users):
    client.force_login(users["officer"])
    response = client.post("/i18n/setlang/", {"language": "zh-hant", "next": "/"})
    assert response.status_code == 302
    html = client.get("/").content.decode()
    assert '<html lang="zh-hant">' in html
    for label in ("總覽", "帳戶", "客戶", "登出", "即將推出", "授信額度", "Margin Call"):
        assert label in html, label
    assert ">Dashboard<" not in html and "coming soon" not in html


def test_language_cookie_renders_the_dashboard_in_simplified_chinese(client, users):
    client.force_login(users["officer"])
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    html = client.get("/").content.decode()
    assert '<html lang="zh-hans">' in html
    for label in ("总览", "账户", "客户", "退出登录", "即将推出", "授信额度", "风控专员"):
        assert label in html, label
    assert ">Dashboard<" not in html


@pytest.mark.parametrize(
    "accept, lang, label",
    [
        ("zh-HK,zh;q=0.9", "zh-hant", "總覽"),
        ("zh-CN,zh;q=0.9", "zh-hans", "总览"),
        ("en-US", "en", "Dashboard"),
    ],
)
def test_browser_language_is_honoured_without_a_choice(client, users, accept, lang, label):
    client.force_login(users["officer"])
    html = client.get("/", headers={"accept-language": accept}).content.decode()
    assert f'<html lang="{lang}">' in html
    assert label in html


@pytest.mark.parametrize("lang", ["en", "zh-hans", "zh-hant"])
def test_amounts_keep_thousand_separators(client, users, book, post, lang):
    from django.core.cache import cache

    post("deposit", account="M1", currency="HKD", amount="1234567.89")
    cache.clear()  # the dashboard keeps its figures for a minute
    client.force_login(users["officer"])
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = lang
    dashboard = client.get("/").content.decode()
    assert f'<html lang="{lang}">' in dashboard
    assert "1,234,567.89" in dashboard
    account = client.get("/book/accounts/M1/").content.decode()
    assert "1,234,567.89" in account
