"""Approval centre pages (PL-3): what waits for me, what I submitted, every request, detail
with approve / reject / withdraw, bulk approval; and the flows, editable by an administrator."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from riskdesk.approvals import selectors, services
from riskdesk.approvals.models import Action, ChangeRequest, Flow, FlowRoute, FlowStep
from riskdesk.approvals.registry import REGISTRY
from riskdesk.console.listing import Column, Filter, ListPage
from riskdesk.users.permissions import requires
from riskdesk.users.roles import ROLE_LABELS

STATUSES = dict(ChangeRequest.Status.choices)
VIEW = "approvals.view_changerequest"


def _columns():
    return [
        Column("id", _("Request"), link=("approvals:detail", "pk")),
        Column("flow", _("Flow")),
        Column("target_label", _("Target")),
        Column("maker__username", _("Maker")),
        Column("created_at", _("Submitted"), kind="datetime", sortable=True),
        Column("status", _("Status"), choices=STATUSES),
        Column("current_role", _("Waiting for"), choices=ROLE_LABELS),
        Column("note", _("Note")),
    ]


def _filters():
    return [
        Filter("flow", _("Flow"), "choice", choices=tuple((k, k) for k in sorted(REGISTRY))),
        Filter("status", _("Status"), "choice", choices=tuple(ChangeRequest.Status.choices)),
        Filter("maker", _("Maker"), "exact", lookup="maker__username"),
        Filter("date_from", _("From date"), "date_from", lookup="created_at"),
        Filter("date_to", _("To date"), "date_to", lookup="created_at"),
    ]


def _requests():
    return ChangeRequest.objects.all()


waiting = ListPage(
    name="waiting",
    title=_("My pending approvals"),
    feature="PL-3",
    permission=VIEW,
    queryset=_requests,
    columns=_columns(),
    filters=_filters(),
    default_sort="-id",
    scope=selectors.waiting_for,
    bulk_action=(_("Approve selected"), "approvals:bulk-approve", VIEW),
)
mine = ListPage(
    name="mine",
    title=_("My requests"),
    feature="PL-3",
    permission=VIEW,
    queryset=_requests,
    columns=_columns(),
    filters=_filters(),
    default_sort="-id",
    scope=selectors.submitted_by,
)
everything = ListPage(
    name="all",
    title=_("All requests"),
    feature="PL-3",
    permission=VIEW,
    queryset=_requests,
    columns=_columns(),
    filters=_filters(),
    default_sort="-id",
)


@requires(VIEW)
def detail(request, pk):
    change = get_object_or_404(ChangeRequest.objects.select_related("maker"), pk=pk)
    handler = REGISTRY.get(change.flow)
    labels = handler.field_labels if handler else {}
    fields, tables = [], []
    for k in dict.fromkeys([*change.before, *change.payload]):
        before, after = change.before.get(k), change.payload.get(k)
        if isinstance(after, list) and after and all(isinstance(row, dict) for row in after):
            # A batch: one table row per proposed record.
            columns = list(dict.fromkeys(c for row in after for c in row))
            tables.append(
                {
                    "label": labels.get(k, k),
                    "columns": columns,
                    "rows": [[row.get(c) for c in columns] for row in after],
                }
            )
            continue
        fields.append(
            {
                "key": k,
                "label": labels.get(k, k),
                "before": before,
                "after": after,
                "changed": before != after,
            }
        )
    actions = list(change.actions.select_related("actor"))
    steps = []
    for i, step in enumerate(change.steps):
        approvals = [a for a in actions if a.kind == Action.Kind.APPROVE and a.step == i]
        steps.append(
            {
                **step,
                "role_label": ROLE_LABELS.get(step["role"], step["role"]),
                "number": i + 1,
                "approvals_given": approvals,
                "current": change.status == "pending" and change.step == i,
                "done": len(approvals) >= step["approvals"],
            }
        )
    return render(
        request,
        "approvals/detail.html",
        {
            "change": change,
            "fields": fields,
            "tables": tables,
            "steps": steps,
            "actions": actions,
            "cannot_approve": services.can_approve(change, request.user),
            "can_withdraw": change.status == "pending" and change.maker_id == request.user.pk,
        },
    )


@require_POST
@requires(VIEW)
def act(request, pk, verb):
    comment = request.POST.get("comment", "")
    try:
        if verb == "approve":
            change = services.approve(request_id=pk, user=request.user, comment=comment)
        elif verb == "reject":
            change = services.reject(request_id=pk, user=request.user, comment=comment)
        else:
            change = services.withdraw(request_id=pk, user=request.user, comment=comment)
    except services.ApprovalError as exc:
        messages.error(request, str(exc))
        return redirect("approvals:detail", pk=pk)
    if change.status == ChangeRequest.Status.FAILED:
        messages.error(
            request,
            _("Approved, but the change could not be applied: %(r)s") % {"r": change.failure},
        )
    else:
        messages.success(
            request,
            _("Request #%(n)s: %(s)s.") % {"n": change.pk, "s": change.get_status_display()},
        )
    return redirect("approvals:detail", pk=pk)


@require_POST
@requires(VIEW)
def bulk_approve(request):
    ids = [int(i) for i in request.POST.getlist("ids") if i.isdigit()]
    if not ids:
        messages.error(request, _("Tick the requests to approve."))
        return redirect("approvals:waiting")
    results = services.bulk_approve(
        request_ids=ids, user=request.user, comment=request.POST.get("comment", "")
    )
    return render(request, "approvals/bulk_result.html", {"results": results})


@requires("approvals.view_flow")
def flows(request):
    return render(
        request,
        "approvals/flows.html",
        {
            "flows": Flow.objects.prefetch_related("routes__steps"),
            "can_edit": request.user.has_perm("approvals.manage_flows"),
            "history": selectors.history_rows(Flow, FlowRoute, FlowStep, limit=100),
        },
    )


@requires(VIEW)
def changes(request):
    """Change records of every governed table (PL-4), newest first."""
    return render(
        request,
        "approvals/changes.html",
        {"history": selectors.history_rows(*selectors.governed_models())},
    )


@requires("approvals.manage_flows")
def flow_edit(request, key):
    from riskdesk.approvals.flow_admin import FlowForm, save_flow

    flow = get_object_or_404(Flow, key=key)
    form = FlowForm(request.POST or None, flow=flow)
    if request.method == "POST" and form.is_valid():
        save_flow(flow, form.cleaned_data["routes"], user=request.user)
        messages.success(request, _("Flow %(k)s saved.") % {"k": flow.key})
        return redirect("approvals:flows")
    return render(request, "approvals/flow_edit.html", {"flow": flow, "form": form})


app_name = "approvals"
urlpatterns = [
    *waiting.urls(),
    *mine.urls(),
    *everything.urls(),
    path("requests/<int:pk>/", detail, name="detail"),
    *[
        path(f"requests/<int:pk>/{verb}/", act, {"verb": verb}, name=verb)
        for verb in ("approve", "reject", "withdraw")
    ],
    path("bulk-approve/", bulk_approve, name="bulk-approve"),
    path("flows/", flows, name="flows"),
    path("changes/", changes, name="changes"),
    path("flows/<str:key>/", flow_edit, name="flow-edit"),
]
