"""Invariant 1 under pressure: approvals that arrive at the same instant apply the change
exactly once (real threads, real transactions; run on SQLite and on PostgreSQL)."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from riskdesk.approvals import services
from riskdesk.approvals.models import Action
from riskdesk.credit.models import CompanyCredit
from tests.approvals.conftest import submit_total

pytestmark = pytest.mark.django_db(transaction=True)


def race(*calls):
    barrier = threading.Barrier(len(calls))
    outcomes = []

    def run(fn):
        try:
            barrier.wait()
            outcomes.append(("ok", fn()))
        except services.ApprovalError as exc:
            outcomes.append(("refused", str(exc)))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(fn,)) for fn in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def test_two_approvers_on_a_one_approval_step_apply_once(users, company):
    request = submit_total(users["officer"], company, "300")
    outcomes = race(
        lambda: services.approve(request_id=request.pk, user=users["approver"]),
        lambda: services.approve(request_id=request.pk, user=users["approver2"]),
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
    )
    assert Action.objects.filter(request=request, kind="approve").count() == 1
    assert CompanyCredit.objects.get().total_credit == Decimal("0")
