"""MR-3 setting records: revoke, only pending records act, one trigger per record, and the
scheduler applying a record on its effective date (the clock moved to that morning)."""

from datetime import datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from riskdesk.calendars.selectors import next_trading_day
from riskdesk.jobs.models import JobRun
from riskdesk.jobs.scheduler import JOBS, run_due
from riskdesk.margin import settings_records
from riskdesk.margin.models import IntradayMargin, MarginSetting, StockMargin

pytestmark = pytest.mark.django_db
HK = ZoneInfo("Asia/Hong_Kong")
D = Decimal
RATIO = {"im": "0.5", "mcm": "0.45", "mm": "0.4", "fm": "0.3"}


@pytest.fixture
def approved(book, propose, approve):
    """``approved(instrument, effective_date=None, flow=…, **factors)`` → the pending record."""

    def make(instrument, effective_date=None, flow="margin.stock_long", **factors):
        payload = {**RATIO, **factors}
        if effective_date is not None:
            payload["effective_date"] = effective_date.isoformat()
        approve(propose(flow, instrument, payload))
        return MarginSetting.objects.order_by("-id").first()

    return make


def test_revoke_drops_the_change(book, users, approved):
    setting = approved(book["tencent"])
    settings_records.revoke(setting, users["officer"])
    setting.refresh_from_db()
    assert (setting.status, setting.acted_by) == ("revoked", users["officer"])
    assert not StockMargin.objects.exists()
    with pytest.raises(settings_records.SettingError, match="is revoked; only a record not yet"):
        settings_records.sync(setting, users["officer"])
    with pytest.raises(settings_records.SettingError, match="is revoked"):
        settings_records.revoke(setting, users["officer"])
    assert settings_records.trigger_due(timezone.localdate()) == []
    assert not StockMargin.objects.exists()


def test_a_record_is_triggered_once(book, users, approved):
    setting = approved(book["tencent"])
    settings_records.sync(setting, users["officer"])
    with pytest.raises(settings_records.SettingError, match="is triggered"):
        settings_records.sync(setting, users["officer"])  # the double click
    with pytest.raises(settings_records.SettingError, match="is triggered"):
        settings_records.revoke(setting, users["officer"])
    assert StockMargin.history.count() == 1
    assert settings_records.trigger_due(timezone.localdate()) == []


def test_only_the_risk_officer_synchronises(book, users, approved):
    setting = approved(book["tencent"])
    for name in ("auditor", "approver", "clearing"):
        with pytest.raises(settings_records.SettingError, match="may not synchronise"):
            settings_records.sync(setting, users[name])
        with pytest.raises(settings_records.SettingError, match="may not synchronise"):
            settings_records.revoke(setting, users[name])
    setting.refresh_from_db()
    assert setting.status == "pending"


def test_trigger_due_on_the_effective_date(book, approved):
    today = timezone.localdate()
    tomorrow = next_trading_day("HK", today)
    setting = approved(book["tencent"], effective_date=tomorrow)
    # Today: not due.
    assert settings_records.trigger_due(today) == []
    assert not StockMargin.objects.exists()
    # Tomorrow: applied, by the system; a second run changes nothing.
    assert settings_records.trigger_due(tomorrow) == [setting.pk]
    setting.refresh_from_db()
    assert (setting.status, setting.acted_by, setting.before) == ("triggered", None, None)
    assert StockMargin.objects.get().im == D("0.5")
    assert settings_records.trigger_due(tomorrow) == []
    history = StockMargin.history.get()
    assert (history.change_request_id, history.history_user) == (setting.request_id, None)


def test_due_records_apply_in_order_and_skip_revoked_ones(book, users, approved):
    today = timezone.localdate()
    tencent, apple = book["tencent"], book["apple"]
    first = approved(tencent)
    second = approved(tencent, im="0.6", mcm="0.5")  # approved later: wins
    dropped = approved(apple)
    settings_records.revoke(dropped, users["officer"])
    assert settings_records.trigger_due(today) == [first.pk, second.pk]
    assert StockMargin.objects.get(instrument=tencent).im == D("0.6")
    assert not StockMargin.objects.filter(instrument=apple).exists()
    second.refresh_from_db()
    assert second.before == {"im": "0.5000", "mcm": "0.4500", "mm": "0.4000", "fm": "0.3000"}


def test_intraday_records_write_the_intraday_ratio(book, users, approved):
    setting = approved(
        book["tencent"], flow="margin.intraday", im="0.25", mcm="0.2", mm="0.15", fm="0.1"
    )
    assert setting.book == "intraday"
    settings_records.sync(setting, users["officer"])
    row = IntradayMargin.objects.get()
    assert (row.im, row.fm) == (D("0.25"), D("0.1"))
    assert not StockMargin.objects.exists()


def test_the_scheduler_applies_due_records_the_next_trading_morning(
    book, approved, django_capture_on_commit_callbacks
):
    today = timezone.localdate()
    tomorrow = next_trading_day("HK", today)
    setting = approved(book["tencent"], effective_date=tomorrow)
    job = next(j for j in JOBS if j.name == "margin-settings-due")
    assert (job.market, job.at) == ("HK", time(8, 30))
    # 08:29 tomorrow: not yet.
    assert run_due(datetime.combine(tomorrow, time(8, 29), HK), jobs=[job]) == []
    # 08:31 tomorrow: the job runs once and applies the record.
    with django_capture_on_commit_callbacks(execute=True):
        runs = run_due(datetime.combine(tomorrow, time(8, 31), HK), jobs=[job])
    assert [r.run_date for r in runs] == [tomorrow]
    run = JobRun.objects.get(job="margin-settings-due")
    assert (run.status, run.result) == ("done", {"triggered": 1, "ids": [setting.pk]})
    setting.refresh_from_db()
    assert setting.status == "triggered"
    assert StockMargin.objects.get().im == D("0.5")
    # A second poll the same morning does not run it again.
    assert run_due(datetime.combine(tomorrow, time(9, 0), HK), jobs=[job]) == []
