def approvals_waiting(request) -> dict:
    """The count shown in the console header: requests waiting for this user (PL-3)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from riskdesk.approvals.selectors import waiting_for

    return {"approvals_waiting": waiting_for(user).count()}
