"""Client margin rules (MR-5), stock groups (PL-12) and client groups (LS-2) over the API:
read them, and submit change requests (every change goes through the approval centre; the
answer is the request, as ``/approvals/{id}`` shows it)."""

from decimal import Decimal

from django.shortcuts import get_object_or_404
from ninja import Query, Router, Schema
from pydantic import Field

from riskdesk.approvals.api import SUBMIT_RESPONSES, submit_change
from riskdesk.approvals.selectors import pending_change
from riskdesk.lists.flows import ClientGroupFlow
from riskdesk.lists.models import ClientGroup
from riskdesk.margin.group_flows import GroupFlow, StockGroupFlow
from riskdesk.margin.models import ClientMarginRule, StockGroup
from riskdesk.margin.rule_flows import RULE_FLOW, ClientRuleFlow
from riskdesk.site.api import require

router = Router(tags=["margin"])

VIEW_RULE = "margin.view_clientmarginrule"
CHANGE_RULE = "margin.change_clientmarginrule"


# --- client margin rules ------------------------------------------------------------------------


class RuleOut(Schema):
    id: int
    side: str
    client: str | None
    client_group: str | None
    stock: str | None
    stock_group: str | None
    im: Decimal
    mcm: Decimal
    mm: Decimal
    fm: Decimal
    status: str
    shortable: str | None
    auto_close_qty: int | None
    auto_restore_qty: int | None
    pending_request: int | None = Field(None, description="The pending change request of this rule")


class RuleFilters(Schema):
    side: str | None = None
    client: str | None = None
    client_group: str | None = None
    stock: str | None = None
    stock_group: str | None = None
    status: str | None = None
    limit: int = Field(100, ge=1, le=1000)
    before_id: int | None = Field(None, description="Page: rules with a smaller id")


class RuleIn(Schema):
    side: str = Field(..., description="long or short")
    client: str | None = Field(None, description="Client code (or client_group)")
    client_group: str | None = Field(None, description="Margin-type client group name (or client)")
    stock: str | None = Field(None, description="Stock code (or stock_group)")
    stock_group: str | None = Field(None, description="Stock group name (or stock)")
    im: str
    mcm: str
    mm: str
    fm: str
    shortable: str | None = Field(None, description="Short rules: allowed | forbidden")
    auto_close_qty: int | None = None
    auto_restore_qty: int | None = None
    note: str = ""


class RuleChangeIn(Schema):
    im: str | None = None
    mcm: str | None = None
    mm: str | None = None
    fm: str | None = None
    shortable: str | None = None
    auto_close_qty: int | None = None
    auto_restore_qty: int | None = None
    note: str = ""


class NoteIn(Schema):
    note: str = ""


def _rule_out(rule: ClientMarginRule, pending: int | None = None) -> dict:
    return {
        "id": rule.pk,
        "side": rule.side,
        "client": rule.client.code if rule.client_id else None,
        "client_group": rule.client_group.name if rule.client_group_id else None,
        "stock": rule.instrument.code if rule.instrument_id else None,
        "stock_group": rule.stock_group.name if rule.stock_group_id else None,
        "im": rule.im,
        "mcm": rule.mcm,
        "mm": rule.mm,
        "fm": rule.fm,
        "status": rule.status,
        "shortable": rule.shortable or None,
        "auto_close_qty": rule.auto_close_qty,
        "auto_restore_qty": rule.auto_restore_qty,
        "pending_request": pending,
    }


def _rules():
    return ClientMarginRule.objects.select_related(
        "client", "client_group", "instrument", "stock_group"
    )


@router.get(
    "/client-rules", response=list[RuleOut], summary="List client margin rules (MR-5), newest first"
)
def list_rules(request, filters: Query[RuleFilters]):
    require(request, VIEW_RULE)
    qs = _rules().order_by("-id")
    for param, lookup in (
        ("side", "side"),
        ("client", "client__code"),
        ("client_group", "client_group__name"),
        ("stock", "instrument__code"),
        ("stock_group", "stock_group__name"),
        ("status", "status"),
    ):
        value = getattr(filters, param)
        if value:
            qs = qs.filter(**{lookup: value})
    if filters.before_id:
        qs = qs.filter(pk__lt=filters.before_id)
    return [_rule_out(r) for r in qs[: filters.limit]]


@router.post(
    "/client-rules",
    response=SUBMIT_RESPONSES,
    summary="Propose a new client margin rule (a change request)",
)
def create_rule(request, body: RuleIn):
    require(request, CHANGE_RULE)
    payload = {k: v for k, v in body.dict(exclude={"note"}).items() if v is not None}
    return submit_change(request, flow=RULE_FLOW, target=None, payload=payload, note=body.note)


@router.get("/client-rules/{rule_id}", response=RuleOut, summary="Read a client margin rule")
def read_rule(request, rule_id: int):
    require(request, VIEW_RULE)
    rule = get_object_or_404(_rules(), pk=rule_id)
    pending = pending_change(RULE_FLOW, ClientRuleFlow().target_key(rule))
    return _rule_out(rule, pending.pk if pending else None)


@router.post(
    "/client-rules/{rule_id}",
    response=SUBMIT_RESPONSES,
    summary="Propose a change of a rule's factors (short: shortable, pool rules)",
)
def change_rule(request, rule_id: int, body: RuleChangeIn):
    require(request, CHANGE_RULE)
    rule = get_object_or_404(_rules(), pk=rule_id)
    payload = body.dict(exclude={"note"}, exclude_unset=True)
    return submit_change(request, flow=RULE_FLOW, target=rule, payload=payload, note=body.note)


@router.post(
    "/client-rules/{rule_id}/invalidate",
    response=SUBMIT_RESPONSES,
    summary="Propose to invalidate a rule (置为失效)",
)
def invalidate_rule(request, rule_id: int, body: NoteIn):
    require(request, CHANGE_RULE)
    rule = get_object_or_404(_rules(), pk=rule_id)
    return submit_change(
        request,
        flow=RULE_FLOW,
        target=rule,
        payload={"status": ClientMarginRule.Status.INVALID.value},
        note=body.note,
    )


# --- groups -------------------------------------------------------------------------------------


class GroupOut(Schema):
    id: int
    name: str
    note: str
    business_type: str | None = None
    members: list[str]
    active_rules: list[int]
    pending_request: int | None = None


class GroupIn(Schema):
    name: str
    note: str = ""
    members: list[str] = []
    request_note: str = Field("", description="Note for the approver")


class ClientGroupIn(GroupIn):
    business_type: str = Field(..., description="margin | report")


class GroupChangeIn(Schema):
    name: str | None = None
    note: str | None = None
    members: list[str] | None = Field(None, description="The full list of member codes")
    delete: bool | None = Field(None, description="true: propose to delete the group")
    request_note: str = Field("", description="Note for the approver")


class ClientGroupChangeIn(GroupChangeIn):
    business_type: str | None = None


def _group_out(flow: GroupFlow, group) -> dict:
    pending = pending_change(flow.key, flow.target_key(group))
    return {
        "id": group.pk,
        "name": group.name,
        "note": group.note,
        "business_type": getattr(group, "business_type", None),
        "members": flow.member_codes(group),
        "active_rules": list(flow.active_rules(group).values_list("pk", flat=True)),
        "pending_request": pending.pk if pending else None,
    }


def _group_routes(*, flow: GroupFlow, model, path: str, view: str, body_in, change_in, what: str):
    @router.get(
        f"/{path}", response=list[GroupOut], summary=f"List {what}s", operation_id=f"list_{path}"
    )
    def list_groups(request, name: str | None = None, member: str | None = None):
        require(request, view)
        qs = model.objects.order_by("name")
        if name:
            qs = qs.filter(name__icontains=name)
        if member:
            qs = qs.filter(**{f"members__{flow.member_field}__code": member})
        return [_group_out(flow, g) for g in qs[:1000]]

    @router.post(
        f"/{path}",
        response=SUBMIT_RESPONSES,
        summary=f"Propose a new {what}",
        operation_id=f"create_{path}",
    )
    def create_group(request, body: body_in):
        require(request, flow.submit_permission)
        payload = body.dict(exclude={"request_note"})
        return submit_change(
            request, flow=flow.key, target=None, payload=payload, note=body.request_note
        )

    @router.get(
        f"/{path}/{{name}}",
        response=GroupOut,
        summary=f"Read a {what}",
        operation_id=f"read_{path}",
    )
    def read_group(request, name: str):
        require(request, view)
        return _group_out(flow, get_object_or_404(model, name=name))

    @router.post(
        f"/{path}/{{name}}",
        response=SUBMIT_RESPONSES,
        summary=f"Propose a change of a {what}: name, note, members (full list), or delete",
        operation_id=f"change_{path}",
    )
    def change_group(request, name: str, body: change_in):
        require(request, flow.submit_permission)
        group = get_object_or_404(model, name=name)
        payload = {
            k: v
            for k, v in body.dict(exclude={"request_note"}, exclude_unset=True).items()
            if v is not None
        }
        return submit_change(
            request, flow=flow.key, target=group, payload=payload, note=body.request_note
        )


_group_routes(
    flow=StockGroupFlow(),
    model=StockGroup,
    path="stock-groups",
    view="margin.view_stockgroup",
    body_in=GroupIn,
    change_in=GroupChangeIn,
    what="stock group",
)
_group_routes(
    flow=ClientGroupFlow(),
    model=ClientGroup,
    path="client-groups",
    view="lists.view_clientgroup",
    body_in=ClientGroupIn,
    change_in=ClientGroupChangeIn,
    what="client group",
)
