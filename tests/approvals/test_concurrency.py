"""Invariant 1 under pressure: approvals that arrive at the same instant apply the change
exactly once (real threads, real transactions; run on SQLite and on PostgreSQL)."""

from decimal import Decimal

import pytest

from riskdesk.approvals import services
from riskdesk.approvals.models import Action
from riskdesk.credit.models import CompanyCredit
from tests.approvals.conftest import submit_total
from tests.concurrency import race

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_approvers_on_a_one_approval_step_apply_once(users, company):
    request = submit_total(users["officer"], company, "300")
    outcomes = race(
        lambda: services.approve(request_id=request.pk, user=users["approver"]),
        lambda: services.approve(request_id=request.pk, user=users["approver2"]),
        refused=(services.ApprovalError,),
    )
    assert sorted(kind for kind, _ in outcomes) == ["ok", "refused"]
    assert Action.objects.filter(request=request, kind="apply").count() == 1
    assert Action.objects.filter(request=request, kind="approve").count() == 1
    assert CompanyCredit.history.filter(change_request_id=request.pk).count() == 1
    assert CompanyCredit.objects.get().total_credit == Decimal("300.00")


def test_two_approvals_completing_a_two_approval_step_at_once_apply_once(
    users, company, two_approver_band
):
    request = submit_total(users["officer"], company, "5000000")
    outcomes = race(
        lambda: services.approve(request_id=request.pk, user=users["approver"]),
        lambda: services.approve(request_id=request.pk, user=users["approver2"]),
        refused=(services.ApprovalError,),
    )
    assert [kind for kind, _ in outcomes] == ["ok", "ok"]
    assert Action.objects.filter(request=request, kind="approve").count() == 2
    assert Action.objects.filter(request=request, kind="apply").count() == 1
    assert CompanyCredit.history.filter(change_request_id=request.pk).count() == 1


def test_one_approver_clicking_twice_at_once_counts_once(users, company, two_approver_band):
    request = submit_total(users["officer"], company, "5000000")
    race(
        lambda: services.approve(request_id=request.pk, user=users["approver"]),
        lambda: services.approve(request_id=request.pk, user=users["approver"]),
        refused=(services.ApprovalError,),
    )
    assert Action.objects.filter(request=request, kind="approve").count() == 1
    assert CompanyCredit.objects.get().total_credit == Decimal("0")
