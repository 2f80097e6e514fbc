"""Liquidation pages: the ticket (choose or let the planner propose, see the figures after,
then place — MC-1), the orders list and an order's detail with cancel (MC-10), batch
liquidation (MC-2), the liquidation switch and auto-liquidation time (PL-12), and a call's
deadline / auto-liquidation change (MC-1)."""

import uuid
from datetime import date

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from riskdesk.approvals import selectors as approvals
from riskdesk.approvals.forms import submit_from_form
from riskdesk.book.models import Account
from riskdesk.console.listing import Column, Filter, ListPage
from riskdesk.engine import liquidation as planner
from riskdesk.engine.margin import FORCE_CLOSE, MARGIN_CALL, effective_factors, market_value
from riskdesk.liquidation import services
from riskdesk.liquidation.flows import Parameters
from riskdesk.liquidation.models import LiquidationOrder, LiquidationParameters
from riskdesk.liquidation.services import LIQUIDATE, LiquidationError
from riskdesk.margincall.models import MarginCall
from riskdesk.users.permissions import requires

VIEW = "liquidation.view_liquidationorder"
VIEW_PARAMETERS = "liquidation.view_liquidationparameters"
Status = LiquidationOrder.Status
ALERT_LABELS = {"none": _("None"), MARGIN_CALL: _("Margin call"), FORCE_CLOSE: _("Force close")}

# --- the ticket (MC-1 平仓) -------------------------------------------------------------------

FIGURES = [
    ("alert", _("Alert type")),
    ("call_amount", _("Call amount")),
    ("lna", _("Liquid net assets")),
    ("equity", _("Equity")),
    ("nar", _("Net asset ratio")),
    ("loan", _("Loan")),
    ("req_mcm", _("MCM requirement")),
    ("req_mm", _("MM requirement")),
    ("req_fm", _("FM requirement")),
    ("long_mv", _("Long market value")),
]


def _figure(figures, key):
    if key.startswith("req_"):
        return getattr(figures.req, key[4:])
    if key == "alert":
        return ALERT_LABELS.get(figures.alert, figures.alert)
    return getattr(figures, key)


def _figure_rows(before, after) -> list[dict]:
    return [
        {
            "key": key,
            "label": label,
            "before": _figure(before, key),
            "after": None if after is None else _figure(after, key),
            "kind": "text" if key == "alert" else ("rate" if key == "nar" else "amount"),
        }
        for key, label in FIGURES
    ]


def _chosen(params, codes) -> list[tuple[str, int]]:
    """The quantities typed on the ticket (``q_<code>``), skipping blanks and zeros."""
    lines = []
    for code in codes:
        raw = (params.get(f"q_{code}") or "").strip().replace(",", "")
        if not raw:
            continue
        if not raw.isdigit():
            raise LiquidationError(code, gettext("%(code)s: not a whole number") % {"code": code})
        if int(raw):
            lines.append((code, int(raw)))
    return lines


@requires(VIEW, LIQUIDATE)
def ticket(request, number):
    """One account: its positions, quantities to close (typed, prefilled from a link, or the
    planner's proposal), the figures after them, and the button that places the orders."""
    account = get_object_or_404(Account.objects.select_related("client"), number=number)
    if request.method == "POST":
        return _place(request, account)
    state, instruments, live = services.account_state(account)
    codes = [p.code for p in state.positions]
    params = request.GET
    quantities: dict[str, int] = {}
    plan, error, source = None, None, LiquidationOrder.Source.MANUAL
    try:
        if params.get("propose"):
            plan = planner.plan(state)
            source = LiquidationOrder.Source.PLANNER
            quantities = {line.code: line.quantity for line in plan.lines}
        else:
            typed = dict(params.items())
            linked = params.get("instrument")
            if linked in instruments and not any(typed.get(f"q_{c}") for c in codes):
                typed[f"q_{linked}"] = params.get("quantity", "")  # a link's prefill
            lines = _chosen(typed, codes)
            quantities = dict(lines)
            if lines:
                services.check_lines(state, lines)
                plan = planner.evaluate(state, lines)
    except LiquidationError as exc:
        error = exc.reason
        plan = None
    before = plan.before if plan else planner.figures(state)
    call = MarginCall.objects.filter(account=account, status=MarginCall.Status.OPEN).first()
    # As booked: the planner's positions are net of live orders, and lose their side at 0.
    held = dict(account.positions.values_list("instrument__code", "quantity"))
    rows = []
    for p in state.positions:
        rows.append(
            {
                "p": p,
                "instrument": instruments[p.code],
                "held": held[p.code],
                "live": live.get(p.code, 0),
                "mv": market_value(p.quantity, p.price, p.multiplier, p.fx_rate),
                "factor": effective_factors(p.factors, p.status).mcm,
                "quantity": quantities.get(p.code, ""),
                "side": _("Sell") if held[p.code] > 0 else _("Buy to cover"),
            }
        )
    return render(
        request,
        "liquidation/ticket.html",
        {
            "account": account,
            "call": call,
            "rows": rows,
            "plan": plan,
            "error": error,
            "figures": _figure_rows(before, plan.after if plan else None),
            "source": source,
            "token": uuid.uuid4().hex,
            "orders": LiquidationOrder.objects.filter(account=account).select_related("instrument")[
                :20
            ],
        },
    )


def _place(request, account):
    codes = request.POST.getlist("code")
    try:
        lines = [(c, int(q)) for c, q in zip(codes, request.POST.getlist("quantity"), strict=True)]
        source = request.POST.get("source", LiquidationOrder.Source.MANUAL)
        if source not in (LiquidationOrder.Source.MANUAL, LiquidationOrder.Source.PLANNER):
            source = LiquidationOrder.Source.MANUAL
        orders = services.place(
            account,
            lines,
            user=request.user,
            source=source,
            request_key=request.POST.get("token", "")[:64],
        )
    except (LiquidationError, ValueError) as exc:
        messages.error(request, getattr(exc, "reason", str(exc)))
        return redirect("liquidation:ticket", number=account.number)
    messages.success(
        request,
        gettext("%(n)s liquidation order(s) placed: %(ids)s")
        % {"n": len(orders), "ids": ", ".join(o.client_order_id for o in orders)},
    )
    call = orders[0].call if orders else None
    if call is not None:
        return redirect("margincall:call", pk=call.pk)
    return redirect(f"{reverse('liquidation:orders')}?account={account.number}")


# --- orders (MC-10) ---------------------------------------------------------------------------

orders = ListPage(
    name="orders",
    title=_("Liquidation orders"),
    feature="MC-10",
    permission=VIEW,
    queryset=lambda: LiquidationOrder.objects.all(),
    columns=[
        Column("client_order_id", _("Order"), link=("liquidation:order", "pk")),
        Column("created_at", _("Created"), kind="datetime", sortable=True),
        Column("account__number", _("Account")),
        Column("account__client__code", _("Client code")),
        Column("instrument__code", _("Instrument")),
        Column("side", _("Side"), choices=dict(LiquidationOrder.Side.choices)),
        Column("quantity", _("Quantity"), kind="quantity"),
        Column("filled_quantity", _("Filled"), kind="quantity"),
        Column("average_price", _("Average price"), kind="price"),
        Column("status", _("Status"), choices=dict(Status.choices)),
        Column("source", _("Source"), choices=dict(LiquidationOrder.Source.choices)),
        Column("gateway", _("Gateway")),
        Column("created_by__username", _("By")),
        Column("reason", _("Reason")),
    ],
    filters=[
        Filter("status", _("Status"), "choice", choices=tuple(Status.choices)),
        Filter("account", _("Account"), "prefix", lookup="account__number"),
        Filter("instrument", _("Instrument"), "prefix", lookup="instrument__code"),
        Filter("source", _("Source"), "choice", choices=tuple(LiquidationOrder.Source.choices)),
        Filter("date_from", _("From date"), "date_from", lookup="created_at"),
        Filter("date_to", _("To date"), "date_to", lookup="created_at"),
    ],
    default_sort="-created_at",
    live_seconds=5,
    changed_key="updated_at",
    created_key="created_at",
)


@requires(VIEW)
def order_detail(request, pk):
    order = get_object_or_404(
        LiquidationOrder.objects.select_related("account__client", "instrument", "call"), pk=pk
    )
    return render(
        request,
        "liquidation/order.html",
        {
            "order": order,
            "executions": order.executions.all(),
            "can_cancel": order.status in (Status.PENDING, Status.WORKING, Status.PARTIAL)
            and request.user.has_perm(LIQUIDATE),
        },
    )


@require_POST
@requires(VIEW, LIQUIDATE)
def order_cancel(request, pk):
    order = get_object_or_404(LiquidationOrder, pk=pk)
    try:
        services.cancel(order, user=request.user, reason=request.POST.get("reason", "").strip())
    except LiquidationError as exc:
        messages.error(request, exc.reason)
    else:
        messages.success(
            request, gettext("Cancel requested for %(id)s.") % {"id": order.client_order_id}
        )
    return redirect("liquidation:order", pk=order.pk)


# --- batch liquidation (MC-2) -----------------------------------------------------------------


@requires(VIEW)
def batch(request):
    """Choose open calls (and optionally only some stocks), preview each account's planned
    sells with the figures after, then confirm; only while the switch is on (PL-12). Anyone who
    reads the orders sees the page; previewing and liquidating need ``liquidation.liquidate``."""
    can_liquidate = request.user.has_perm(LIQUIDATE)
    if request.method == "POST" and not can_liquidate:
        raise PermissionDenied
    params = services.parameters()
    source = request.POST if request.method == "POST" else request.GET
    alert = source.get("alert", "")
    calls = MarginCall.objects.filter(status=MarginCall.Status.OPEN).select_related(
        "account__client"
    )
    if alert in (MARGIN_CALL, FORCE_CLOSE):
        calls = calls.filter(alert=alert)
    calls = calls.order_by("-call_amount", "id")[:500]
    selected = {int(i) for i in source.getlist("ids") if i.isdigit()}
    only = sorted({c.strip().upper() for c in source.get("only", "").split(",") if c.strip()})
    previews, error = [], None
    if request.method == "POST" and request.POST.get("confirm"):
        try:
            done = services.batch_liquidate(
                [c for c in calls if c.pk in selected], user=request.user, only=only or None
            )
        except LiquidationError as exc:
            error = exc.reason
        else:
            messages.success(request, gettext("Batch liquidation #%(n)s done.") % {"n": done.pk})
            return render(request, "liquidation/batch_done.html", {"batch": done})
    elif request.method == "POST":
        for call in calls:
            if call.pk in selected:
                proposal = services.propose(call.account, only=only or None)
                previews.append({"call": call, "plan": proposal.plan})
        if not previews:
            error = gettext("Choose at least one margin call.")
    return render(
        request,
        "liquidation/batch.html",
        {
            "params": params,
            "calls": calls,
            "selected": selected,
            "only": ",".join(only),
            "alert": alert,
            "previews": previews,
            "error": error,
            "can_liquidate": can_liquidate,
        },
    )


# --- parameters (PL-12) -----------------------------------------------------------------------

FLOW = Parameters.key


@requires(VIEW_PARAMETERS)
def parameters(request):
    return render(
        request,
        "liquidation/parameters.html",
        {
            "params": services.parameters(),
            "pending": approvals.pending_change(FLOW, "parameters"),
            "last": approvals.last_request(FLOW, "parameters"),
            "can_edit": request.user.has_perm(Parameters.submit_permission),
            "history": approvals.history_rows(LiquidationParameters),
        },
    )


class ParametersForm(forms.Form):
    batch_enabled = forms.BooleanField(label=_("Batch liquidation switch"), required=False)
    auto_enabled = forms.BooleanField(label=_("Auto liquidation"), required=False)
    auto_time = forms.TimeField(
        label=_("Auto liquidation time (HK)"), widget=forms.TimeInput(format="%H:%M")
    )
    note = forms.CharField(
        label=_("Note for the approver"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


@requires(Parameters.submit_permission)
def parameters_edit(request):
    target = services.parameters()
    initial = Parameters().snapshot(target)
    form = ParametersForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        payload = {
            "batch_enabled": data["batch_enabled"],
            "auto_enabled": data["auto_enabled"],
            "auto_time": data["auto_time"].strftime("%H:%M"),
        }
        response = submit_from_form(
            request, form, flow=FLOW, target=target, payload=payload, note=data["note"]
        )
        if response is not None:
            return response
    return render(
        request,
        "liquidation/parameters_edit.html",
        {"form": form, "pending": approvals.pending_change(FLOW, "parameters")},
    )


# --- a call's deadline and auto liquidation (MC-1) ------------------------------------------


@require_POST
@requires("margincall.view_margincall", services.CHANGE_DEADLINE)
def deadline(request, pk):
    call = get_object_or_404(MarginCall, pk=pk)
    try:
        day = date.fromisoformat(request.POST.get("deadline", ""))
    except ValueError:
        messages.error(request, gettext("Deadline: not a date (YYYY-MM-DD)."))
        return redirect("margincall:call", pk=call.pk)
    try:
        services.change_deadline(
            call,
            user=request.user,
            deadline=day,
            auto_liquidate=request.POST.get("auto_liquidate") in ("on", "1", "true"),
            note=request.POST.get("note", "").strip(),
        )
    except LiquidationError as exc:
        messages.error(request, f"{exc.field}: {exc.reason}")
    else:
        messages.success(request, gettext("Deadline and auto liquidation saved."))
    return redirect("margincall:call", pk=call.pk)


def call_liquidation_context(request, call) -> dict:
    """What the call's page shows of liquidation: its account's orders, the ticket link, the
    deadline form and whether auto liquidation applies."""
    if not request.user.has_perm(VIEW):
        return {}
    params = services.parameters()
    return {
        "liq_orders": LiquidationOrder.objects.filter(account=call.account)
        .select_related("instrument")
        .order_by("-id")[:50],
        "can_liquidate": request.user.has_perm(LIQUIDATE) and call.status == MarginCall.Status.OPEN,
        "can_change_deadline": request.user.has_perm(services.CHANGE_DEADLINE)
        and call.status == MarginCall.Status.OPEN,
        "liq_params": params,
    }


app_name = "liquidation"
urlpatterns = [
    *orders.urls(),
    path("orders/<int:pk>/", order_detail, name="order"),
    path("orders/<int:pk>/cancel/", order_cancel, name="order-cancel"),
    path("accounts/<str:number>/", ticket, name="ticket"),
    path("batch/", batch, name="batch"),
    path("parameters/", parameters, name="parameters"),
    path("parameters/edit/", parameters_edit, name="parameters-edit"),
    path("calls/<int:pk>/deadline/", deadline, name="deadline"),
]
