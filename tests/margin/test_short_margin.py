"""MR-4 short margin: the flows (one stock, a batch) and the lending-pool rule.

Pool rule used throughout (hand-derived from the seed): auto-close 1,000, auto-restore 4,000.
Allowed → system-forbidden when the pool is ≤ 1,000; system-forbidden → allowed when it is
≥ 4,000; in between the status does not move; a stock forbidden by hand never moves.
"""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from riskdesk.approvals import services
from riskdesk.approvals.models import ChangeRequest
from riskdesk.margin import short_services
from riskdesk.margin.models import ShortMargin
from riskdesk.margin.short_services import PoolError, is_shortable, update_pool

pytestmark = pytest.mark.django_db

RATIO = {"im": "0.5", "mcm": "0.45", "mm": "0.4", "fm": "0.3"}


def propose(users, code, **payload):
    target = ShortMargin.objects.filter(instrument__code=code).first()
    if target is None:
        payload = {"code": code, **payload}
    return services.submit(
        flow="margin.short", target=target, payload=payload, maker=users["officer"]
    )


def approved(users, request):
    services.approve(request_id=request.pk, user=users["approver"])
    request.refresh_from_db()
    return request


def set_short(users, code, **payload):
    request = approved(users, propose(users, code, **payload))
    assert request.status == "applied", request.failure
    return ShortMargin.objects.get(instrument__code=code)


def test_restore_below_close_is_refused_naming_auto_restore_qty(book, users):
    with pytest.raises(ValidationError) as caught:
        propose(users, "700.HK", **RATIO, auto_close_qty=4000, auto_restore_qty=1000)
    assert list(caught.value.message_dict) == ["auto_restore_qty"]
    assert "4,000" in caught.value.message_dict["auto_restore_qty"][0]
    assert not ChangeRequest.objects.exists()
    # restore = close is allowed (≥).
    assert propose(users, "700.HK", **RATIO, auto_close_qty=1000, auto_restore_qty=1000).pk


def test_factor_order_and_quantities_are_checked_naming_the_field(book, users):
    with pytest.raises(ValidationError) as caught:
        propose(users, "700.HK", **{**RATIO, "mm": "0.46"})  # mm 0.46 > mcm 0.45
    assert list(caught.value.message_dict) == ["mm"]
    with pytest.raises(ValidationError) as caught:
        propose(users, "700.HK", **RATIO, auto_close_qty=-1)
    assert list(caught.value.message_dict) == ["auto_close_qty"]
    with pytest.raises(ValidationError) as caught:
        propose(users, "700.HK", **RATIO, shortable="system_forbidden")
    assert list(caught.value.message_dict) == ["shortable"]
    with pytest.raises(ValidationError) as caught:
        propose(users, "AAPL 261218C200", **RATIO)  # an option: short margin is for stocks
    assert list(caught.value.message_dict) == ["code"]


def test_submit_then_approve_writes_the_ratio(book, users):
    request = propose(users, "700.HK", **RATIO, auto_close_qty=1000, auto_restore_qty=4000)
    assert not ShortMargin.objects.exists()  # nothing changes before approval
    assert request.target_key == "short:700.HK"

    approved(users, request)

    row = ShortMargin.objects.get(instrument__code="700.HK")
    assert (row.im, row.mcm, row.mm, row.fm) == (
        Decimal("0.5000"),
        Decimal("0.4500"),
        Decimal("0.4000"),
        Decimal("0.3000"),
    )
    assert (row.shortable, row.auto_close_qty, row.auto_restore_qty) == ("allowed", 1000, 4000)
    assert row.status_reason == f"allowed by hand (request #{request.pk})"
    assert row.history.get().change_request_id == request.pk
    assert is_shortable(book["tencent"]) and not is_shortable(book["apple"])


def test_an_edit_changes_only_what_it_names(book, users):
    set_short(users, "700.HK", **RATIO)
    request = approved(users, propose(users, "700.HK", im="0.6", mcm="0.5"))
    assert request.before["im"] == "0.5000" and request.payload["im"] == "0.6000"
    row = ShortMargin.objects.get()
    assert (row.im, row.mcm, row.mm) == (Decimal("0.6"), Decimal("0.5"), Decimal("0.4"))
    with pytest.raises(services.ApprovalError, match="nothing would change"):
        propose(users, "700.HK", im="0.6")


def test_the_pool_walks_the_status_both_ways(book, users):
    set_short(users, "700.HK", **RATIO, auto_close_qty=1000, auto_restore_qty=4000)
    clearing = users["clearing"]

    row = update_pool("700.HK", 5000, source="lending desk", actor=clearing)
    assert row.shortable == "allowed"  # 5,000 > 1,000

    row = update_pool("700.HK", 1000, source="lending desk", actor=clearing)
    assert (row.shortable, row.status_reason) == (
        "system_forbidden",
        "lending pool 1,000 ≤ auto-close 1,000",  # at the threshold
    )
    assert not is_shortable("700.HK")

    row = update_pool("700.HK", 3999, source="lending desk", actor=clearing)
    assert (row.shortable, row.status_reason) == (
        "system_forbidden",
        "lending pool 1,000 ≤ auto-close 1,000",  # below restore: stays, with the same why
    )

    row = update_pool("700.HK", 4000, source="lending desk", actor=clearing)
    assert (row.shortable, row.status_reason) == (
        "allowed",
        "lending pool 4,000 ≥ auto-restore 4,000",
    )
    assert is_shortable("700.HK")

    # Each update left a change record saying why, stamped with the reporter.
    reasons = list(row.history.order_by("history_id").values_list("seed_reason", flat=True))
    assert reasons[1:] == [
        "lending pool 5,000 (lending desk)",
        "lending pool 1,000 (lending desk): lending pool 1,000 ≤ auto-close 1,000",
        "lending pool 3,999 (lending desk)",
        "lending pool 4,000 (lending desk): lending pool 4,000 ≥ auto-restore 4,000",
    ]
    assert row.history.order_by("-history_id").first().history_user == clearing


def test_a_stock_forbidden_by_hand_stays_forbidden_whatever_the_pool(book, users):
    request = propose(
        users, "700.HK", **RATIO, shortable="forbidden", auto_close_qty=1000, auto_restore_qty=4000
    )
    approved(users, request)
    row = update_pool("700.HK", 1_000_000, source="lending desk")
    assert (row.shortable, row.status_reason) == (
        "forbidden",
        f"forbidden by hand (request #{request.pk})",
    )
    row = update_pool("700.HK", 0, source="lending desk")
    assert row.shortable == "forbidden"


def test_the_same_quantity_twice_changes_nothing(book, users):
    set_short(users, "700.HK", **RATIO, auto_close_qty=1000, auto_restore_qty=4000)
    update_pool("700.HK", 800, source="lending desk")
    records = ShortMargin.history.count()

    row = update_pool("700.HK", 800, source="lending desk")

    assert ShortMargin.history.count() == records
    assert (row.pool_qty, row.shortable) == (800, "system_forbidden")


def test_a_pool_update_needs_a_short_margin_row(book, users):
    with pytest.raises(PoolError) as caught:
        update_pool("700.HK", 800, source="lending desk")
    assert (caught.value.field, caught.value.status) == ("code", 409)
    assert "no short margin ratio" in caught.value.reason
    with pytest.raises(PoolError) as caught:
        update_pool("NOPE.HK", 800, source="lending desk")
    assert caught.value.status == 404
    with pytest.raises(PoolError) as caught:
        update_pool("700.HK", -1, source="lending desk")
    assert caught.value.field == "quantity"


def test_allowed_by_hand_with_the_pool_at_close_is_forbidden_by_the_system_at_once(book, users):
    set_short(
        users, "700.HK", **RATIO, shortable="forbidden", auto_close_qty=1000, auto_restore_qty=4000
    )
    update_pool("700.HK", 500, source="lending desk")

    request = approved(users, propose(users, "700.HK", shortable="allowed"))

    row = ShortMargin.objects.get()
    assert request.status == "applied"
    assert (row.shortable, row.status_reason) == (
        "system_forbidden",
        "lending pool 500 ≤ auto-close 1,000",
    )


def test_lowering_the_restore_quantity_below_the_pool_restores_at_once(book, users):
    set_short(users, "700.HK", **RATIO, auto_close_qty=1000, auto_restore_qty=4000)
    update_pool("700.HK", 900, source="lending desk")  # → system-forbidden
    update_pool("700.HK", 2500, source="lending desk")  # between: stays

    # Factors and rule change only: the system's status is kept, then the rule runs.
    approved(users, propose(users, "700.HK", auto_restore_qty=2000))

    row = ShortMargin.objects.get()
    assert (row.shortable, row.status_reason) == (
        "allowed",
        "lending pool 2,500 ≥ auto-restore 2,000",
    )


def test_a_pending_change_fails_when_the_pool_moved_the_status_meanwhile(book, users):
    set_short(users, "700.HK", **RATIO, auto_close_qty=1000, auto_restore_qty=4000)
    request = propose(users, "700.HK", im="0.6")
    update_pool("700.HK", 100, source="lending desk")  # allowed → system-forbidden

    request = approved(users, request)

    assert request.status == "failed" and "changed since" in request.failure
    assert ShortMargin.objects.get().im == Decimal("0.5")


def test_a_batch_is_one_request_applied_whole(book, users):
    set_short(users, "700.HK", **RATIO)
    rows = [
        {"code": "700.HK", **RATIO, "im": "0.55", "shortable": "allowed"},
        {"code": "AAPL.US", **RATIO, "shortable": "forbidden", "auto_close_qty": 10},
    ]
    request = services.submit(
        flow="margin.short_batch", target=None, payload={"rows": rows}, maker=users["officer"]
    )
    assert ChangeRequest.objects.filter(flow="margin.short_batch").count() == 1
    assert ShortMargin.objects.count() == 1

    approved(users, request)

    assert request.status == "applied"
    tencent = ShortMargin.objects.get(instrument__code="700.HK")
    apple = ShortMargin.objects.get(instrument__code="AAPL.US")
    assert tencent.im == Decimal("0.55")
    assert (apple.shortable, apple.auto_close_qty) == ("forbidden", 10)
    assert apple.history.get().change_request_id == request.pk


def test_a_bad_batch_row_refuses_the_batch_naming_the_row(book, users):
    rows = [
        {"code": "700.HK", **RATIO},
        {"code": "AAPL.US", **RATIO, "auto_close_qty": 5000, "auto_restore_qty": 100},
    ]
    with pytest.raises(ValidationError) as caught:
        services.submit(
            flow="margin.short_batch", target=None, payload={"rows": rows}, maker=users["officer"]
        )
    assert list(caught.value.message_dict) == ["rows.2.auto_restore_qty"]
    assert "AAPL.US" in caught.value.message_dict["rows.2.auto_restore_qty"][0]
    assert not ChangeRequest.objects.exists()


def test_a_batch_fails_whole_when_one_of_its_stocks_changed_meanwhile(book, users):
    set_short(users, "700.HK", **RATIO)
    rows = [{"code": "700.HK", **RATIO, "im": "0.6"}, {"code": "AAPL.US", **RATIO}]
    batch = services.submit(
        flow="margin.short_batch", target=None, payload={"rows": rows}, maker=users["officer"]
    )
    set_short(users, "700.HK", im="0.7")

    batch = approved(users, batch)

    assert batch.status == "failed" and "700.HK" in batch.failure
    assert not ShortMargin.objects.filter(instrument__code="AAPL.US").exists()


def test_status_of_a_stock_without_a_ratio(book):
    assert short_services.status_of(None) == ("none", "no short margin ratio")
    assert not is_shortable(book["tencent"])
