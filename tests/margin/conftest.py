"""Fixtures shared by the margin tests (MR-1 … MR-6)."""

import pytest


@pytest.fixture
def approve(users):
    """``approve(request)``: the risk approver approves a change request (applied on the last
    step of the default one-step flow); returns the request as it is then."""
    from riskdesk.approvals import services

    def _approve(request, user: str = "approver"):
        return services.approve(request_id=request.pk, user=users[user])

    return _approve


@pytest.fixture
def propose(users):
    """``propose(flow, target, payload, maker="officer")``: submit a change request."""
    from riskdesk.approvals import services

    def _propose(flow: str, target, payload: dict, maker: str = "officer", note: str = ""):
        return services.submit(
            flow=flow, target=target, payload=payload, maker=users[maker], note=note
        )

    return _propose
