"""Approval flow of client groups (LS-2, ``lists.client_group``): create, rename, note,
business type, members (client codes, a full list), delete — each through approval.

Only margin-type groups may be named by client margin rules (MR-5); a group that an active
rule uses can neither be deleted nor turned into a report-type group.
"""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from riskdesk.approvals.registry import register
from riskdesk.book.models import Client
from riskdesk.lists.models import ClientGroup, ClientGroupMember
from riskdesk.margin.group_flows import GroupFlow

BusinessType = ClientGroup.BusinessType


class ClientGroupFlow(GroupFlow):
    key = "lists.client_group"
    title = _("Client group")
    submit_permission = "lists.change_clientgroup"
    default_steps = [{"role": "risk_approver", "approvals": 1}]
    prefix = "client-group"
    group_model = ClientGroup
    member_model = ClientGroupMember
    member_field = "client"
    code_model = Client
    rule_field = "client_group"
    detail_url = "lists:client-group"
    list_url = "lists:client-groups"
    extra_fields = ("business_type",)
    member_noun = "client"

    @property
    def field_labels(self):
        return {**super().field_labels, "business_type": _("Business type")}

    def clean_extra(self, merged: dict, target) -> dict:
        kind = merged.get("business_type")
        if kind in (None, ""):
            raise ValidationError({"business_type": "required"})
        if kind not in BusinessType.values:
            raise ValidationError({"business_type": f"one of {', '.join(BusinessType.values)}"})
        if target is not None and kind != BusinessType.MARGIN:
            used = list(self.active_rules(target).values_list("pk", flat=True))
            if used:
                rules = ", ".join(f"#{pk}" for pk in used[:10])
                raise ValidationError(
                    {
                        "business_type": f"active client margin rules use this group ({rules}); "
                        "it must stay a margin group"
                    }
                )
        return {"business_type": kind}


register(ClientGroupFlow())
