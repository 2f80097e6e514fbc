"""Batch import of client-group members (LS-2) on the shared import flow (PL-5): rows of
(group, client) → one ``lists.client_group`` request per group named in the file."""

from django.utils.translation import gettext_lazy as _

from riskdesk.book.models import Client
from riskdesk.console.imports import Field, register
from riskdesk.lists.models import ClientGroup, ClientGroupMember
from riskdesk.margin.rule_imports import MemberImport


class ClientGroupMemberImport(MemberImport):
    key = "lists.client_group_members"
    title = _("Client group members")
    feature = "LS-2"
    permission = "lists.change_clientgroup"
    flow = "lists.client_group"
    group_model = ClientGroup
    member_model = ClientGroupMember
    member_field = "client"
    member_key = "client"
    unique_together = ("group", "client")
    fields = (
        Field("group", _("Client group"), _("Name of an existing client group"), "VIP"),
        Field("client", _("Client"), _("Client code"), "C000001"),
    )

    def member(self, code: str):
        return Client.objects.filter(code=code).first()


register(ClientGroupMemberImport())
