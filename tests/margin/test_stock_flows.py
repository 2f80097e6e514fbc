"""MR-1 / MR-3 through the approval centre: factor validation naming the factor, a ratio
change that becomes a setting record when approved and the ratio in force only when
synchronised, delete, effective dates, batches."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from riskdesk.approvals.governed import seeding
from riskdesk.approvals.models import ChangeRequest
from riskdesk.approvals.services import ApprovalError
from riskdesk.margin import settings_records
from riskdesk.margin.models import MarginSetting, StockMargin

pytestmark = pytest.mark.django_db
D = Decimal
RATIO = {"im": "0.5", "mcm": "0.45", "mm": "0.4", "fm": "0.3"}


def seed_ratio(instrument, im, mcm, mm, fm):
    with seeding("test"):
        return StockMargin.objects.create(
            instrument=instrument, im=D(im), mcm=D(mcm), mm=D(mm), fm=D(fm)
        )


@pytest.mark.parametrize(
    ("factors", "field", "message"),
    [
        ({"im": "1.2"}, "im", "must be at most 1 (1 ≥ im ≥ mcm ≥ mm ≥ fm ≥ 0), got 1.2"),
        (
            {"mcm": "0.55"},
            "mcm",
            "must not exceed im (1 ≥ im ≥ mcm ≥ mm ≥ fm ≥ 0), got mcm 0.55 > im 0.5",
        ),
        (
            {"mm": "0.46"},
            "mm",
            "must not exceed mcm (1 ≥ im ≥ mcm ≥ mm ≥ fm ≥ 0), got mm 0.46 > mcm 0.45",
        ),
        (
            {"fm": "0.41"},
            "fm",
            "must not exceed mm (1 ≥ im ≥ mcm ≥ mm ≥ fm ≥ 0), got fm 0.41 > mm 0.4",
        ),
        ({"fm": "-0.1"}, "fm", "must not be negative (1 ≥ im ≥ mcm ≥ mm ≥ fm ≥ 0), got -0.1"),
        ({"mm": "0.40001"}, "mm", "at most 4 decimal places"),
        ({"mcm": "abc"}, "mcm", "not a decimal"),
        ({"fm": ""}, "fm", "required"),
    ],
)
def test_a_bad_factor_is_refused_naming_it(book, propose, factors, field, message):
    with pytest.raises(ValidationError) as refused:
        propose("margin.stock_long", book["tencent"], {**RATIO, **factors})
    assert refused.value.message_dict == {field: [message]}
    assert not ChangeRequest.objects.exists()


def test_submit_approve_then_sync(book, users, propose, approve):
    tencent = book["tencent"]
    # Submitting changes nothing.
    change = propose("margin.stock_long", tencent, {"action": "set", **RATIO}, note="new listing")
    assert change.status == "pending" and change.target_key == "700.HK"
    assert change.before == {}  # no ratio in force
    assert change.payload == {
        "action": "set",
        "im": "0.5000",
        "mcm": "0.4500",
        "mm": "0.4000",
        "fm": "0.3000",
        "effective_date": None,
    }
    assert not MarginSetting.objects.exists() and not StockMargin.objects.exists()

    # Approval: a setting record 未触发, effective today (the day of approval); no ratio yet.
    approve(change)
    change.refresh_from_db()
    assert change.status == "applied" and change.record_url == f"/margin/stock/{tencent.pk}/"
    setting = MarginSetting.objects.get()
    assert (setting.book, setting.instrument, setting.action, setting.status) == (
        "long",
        tencent,
        "set",
        "pending",
    )
    assert setting.factors == {"im": "0.5000", "mcm": "0.4500", "mm": "0.4000", "fm": "0.3000"}
    assert setting.effective_date == timezone.localdate()
    assert setting.request_id == change.pk and setting.before is None
    assert not StockMargin.objects.exists()

    # 同步: the ratio is in force, the record triggered with before → after and who/when.
    settings_records.sync(setting, users["officer"])
    setting.refresh_from_db()
    row = StockMargin.objects.get(instrument=tencent)
    assert (row.im, row.mcm, row.mm, row.fm) == (D("0.5"), D("0.45"), D("0.4"), D("0.3"))
    assert setting.status == "triggered" and setting.before is None
    assert setting.acted_by == users["officer"] and setting.acted_at is not None
    history = list(StockMargin.history.filter(instrument_id=tencent.pk))
    assert [(h.history_type, h.change_request_id, h.history_user) for h in history] == [
        ("+", change.pk, users["officer"])
    ]


def test_new_on_a_stock_with_a_ratio_overwrites_it_and_records_the_ratio_before(
    book, users, propose, approve
):
    tencent = book["tencent"]
    seed_ratio(tencent, "0.4", "0.35", "0.3", "0.25")
    change = propose(
        "margin.stock_long", tencent, {"im": "0.6", "mcm": "0.5", "mm": "0.45", "fm": "0.4"}
    )
    assert change.before == {"im": "0.4000", "mcm": "0.3500", "mm": "0.3000", "fm": "0.2500"}
    approve(change)
    assert StockMargin.objects.get().im == D("0.4")  # still the old ratio until synchronised
    setting = settings_records.sync(MarginSetting.objects.get(), users["officer"])
    assert setting.before == {"im": "0.4000", "mcm": "0.3500", "mm": "0.3000", "fm": "0.2500"}
    row = StockMargin.objects.get()
    assert (row.im, row.mcm, row.mm, row.fm) == (D("0.6"), D("0.5"), D("0.45"), D("0.4"))
    last = StockMargin.history.order_by("-history_id").first()
    assert (last.history_type, last.change_request_id) == ("~", change.pk)


def test_delete_goes_through_a_setting_record(book, users, propose, approve):
    tencent = book["tencent"]
    seed_ratio(tencent, "0.4", "0.35", "0.3", "0.25")
    change = propose("margin.stock_long", tencent, {"action": "delete"})
    assert change.payload == {"action": "delete", "effective_date": None}
    approve(change)
    setting = MarginSetting.objects.get()
    assert (setting.action, setting.factors, setting.status) == ("delete", None, "pending")
    assert StockMargin.objects.exists()
    settings_records.sync(setting, users["officer"])
    setting.refresh_from_db()
    assert not StockMargin.objects.exists()
    assert setting.before == {"im": "0.4000", "mcm": "0.3500", "mm": "0.3000", "fm": "0.2500"}
    deleted = StockMargin.history.order_by("-history_id").first()
    assert (deleted.history_type, deleted.change_request_id) == ("-", change.pk)


def test_delete_without_a_ratio_is_refused(book, propose):
    with pytest.raises(ValidationError) as refused:
        propose("margin.stock_long", book["tencent"], {"action": "delete"})
    assert refused.value.message_dict == {"action": ["700.HK has no ratio to delete"]}


def test_effective_date_today_or_later(book, propose, approve):
    today = timezone.localdate()
    with pytest.raises(ValidationError) as refused:
        propose(
            "margin.stock_long",
            book["tencent"],
            {**RATIO, "effective_date": str(today - timedelta(days=1))},
        )
    assert list(refused.value.message_dict) == ["effective_date"]
    assert "must not be in the past" in refused.value.message_dict["effective_date"][0]
    with pytest.raises(ValidationError) as refused:
        propose("margin.stock_long", book["tencent"], {**RATIO, "effective_date": "24/11/2026"})
    assert refused.value.message_dict == {"effective_date": ["not a date (YYYY-MM-DD)"]}
    later = today + timedelta(days=10)
    change = propose(
        "margin.stock_long", book["tencent"], {**RATIO, "effective_date": later.isoformat()}
    )
    approve(change)
    assert MarginSetting.objects.get().effective_date == later


def test_only_stocks_and_etfs_and_a_delisted_stock_is_allowed(book, propose):
    with pytest.raises(ValidationError) as refused:
        propose("margin.stock_long", book["call"], RATIO)
    assert refused.value.message_dict == {
        "code": ["AAPL 261218C200 is option; margin ratios are for stocks and ETFs"]
    }
    # A delisted stock may be given a ratio; it still counts as 100% while delisted (MR-6).
    assert propose("margin.stock_long", book["dead"], RATIO).status == "pending"


def test_one_pending_request_per_stock_and_the_auditor_cannot_submit(book, propose):
    first = propose("margin.stock_long", book["tencent"], RATIO)
    with pytest.raises(ApprovalError) as refused:
        propose("margin.stock_long", book["tencent"], {**RATIO, "im": "0.6"})
    assert refused.value.existing == first
    with pytest.raises(ApprovalError, match="may not submit"):
        propose("margin.stock_long", book["apple"], RATIO, maker="auditor")


def test_a_request_approved_after_the_ratio_changed_fails_whole(book, users, propose, approve):
    # Request A proposes 0.6; meanwhile B (0.5) is approved and synchronised; A is now stale.
    tencent = book["tencent"]
    b = propose("margin.stock_long", tencent, RATIO)
    approve(b)
    a = propose("margin.stock_long", tencent, {**RATIO, "im": "0.6"})
    settings_records.sync(MarginSetting.objects.get(), users["officer"])
    approve(a)
    a.refresh_from_db()
    assert a.status == "failed" and "changed since this request was submitted" in a.failure
    assert MarginSetting.objects.count() == 1


def test_batch_flow_one_request_one_record_per_row(book, propose, approve):
    rows = [
        {"code": "700.HK", **RATIO, "effective_date": None},
        {"code": "AAPL.US", "im": "0.7", "mcm": "0.65", "mm": "0.6", "fm": "0.5"},
    ]
    change = propose("margin.stock_long_batch", None, {"rows": rows})
    assert change.target_key.startswith("batch:") and change.target_key.endswith("(2 stocks)")
    assert change.payload["rows"][1] == {
        "code": "AAPL.US",
        "im": "0.7000",
        "mcm": "0.6500",
        "mm": "0.6000",
        "fm": "0.5000",
        "effective_date": None,
    }
    # The same batch twice while the first is pending is refused.
    with pytest.raises(ApprovalError, match=f"request #{change.pk} already proposes"):
        propose("margin.stock_long_batch", None, {"rows": rows})
    approve(change)
    records = list(MarginSetting.objects.order_by("id"))
    assert [(s.instrument.code, s.status, s.request_id) for s in records] == [
        ("700.HK", "pending", change.pk),
        ("AAPL.US", "pending", change.pk),
    ]
    assert not StockMargin.objects.exists()


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([{"code": "700.HK", **RATIO, "mm": "0.5"}], "row 1 (700.HK) mm: must not exceed mcm"),
        ([{"code": "9999.HK", **RATIO}], "row 1 (9999.HK) code: no instrument 9999.HK"),
        (
            [{"code": "700.HK", **RATIO}, {"code": "700.HK", **RATIO}],
            "row 2 (700.HK): duplicate of row 1",
        ),
        ([], "at least one row"),
    ],
)
def test_a_bad_batch_row_refuses_the_batch(book, propose, rows, message):
    with pytest.raises(ValidationError) as refused:
        propose("margin.stock_long_batch", None, {"rows": rows})
    assert refused.value.message_dict["rows"][0].startswith(message)
    assert not ChangeRequest.objects.exists()
