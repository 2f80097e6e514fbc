import pytest


@pytest.fixture
def company():
    from riskdesk.credit.models import CompanyCredit

    return CompanyCredit.objects.get(pk=1)


@pytest.fixture
def two_approver_band(db):
    """credit.company_limit: a change of the total above 1,000,000 needs two risk approvers."""
    from riskdesk.approvals.flow_admin import parse_routes, save_flow
    from riskdesk.approvals.models import Flow

    class Admin:
        username = "test-setup"

    save_flow(
        Flow.objects.get(key="credit.company_limit"),
        parse_routes("total_credit_change > 1000000: risk_approver x2\ndefault: risk_approver x1"),
        user=Admin(),
    )


def submit_total(maker, company, total, note=""):
    from riskdesk.approvals import services

    return services.submit(
        flow="credit.company_limit",
        target=company,
        payload={"total_credit": total},
        maker=maker,
        note=note,
    )
