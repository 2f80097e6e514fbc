"""Client group pages (LS-2) on the shared group pages: list, detail with members (single,
batch paste, batch upload), business type, edit and delete — every change through approval."""

from django.utils.translation import gettext_lazy as _

from riskdesk.console.listing import Column, Filter
from riskdesk.lists import imports  # noqa: F401  (registers the member import)
from riskdesk.lists.flows import ClientGroupFlow
from riskdesk.lists.models import ClientGroup
from riskdesk.margin.group_pages import GroupPages

client_groups = GroupPages(
    flow=ClientGroupFlow(),
    namespace="lists",
    plural="client-groups",
    singular="client-group",
    feature="LS-2",
    title=_("Client groups"),
    view_permission="lists.view_clientgroup",
    import_key="lists.client_group_members",
    rules_related="margin_rules",
    member_label=_("Clients"),
    member_help=_("Client codes, one per line or separated by commas"),
    member_filter="members__client__code",
    extra_columns=[
        Column("business_type", _("Business type"), choices=dict(ClientGroup.BusinessType.choices))
    ],
    extra_filters=[
        Filter(
            "business_type",
            _("Business type"),
            "choice",
            choices=tuple(ClientGroup.BusinessType.choices),
        )
    ],
)

app_name = "lists"
urlpatterns = client_groups.urls()
