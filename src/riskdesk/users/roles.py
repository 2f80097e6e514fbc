"""Roles (PL-2) and the permissions each one holds.

A role is a Django group of the same name. This table is the only place that says who may
do what; ``sync_roles`` (run after every migrate) makes the groups match it, so a permission
added by a later feature is granted by adding one line here.
"""

from django.utils.translation import gettext_lazy as _

RISK_OFFICER = "risk_officer"
RISK_APPROVER = "risk_approver"
CLEARING_OPERATOR = "clearing_operator"
AUDITOR = "auditor"
ADMINISTRATOR = "administrator"

ROLE_LABELS = {
    RISK_OFFICER: _("Risk officer"),
    RISK_APPROVER: _("Risk approver"),
    CLEARING_OPERATOR: _("Clearing operator"),
    AUDITOR: _("Auditor (read-only)"),
    ADMINISTRATOR: _("Administrator"),
}

VIEW_BOOK = [
    "book.view_client",
    "book.view_account",
    "book.view_instrument",
    "book.view_price",
    "book.view_fxrate",
    "book.view_cashentry",
    "book.view_position",
    "book.view_bookevent",
]

# Everyone reads the approval centre and the governed records with their history (PL-4).
VIEW_GOVERNED = [
    "margin.view_stockmargin",
    "margin.view_intradaymargin",
    "margin.view_intradayrule",
    "margin.view_marginsetting",
    "margin.view_shortmargin",
    "margin.view_clientmarginrule",
    "margin.view_stockgroup",
    "lists.view_clientgroup",
    "approvals.view_changerequest",
    "approvals.view_flow",
    "credit.view_companycredit",
    "calendars.view_tradingday",
    "margincall.view_margincall",
    "notices.view_message",
    "liquidation.view_liquidationparameters",
    "liquidation.view_liquidationorder",
]

# What a risk officer proposes about margin (each change goes through approval).
MARGIN_MAKER = [
    "margin.change_stockmargin",
    "margin.change_intradaymargin",
    "margin.change_intradayrule",
    "margin.sync_marginsetting",
    "margin.change_shortmargin",
    "margin.change_clientmarginrule",
    "margin.change_stockgroup",
    "lists.change_clientgroup",
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    RISK_OFFICER: [
        *VIEW_BOOK,
        *VIEW_GOVERNED,
        "book.export_rows",
        "credit.change_companycredit",
        *MARGIN_MAKER,
        "calendars.change_tradingday",
        "margincall.annotate_margincall",
        "margincall.change_deadline",
        "notices.send_message",
        "liquidation.liquidate",
        "liquidation.change_liquidationparameters",
    ],
    RISK_APPROVER: [*VIEW_BOOK, *VIEW_GOVERNED, "book.export_rows"],
    CLEARING_OPERATOR: [
        *VIEW_BOOK,
        *VIEW_GOVERNED,
        "book.export_rows",
        "book.post_event",
        "book.import_instruments",
        "margin.update_lending_pool",
    ],
    AUDITOR: [*VIEW_BOOK, *VIEW_GOVERNED, "book.export_rows"],
    ADMINISTRATOR: [
        *VIEW_BOOK,
        *VIEW_GOVERNED,
        "book.export_rows",
        "approvals.manage_flows",
        "book.post_event",
        "book.import_instruments",
        "margin.update_lending_pool",
        "users.manage_users",
    ],
}


def sync_roles(**_kwargs) -> None:
    """Create one group per role and give it exactly the permissions listed above."""
    from django.contrib.auth.models import Group, Permission

    for role, codes in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=role)
        perms = []
        for code in codes:
            app_label, codename = code.split(".")
            perm = Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if perm is not None:
                perms.append(perm)
        group.permissions.set(perms)


def role_of(user) -> str | None:
    """The user's role name (first group that is a role), or None."""
    names = [g.name for g in user.groups.all()]
    return next((name for name in ROLE_PERMISSIONS if name in names), None)
