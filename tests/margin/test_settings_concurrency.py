"""MR-3 under pressure: a double click on 同步, or 同步 racing 取消同步 or the scheduler, applies
a setting record at most once (real threads, real transactions; SQLite and PostgreSQL)."""

from decimal import Decimal

import pytest
from django.utils import timezone

from riskdesk.margin import settings_records
from riskdesk.margin.models import MarginSetting, StockMargin
from tests.concurrency import race

pytestmark = pytest.mark.django_db(transaction=True)
RATIO = {"im": "0.5", "mcm": "0.45", "mm": "0.4", "fm": "0.3"}


@pytest.fixture
def pending(book, propose, approve):
    approve(propose("margin.stock_long", book["tencent"], RATIO))
    return MarginSetting.objects.get()


def test_a_double_click_on_sync_triggers_once(users, pending):
    officer = users["officer"]
    outcomes = race(
        lambda: settings_records.sync(pending.pk, officer),
        lambda: settings_records.sync(pending.pk, officer),
        refused=(settings_records.SettingError,),
    )
    assert sorted(kind for kind, _ in outcomes) == ["ok", "refused"]
    assert StockMargin.history.filter(change_request_id=pending.request_id).count() == 1
    assert StockMargin.objects.get().im == Decimal("0.5")


def test_sync_racing_revoke_and_the_scheduler_ends_in_one_state(users, pending):
    officer = users["officer"]
    outcomes = race(
        lambda: settings_records.sync(pending.pk, officer),
        lambda: settings_records.revoke(pending.pk, officer),
        lambda: settings_records.trigger_due(timezone.localdate()),
        refused=(settings_records.SettingError,),
    )
    pending.refresh_from_db()
    applied = StockMargin.history.filter(change_request_id=pending.request_id).count()
    if pending.status == "triggered":
        assert applied == 1 and StockMargin.objects.exists()
    else:
        assert pending.status == "revoked" and applied == 0 and not StockMargin.objects.exists()
    assert len(outcomes) == 3
