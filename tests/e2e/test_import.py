"""Batch import of instruments in a browser (PL-5): template → upload with one bad row →
preview shows it and offers no confirm → corrected file → confirm → the list shows it."""

import re

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from tests.console.test_imports import (
    HEADER as HEADER_LIST,  # the template's columns, written out once
)

HEADER = tuple(HEADER_LIST)

pytestmark = pytest.mark.e2e


def test_batch_import_with_a_bad_row_then_fixed(login, live_server, tmp_path):
    from riskdesk.book.models import Instrument

    page = login("clearing")
    page.locator("nav.menu").get_by_role("link", name="Instruments", exact=True).click()
    expect(page.get_by_test_id("row-count")).to_have_text("4 rows")
    page.get_by_role("link", name="Batch import").click()
    expect(page).to_have_url(f"{live_server.url}/book/instruments/import/")
    expect(page.locator("h1")).to_have_text("Batch import: Instruments")

    with page.expect_download() as info:
        page.get_by_test_id("template").click()
    template = tmp_path / "template.xlsx"
    info.value.save_as(template)
    book = load_workbook(template)
    assert next(book["data"].iter_rows(values_only=True)) == HEADER
    assert book["data"].max_row == 1

    def upload(name: str, meituan_lot: int):
        """Fill the downloaded template: 9988.HK is good, 3690.HK has the given lot size."""
        book = load_workbook(template)
        book["data"].append(["9988.HK", "Alibaba Group", "HK", "stock", "HKD", 100])
        book["data"].append(["3690.HK", "Meituan", "HK", "stock", "HKD", meituan_lot])
        path = tmp_path / name
        book.save(path)
        page.locator("input[type=file]").set_input_files(path)
        page.get_by_role("button", name="Upload and preview").click()
        expect(page).to_have_url(re.compile(r"/imports/batch/\d+/$"))

    upload("bad.xlsx", 0)
    expect(page.get_by_test_id("preview-summary")).to_have_text("2 rows, 1 with errors")
    bad = page.locator('tr[data-line="3"]')
    expect(bad).to_have_class("bad")
    expect(bad.locator("td.errors")).to_have_text("lot_size: must be greater than 0")
    good = page.locator('tr[data-line="2"]')
    expect(good).not_to_have_class("bad")
    expect(good.locator("td.errors")).to_have_text("")
    expect(page.locator("tr.bad")).to_have_count(1)
    expect(page.get_by_test_id("confirm")).to_have_count(0)
    expect(page.get_by_role("button", name="Confirm and apply")).to_have_count(0)
    assert not Instrument.objects.filter(code__in=["9988.HK", "3690.HK"]).exists()

    page.get_by_role("link", name="Upload a corrected file").click()
    expect(page.locator("h1")).to_have_text("Batch import: Instruments")
    upload("fixed.xlsx", 100)
    expect(page.get_by_test_id("preview-summary")).to_have_text("2 rows, 0 with errors")
    expect(page.locator("tr.bad")).to_have_count(0)
    assert not Instrument.objects.filter(code__in=["9988.HK", "3690.HK"]).exists()

    page.get_by_role("button", name="Confirm and apply").click()
    expect(page).to_have_url(f"{live_server.url}/book/instruments/")
    expect(page.locator(".messages .success")).to_have_text("Applied 2 rows.")
    expect(page.get_by_test_id("row-count")).to_have_text("6 rows")
    row = page.locator("#rows tbody tr", has_text="3690.HK")
    expect(row.locator("td:nth-child(2)")).to_have_text("Meituan")
    expect(row.locator("td:nth-child(6)")).to_have_text("100")
    expect(page.locator("#rows tbody tr", has_text="9988.HK")).to_have_count(1)

    meituan = Instrument.objects.get(code="3690.HK")
    assert (meituan.name, meituan.market, meituan.currency, meituan.lot_size) == (
        "Meituan",
        "HK",
        "HKD",
        100,
    )
    assert Instrument.objects.filter(code="9988.HK", lot_size=100).exists()
