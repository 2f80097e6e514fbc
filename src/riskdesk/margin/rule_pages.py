"""Client margin pages (MR-5): the long and short rule lists on the shared list page, a rule
with its pending change and change records, and the forms that submit for approval (new,
edit, 置为失效) and the batch import."""

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext_lazy as _

from riskdesk.approvals import selectors as approvals
from riskdesk.approvals.forms import submit_from_form
from riskdesk.console.listing import Column, Filter, ListPage
from riskdesk.console.pages import import_upload
from riskdesk.lists.models import ClientGroup
from riskdesk.margin import rule_imports  # noqa: F401  (registers the rule and member imports)
from riskdesk.margin.factors import FIELDS
from riskdesk.margin.models import ClientMarginRule, Shortable, StockGroup
from riskdesk.margin.rule_flows import RULE_FLOW, SHORT_FIELDS, ClientRuleFlow, describe
from riskdesk.users.permissions import requires

VIEW = "margin.view_clientmarginrule"
CHANGE = ClientRuleFlow.submit_permission
Side = ClientMarginRule.Side
STATUSES = dict(ClientMarginRule.Status.choices)
SHORTABLE = dict(Shortable.choices)


def _rules(side: str):
    return lambda: ClientMarginRule.objects.filter(side=side)


def _columns(side: str) -> list[Column]:
    columns = [
        Column("id", _("Rule"), sortable=True, link=("margin:client-rule", "pk")),
        Column("client__code", _("Client")),
        Column("client_group__name", _("Client group")),
        Column("instrument__code", _("Stock")),
        Column("stock_group__name", _("Stock group")),
        Column("im", _("Initial margin"), kind="rate", sortable=True),
        Column("mcm", _("Margin-call margin"), kind="rate"),
        Column("mm", _("Maintenance margin"), kind="rate"),
        Column("fm", _("Force-close margin"), kind="rate"),
    ]
    if side == Side.SHORT:
        columns += [
            Column("shortable", _("Shortable"), choices=SHORTABLE),
            Column("auto_close_qty", _("Auto-close quantity"), kind="quantity"),
            Column("auto_restore_qty", _("Auto-restore quantity"), kind="quantity"),
        ]
    columns.append(Column("status", _("Status"), choices=STATUSES))
    return columns


def _filters(side: str) -> list[Filter]:
    filters = [
        Filter("client", _("Client"), "prefix", lookup="client__code"),
        Filter("group", _("Client group"), "contains", lookup="client_group__name"),
        Filter("stock", _("Stock"), "prefix", lookup="instrument__code"),
        Filter("stock_group", _("Stock group"), "contains", lookup="stock_group__name"),
        Filter("status", _("Status"), "choice", choices=tuple(ClientMarginRule.Status.choices)),
    ]
    if side == Side.SHORT:
        filters.append(
            Filter("shortable", _("Shortable"), "choice", choices=tuple(Shortable.choices))
        )
    return filters


def _list_page(side: str, name: str, title) -> ListPage:
    return ListPage(
        name=name,
        title=title,
        feature="MR-5",
        permission=VIEW,
        queryset=_rules(side),
        columns=_columns(side),
        filters=_filters(side),
        default_sort="-id",
        actions=[
            (_("New"), f"margin:client-rule-new-{side}", CHANGE),
            (_("Import margin data"), "margin:client-rules-import", CHANGE),
        ],
    )


long_rules = _list_page(Side.LONG, "client-long", _("Client long margin"))
short_rules = _list_page(Side.SHORT, "client-short", _("Client short margin"))


def _rule(pk) -> ClientMarginRule:
    return get_object_or_404(
        ClientMarginRule.objects.select_related(
            "client", "client_group", "instrument", "stock_group"
        ),
        pk=pk,
    )


@requires(VIEW)
def rule_detail(request, pk):
    rule = _rule(pk)
    key = ClientRuleFlow().target_key(rule)
    return render(
        request,
        "margin/rule_detail.html",
        {
            "rule": rule,
            "describe": describe(rule),
            "list_url": "margin:client-short" if rule.side == Side.SHORT else "margin:client-long",
            "pending": approvals.pending_change(RULE_FLOW, key),
            "can_edit": request.user.has_perm(CHANGE)
            and rule.status == ClientMarginRule.Status.ACTIVE,
            "history": approvals.history_rows(rule),
        },
    )


def _factor_fields(form: forms.Form, initial: dict | None = None) -> None:
    labels = {
        "im": _("Initial margin (IM)"),
        "mcm": _("Margin-call margin (MCM)"),
        "mm": _("Maintenance margin (MM)"),
        "fm": _("Force-close margin (FM)"),
    }
    for f in FIELDS:
        # Text, not a DecimalField: the flow checks 1 ≥ IM ≥ MCM ≥ MM ≥ FM ≥ 0 and names the factor.
        form.fields[f] = forms.CharField(
            label=labels[f],
            initial=(initial or {}).get(f),
            help_text=_("0 to 1, e.g. 0.5") if f == "im" else "",
        )


def _short_fields(
    form: forms.Form, initial: dict | None = None, *, system_forbidden: bool = False
) -> None:
    choices = [
        (Shortable.ALLOWED, Shortable.ALLOWED.label),
        (Shortable.FORBIDDEN, Shortable.FORBIDDEN.label),
    ]
    if system_forbidden:
        choices.append((Shortable.SYSTEM_FORBIDDEN, Shortable.SYSTEM_FORBIDDEN.label))
    initial = initial or {}
    form.fields["shortable"] = forms.ChoiceField(
        label=_("Shortable"), choices=choices, initial=initial.get("shortable")
    )
    form.fields["auto_close_qty"] = forms.CharField(
        label=_("Auto-close quantity"),
        required=False,
        initial=initial.get("auto_close_qty"),
        help_text=_(
            "Short selling is forbidden by the system when the lending pool falls to this."
        ),
    )
    form.fields["auto_restore_qty"] = forms.CharField(
        label=_("Auto-restore quantity"),
        required=False,
        initial=initial.get("auto_restore_qty"),
        help_text=_("Allowed again when the pool reaches this (at least the auto-close quantity)."),
    )


def _note_field(form: forms.Form) -> None:
    form.fields["note"] = forms.CharField(
        label=_("Note for the approver"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class NewRuleForm(forms.Form):
    def __init__(self, *args, side: str, **kwargs):
        super().__init__(*args, **kwargs)
        blank = [("", "—")]
        self.fields["client"] = forms.CharField(
            label=_("Client"),
            required=False,
            help_text=_("A client code, or choose a client group."),
        )
        self.fields["client_group"] = forms.ChoiceField(
            label=_("Client group"),
            required=False,
            choices=blank
            + [
                (n, n)
                for n in ClientGroup.objects.filter(
                    business_type=ClientGroup.BusinessType.MARGIN
                ).values_list("name", flat=True)
            ],
            help_text=_("Margin-type client groups only."),
        )
        self.fields["stock"] = forms.CharField(
            label=_("Stock"),
            required=False,
            help_text=_("A stock code, e.g. 700.HK, or choose a stock group."),
        )
        self.fields["stock_group"] = forms.ChoiceField(
            label=_("Stock group"),
            required=False,
            choices=blank + [(n, n) for n in StockGroup.objects.values_list("name", flat=True)],
        )
        _factor_fields(self)
        if side == Side.SHORT:
            _short_fields(self, {"shortable": Shortable.ALLOWED})
        _note_field(self)


class EditRuleForm(forms.Form):
    def __init__(self, *args, rule: ClientMarginRule, current: dict, **kwargs):
        super().__init__(*args, **kwargs)
        _factor_fields(self, current)
        if rule.side == Side.SHORT:
            _short_fields(
                self, current, system_forbidden=rule.shortable == Shortable.SYSTEM_FORBIDDEN
            )
        _note_field(self)


def _submit(request, form, *, target, payload: dict, note: str):
    return submit_from_form(
        request, form, flow=RULE_FLOW, target=target, payload=payload, note=note
    )


def _payload(data: dict, keys) -> dict:
    return {
        k: (data[k].strip() if isinstance(data.get(k), str) else data.get(k))
        for k in keys
        if k in data
    }


@requires(CHANGE)
def rule_new(request, side):
    form = NewRuleForm(request.POST or None, side=side)
    if request.method == "POST" and form.is_valid():
        keys = ["client", "client_group", "stock", "stock_group", *FIELDS]
        if side == Side.SHORT:
            keys += list(SHORT_FIELDS)
        payload = {
            k: v for k, v in _payload(form.cleaned_data, keys).items() if v not in ("", None)
        }
        response = _submit(
            request,
            form,
            target=None,
            payload={"side": side, **payload},
            note=form.cleaned_data["note"],
        )
        if response is not None:
            return response
    title = (
        _("New client long margin rule") if side == Side.LONG else _("New client short margin rule")
    )
    return render(
        request,
        "margin/rule_form.html",
        {
            "form": form,
            "title": title,
            "side": side,
            "back": "margin:client-short" if side == Side.SHORT else "margin:client-long",
        },
    )


@requires(CHANGE)
def rule_edit(request, pk):
    rule = _rule(pk)
    if rule.status != ClientMarginRule.Status.ACTIVE:
        messages.error(request, _("An invalidated rule cannot be edited; create a new rule."))
        return redirect("margin:client-rule", pk=rule.pk)
    handler = ClientRuleFlow()
    current = handler.snapshot(rule)
    form = EditRuleForm(request.POST or None, rule=rule, current=current)
    if request.method == "POST" and form.is_valid():
        keys = [*FIELDS, *(SHORT_FIELDS if rule.side == Side.SHORT else ())]
        payload = _payload(form.cleaned_data, keys)
        for k in ("auto_close_qty", "auto_restore_qty"):
            if payload.get(k) == "":
                payload[k] = None
        response = _submit(
            request, form, target=rule, payload=payload, note=form.cleaned_data["note"]
        )
        if response is not None:
            return response
    return render(
        request,
        "margin/rule_form.html",
        {
            "form": form,
            "rule": rule,
            "describe": describe(rule),
            "title": _("Edit client margin rule #%(n)s") % {"n": rule.pk},
            "pending": approvals.pending_change(RULE_FLOW, handler.target_key(rule)),
            "back_rule": rule.pk,
        },
    )


class InvalidateForm(forms.Form):
    note = forms.CharField(
        label=_("Reason (note for the approver)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


@requires(CHANGE)
def rule_invalidate(request, pk):
    rule = _rule(pk)
    form = InvalidateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        response = _submit(
            request,
            form,
            target=rule,
            payload={"status": ClientMarginRule.Status.INVALID},
            note=form.cleaned_data["note"],
        )
        if response is not None:
            return response
    return render(
        request,
        "margin/rule_invalidate.html",
        {
            "form": form,
            "rule": rule,
            "describe": describe(rule),
            "pending": approvals.pending_change(RULE_FLOW, ClientRuleFlow().target_key(rule)),
        },
    )


urlpatterns = [
    *long_rules.urls(),
    *short_rules.urls(),
    path("client-rules/<int:pk>/", rule_detail, name="client-rule"),
    path("client-rules/<int:pk>/edit/", rule_edit, name="client-rule-edit"),
    path("client-rules/<int:pk>/invalidate/", rule_invalidate, name="client-rule-invalidate"),
    path("client-rules/new/long/", rule_new, {"side": Side.LONG}, name="client-rule-new-long"),
    path("client-rules/new/short/", rule_new, {"side": Side.SHORT}, name="client-rule-new-short"),
    path(
        "client-rules/import/",
        import_upload,
        {"key": "margin.client_rules"},
        name="client-rules-import",
    ),
]
