"""The demo users printed by ``make run`` (one per role; two approvers so that two-approver
flows can be tried)."""

from riskdesk.users import roles
from riskdesk.users.services import create_user

DEMO_PASSWORD = "riskdesk-demo"

DEMO_USERS = [
    ("officer", roles.RISK_OFFICER, "Olivia Chan"),
    ("approver", roles.RISK_APPROVER, "Alan Wong"),
    ("approver2", roles.RISK_APPROVER, "Amy Lau"),
    ("clearing", roles.CLEARING_OPERATOR, "Carl Ho"),
    ("auditor", roles.AUDITOR, "Audrey Ng"),
    ("admin", roles.ADMINISTRATOR, "Adam Lee"),
]


def create_demo_users() -> list[tuple[str, str, str]]:
    """Create (or reset) the demo users; returns (username, password, role) rows to print."""
    rows = []
    for username, role, name in DEMO_USERS:
        create_user(
            username=username,
            password=DEMO_PASSWORD,
            role=role,
            email=f"{username}@riskdesk.local",
            full_name=name,
        )
        rows.append((username, DEMO_PASSWORD, role))
    return rows
