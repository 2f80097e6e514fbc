"""PL-3 rules, through the services every page and endpoint uses (invariants 1 and 5)."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from riskdesk.approvals import services
from riskdesk.approvals.governed import UngovernedWrite, seeding
from riskdesk.approvals.models import Action, ChangeRequest
from riskdesk.credit.models import CompanyCredit, CompanyCurrencyLimit
from tests.approvals.conftest import submit_total

pytestmark = pytest.mark.django_db


def total():
    return CompanyCredit.objects.get(pk=1).total_credit


def test_nothing_changes_until_approved_then_exactly_the_payload(users, company):
    # Arrange / Act: the officer asks for a total of 500,000,000
    request = submit_total(users["officer"], company, "500000000", note="board minute 12")
    # Assert: pending, nothing applied, before/after captured for every field
    assert request.status == "pending" and total() == Decimal("0")
    assert (
        request.before["total_credit"] == "0.00"
        and request.payload["total_credit"] == "500000000.00"
    )
    assert request.payload["HKD.max_financing"] == "0.00"  # untouched fields travel unchanged
    services.approve(request_id=request.pk, user=users["approver"], comment="ok")
    request.refresh_from_db()
    assert request.status == "applied" and total() == Decimal("500000000.00")
    assert request.record_url == "/credit/company/"


def test_the_maker_can_never_approve_even_holding_the_approver_role(users, company):
    # Arrange: a risk approver who is also allowed to propose company credit changes
    from django.contrib.auth.models import Permission

    both = users["approver"]
    both.user_permissions.add(Permission.objects.get(codename="change_companycredit"))
    both = type(both).objects.get(pk=both.pk)  # drop the cached permissions
    request = submit_total(both, company, "10")
    # Act / Assert
    with pytest.raises(services.ApprovalError, match="maker of a request cannot approve"):
        services.approve(request_id=request.pk, user=both)
    request.refresh_from_db()
    assert request.status == "pending" and total() == Decimal("0")
    assert services.can_approve(request, users["approver2"]) is None


def test_one_person_gives_one_approval(users, company, two_approver_band):
    request = submit_total(
        users["officer"], company, "2000000"
    )  # change 2,000,000 > 1,000,000 → two approvers
    assert request.steps == [{"role": "risk_approver", "approvals": 2}]
    services.approve(request_id=request.pk, user=users["approver"])
    with pytest.raises(services.ApprovalError, match="already approved"):
        services.approve(request_id=request.pk, user=users["approver"])
    assert total() == Decimal("0")
    services.approve(request_id=request.pk, user=users["approver2"])
    assert total() == Decimal("2000000.00")


def test_amount_band_routes_small_changes_to_one_approver(users, company, two_approver_band):
    request = submit_total(
        users["officer"], company, "1000000"
    )  # change exactly 1,000,000: not > 1,000,000
    assert request.steps == [{"role": "risk_approver", "approvals": 1}]
    services.approve(request_id=request.pk, user=users["approver"])
    assert total() == Decimal("1000000.00")


def test_a_second_pending_request_for_the_same_record_is_refused_naming_the_first(users, company):
    first = submit_total(users["officer"], company, "10")
    with pytest.raises(services.ApprovalError) as err:
        submit_total(users["officer"], company, "20")
    assert err.value.existing == first and f"#{first.pk}" in str(err.value)
    assert ChangeRequest.objects.count() == 1


def test_a_stale_request_fails_whole_with_its_reason(users, company):
    first = submit_total(users["officer"], company, "100")
    # The record changes after submission (here by system set-up, as an emergency fix would).
    with seeding("test"):
        CompanyCurrencyLimit.objects.filter(currency="USD").update(max_financing=Decimal("5"))
    services.approve(request_id=first.pk, user=users["approver"])
    first.refresh_from_db()
    assert first.status == "failed" and "changed since this request was submitted" in first.failure
    assert total() == Decimal("0")
    assert list(first.actions.values_list("kind", flat=True)) == ["submit", "approve", "fail"]
    # The record is free for a new request.
    assert submit_total(users["officer"], company, "100").status == "pending"


def test_invalid_payload_is_refused_at_submission_naming_the_field(users, company):
    with pytest.raises(ValidationError) as err:
        services.submit(
            flow="credit.company_limit",
            target=company,
            payload={"total_credit": "100", "approved_warning": "200"},
            maker=users["officer"],
        )
    assert "approved_warning" in err.value.message_dict
    with pytest.raises(ValidationError) as err:
        services.submit(
            flow="credit.company_limit",
            target=company,
            payload={"total_credit": "-1"},
            maker=users["officer"],
        )
    assert err.value.message_dict == {"total_credit": ["must not be negative"]}
    assert not ChangeRequest.objects.exists()


def test_a_role_without_the_submit_permission_cannot_submit(users, company):
    for name in ("auditor", "approver", "clearing"):
        with pytest.raises(services.ApprovalError, match="may not submit"):
            submit_total(users[name], company, "10")


def test_reject_needs_a_reason_and_withdraw_is_the_makers(users, company):
    request = submit_total(users["officer"], company, "10")
    with pytest.raises(services.ApprovalError, match="say why"):
        services.reject(request_id=request.pk, user=users["approver"], comment=" ")
    with pytest.raises(services.ApprovalError, match="only the maker"):
        services.withdraw(request_id=request.pk, user=users["approver"])
    services.reject(request_id=request.pk, user=users["approver"], comment="too large")
    request.refresh_from_db()
    assert request.status == "rejected" and total() == Decimal("0")
    with pytest.raises(services.ApprovalError, match="rejected"):
        services.approve(request_id=request.pk, user=users["approver2"])
    second = submit_total(users["officer"], company, "10")
    services.withdraw(request_id=second.pk, user=users["officer"], comment="typo")
    second.refresh_from_db()
    assert second.status == "withdrawn"


def test_every_action_records_who_when_and_comment(users, company):
    request = submit_total(users["officer"], company, "10", note="why")
    services.approve(request_id=request.pk, user=users["approver"], comment="checked the minute")
    rows = list(
        Action.objects.filter(request=request).values_list("kind", "actor__username", "comment")
    )
    assert rows == [
        ("submit", "officer", "why"),
        ("approve", "approver", "checked the minute"),
        ("apply", "approver", ""),
    ]
    assert all(a.at is not None for a in Action.objects.filter(request=request))


def test_a_governed_model_cannot_be_written_directly(company):
    company.total_credit = Decimal("1")
    with pytest.raises(UngovernedWrite):
        company.save()
    with pytest.raises(UngovernedWrite):
        CompanyCredit.objects.update(total_credit=Decimal("1"))
    with pytest.raises(UngovernedWrite):
        CompanyCurrencyLimit.objects.create(currency="CNH")
    with pytest.raises(UngovernedWrite):
        CompanyCurrencyLimit.objects.filter(currency="USD").delete()
    assert total() == Decimal("0")


def test_history_row_names_who_when_before_after_and_the_request(users, company):
    from riskdesk.approvals.selectors import history_rows

    request = submit_total(users["officer"], company, "750")
    services.approve(request_id=request.pk, user=users["approver"])
    latest = CompanyCredit.history.order_by("-history_id").first()
    assert latest.change_request_id == request.pk
    rows = history_rows(CompanyCredit)
    assert rows[0].request_id == request.pk
    assert ("total financing credit", Decimal("0.00"), Decimal("750.00")) in rows[0].changes
    assert rows[-1].seed_reason == "initial set-up"


def test_bulk_approve_reports_each_item(users, company, book):
    from riskdesk.approvals.services import bulk_approve

    ok = submit_total(users["officer"], company, "10")
    results = bulk_approve(request_ids=[ok.pk, 999999], user=users["approver"])
    assert [(r.request_id, r.ok) for r in results] == [(ok.pk, True), (999999, False)]
    assert "no request #999999" in results[1].message


def test_every_governed_model_keeps_stamped_history():
    from riskdesk.approvals.governed import ChangeStamp
    from riskdesk.approvals.selectors import governed_models

    models = governed_models()
    assert {m._meta.label for m in models} >= {
        "credit.CompanyCredit",
        "credit.CompanyCurrencyLimit",
        "approvals.Flow",
    }
    for model in models:
        assert issubclass(model.history.model, ChangeStamp), model
