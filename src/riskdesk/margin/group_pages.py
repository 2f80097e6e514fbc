"""Group pages: stock groups (PL-12) here, and the shared ``GroupPages`` that client groups
(LS-2, ``riskdesk.lists.pages``) reuse.

A list on the shared list page; a group with its members (add one, remove one, paste or
upload many), the active client margin rules that use it, its pending change and its change
records; new / edit / delete forms. Every change is a request of the group's flow.
"""

from dataclasses import dataclass, field

from django import forms
from django.contrib import messages
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from riskdesk.approvals import selectors as approvals
from riskdesk.approvals.forms import try_submit
from riskdesk.console.listing import Column, Filter, ListPage
from riskdesk.console.pages import import_upload
from riskdesk.margin import rule_imports  # noqa: F401  (registers the member imports)
from riskdesk.margin.group_flows import GroupFlow, StockGroupFlow, split_codes
from riskdesk.margin.models import ClientMarginRule
from riskdesk.users.permissions import requires

ACTIVE = ClientMarginRule.Status.ACTIVE


@dataclass
class GroupPages:
    """Pages of one kind of group; ``urls()`` gives the list, export, detail and forms."""

    flow: GroupFlow
    namespace: str  # "margin"
    plural: str  # url name of the list, e.g. "stock-groups"
    singular: str  # url-name stem, e.g. "stock-group"
    feature: str
    title: str
    view_permission: str
    import_key: str
    rules_related: str  # the group's reverse name for ClientMarginRule
    member_label: str
    member_help: str
    extra_columns: list[Column] = field(default_factory=list)
    extra_filters: list[Filter] = field(default_factory=list)
    member_filter: str = ""  # ORM path of a member's code, for the "member" filter

    def __post_init__(self):
        model = self.flow.group_model
        related = self.rules_related
        self.list_page = ListPage(
            name=self.plural,
            title=self.title,
            feature=self.feature,
            permission=self.view_permission,
            queryset=lambda: model.objects.annotate(
                member_count=Count("members", distinct=True),
                rule_count=Count(
                    related, filter=Q(**{f"{related}__status": ACTIVE}), distinct=True
                ),
            ),
            default_sort="name",
            columns=[
                Column("name", _("Group name"), sortable=True, link=(self.url("detail"), "pk")),
                *self.extra_columns,
                Column("note", _("Note")),
                Column("member_count", _("Members"), kind="quantity"),
                Column("rule_count", _("Active client margin rules"), kind="quantity"),
            ],
            filters=[
                Filter("name", _("Group name"), "contains"),
                *self.extra_filters,
                Filter("member", self.member_label, "exact", lookup=self.member_filter),
            ],
            actions=[
                (_("New"), self.url("new"), self.flow.submit_permission),
                (_("Batch import members"), self.url("import"), self.flow.submit_permission),
            ],
        )

    # --- names ---------------------------------------------------------------------------------

    def url(self, what: str) -> str:
        names = {
            "list": self.plural,
            "detail": self.singular,
            "new": f"{self.singular}-new",
            "edit": f"{self.singular}-edit",
            "delete": f"{self.singular}-delete",
            "add": f"{self.singular}-member-add",
            "remove": f"{self.singular}-member-remove",
            "batch": f"{self.singular}-members",
            "import": f"{self.plural}-import",
        }
        return f"{self.namespace}:{names[what]}"

    def context(self, **extra) -> dict:
        return {
            "kind": self,
            "urls": {
                k: self.url(k)
                for k in (
                    "list",
                    "detail",
                    "new",
                    "edit",
                    "delete",
                    "add",
                    "remove",
                    "batch",
                    "import",
                )
            },
            "import_key": self.import_key,
            **extra,
        }

    # --- submission ----------------------------------------------------------------------------

    def submit(self, request, *, target, payload: dict, note: str = "", form=None):
        """Submit; returns the request, or None with the refusal on the form (or as a message)."""
        return try_submit(
            request,
            flow=self.flow.key,
            target=target,
            payload=payload,
            note=note,
            on_refusal=lambda field, errors: self._refused(request, form, field, errors),
        )

    @staticmethod
    def _refused(request, form, name, errors) -> None:
        if form is not None:
            if name in form.fields:
                form.add_error(name, errors)
            else:
                form.add_error(None, [f"{name}: {e}" if name else e for e in errors])
        else:
            for e in errors:
                messages.error(request, f"{name}: {e}" if name else e)

    # --- views ---------------------------------------------------------------------------------

    def _group(self, pk):
        return get_object_or_404(self.flow.group_model, pk=pk)

    def detail(self, request, pk):
        group = self._group(pk)
        member_model = self.flow.member_model
        members = (
            member_model.objects.filter(group=group)
            .select_related(self.flow.member_field)
            .order_by(f"{self.flow.member_field}__code")
        )
        rules = self.flow.active_rules(group).select_related(
            "client", "client_group", "instrument", "stock_group"
        )
        return render(
            request,
            "margin/group_detail.html",
            self.context(
                group=group,
                members=[getattr(m, self.flow.member_field) for m in members],
                rules=rules,
                pending=approvals.pending_change(self.flow.key, self.flow.target_key(group)),
                can_edit=request.user.has_perm(self.flow.submit_permission),
                history=approvals.history_rows(
                    group, member_model.history.filter(group_id=group.pk)
                ),
                member_form=MemberForm(label=self.member_label),
            ),
        )

    def new(self, request):
        form = self.group_form(request.POST or None, with_members=True)
        if request.method == "POST" and form.is_valid():
            payload = self.payload(form.cleaned_data)
            payload["members"] = split_codes(form.cleaned_data.get("members") or "")
            change = self.submit(
                request,
                target=None,
                payload=payload,
                note=form.cleaned_data["note_for_approver"],
                form=form,
            )
            if change is not None:
                return redirect("approvals:detail", pk=change.pk)
        return render(
            request,
            "margin/group_form.html",
            self.context(
                form=form, title=_("New %(kind)s") % {"kind": str(self.flow.title).lower()}
            ),
        )

    def edit(self, request, pk):
        group = self._group(pk)
        current = self.flow.snapshot(group)
        form = self.group_form(request.POST or None, initial=current, with_members=False)
        if request.method == "POST" and form.is_valid():
            change = self.submit(
                request,
                target=group,
                payload=self.payload(form.cleaned_data),
                note=form.cleaned_data["note_for_approver"],
                form=form,
            )
            if change is not None:
                return redirect("approvals:detail", pk=change.pk)
        return render(
            request,
            "margin/group_form.html",
            self.context(
                form=form,
                group=group,
                title=_("Edit %(kind)s %(name)s")
                % {"kind": str(self.flow.title).lower(), "name": group.name},
                pending=approvals.pending_change(self.flow.key, self.flow.target_key(group)),
            ),
        )

    def delete(self, request, pk):
        group = self._group(pk)
        change = self.submit(
            request, target=group, payload={"delete": True}, note=request.POST.get("note", "")
        )
        if change is not None:
            return redirect("approvals:detail", pk=change.pk)
        return redirect(self.url("detail"), pk=group.pk)

    def member_add(self, request, pk):
        group = self._group(pk)
        code = (request.POST.get("code") or "").strip()
        if not code:
            messages.error(request, _("Give a code to add."))
            return redirect(self.url("detail"), pk=group.pk)
        current = self.flow.member_codes(group)
        change = self.submit(
            request,
            target=group,
            payload={"members": [*current, code]},
            note=request.POST.get("note", ""),
        )
        if change is not None:
            return redirect("approvals:detail", pk=change.pk)
        return redirect(self.url("detail"), pk=group.pk)

    def member_remove(self, request, pk):
        group = self._group(pk)
        code = request.POST.get("code") or ""
        current = self.flow.member_codes(group)
        change = self.submit(
            request,
            target=group,
            payload={"members": [c for c in current if c != code]},
            note=request.POST.get("note", ""),
        )
        if change is not None:
            return redirect("approvals:detail", pk=change.pk)
        return redirect(self.url("detail"), pk=group.pk)

    def members_batch(self, request, pk):
        """Paste many codes (one per line, or separated by commas): ONE request adding them all."""
        group = self._group(pk)
        form = BatchMembersForm(
            request.POST or None, label=self.member_label, help_text=self.member_help
        )
        if request.method == "POST" and form.is_valid():
            pasted = split_codes(form.cleaned_data["codes"])
            current = self.flow.member_codes(group)
            members = current + [c for c in pasted if c not in current]
            if form.cleaned_data["replace"]:
                members = pasted
            change = self.submit(
                request,
                target=group,
                payload={"members": members},
                note=form.cleaned_data["note"],
                form=form,
            )
            if change is not None:
                return redirect("approvals:detail", pk=change.pk)
        return render(
            request,
            "margin/group_members.html",
            self.context(
                form=form,
                group=group,
                pending=approvals.pending_change(self.flow.key, self.flow.target_key(group)),
            ),
        )

    # --- forms ---------------------------------------------------------------------------------

    def group_form(self, data, *, initial=None, with_members: bool):
        return GroupForm(
            data,
            initial=initial,
            flow=self.flow,
            with_members=with_members,
            member_label=self.member_label,
            member_help=self.member_help,
        )

    def payload(self, data: dict) -> dict:
        return {k: data[k] for k in ("name", "note", *self.flow.extra_fields)}

    def urls(self) -> list:
        change = self.flow.submit_permission
        view = self.view_permission
        names = {
            k: self.url(k).split(":", 1)[1]
            for k in ("detail", "new", "edit", "delete", "add", "remove", "batch", "import")
        }
        base = self.plural
        return [
            *self.list_page.urls(),
            path(f"{base}/new/", requires(change)(self.new), name=names["new"]),
            path(
                f"{base}/import/",
                requires(change)(import_upload),
                {"key": self.import_key},
                name=names["import"],
            ),
            path(f"{base}/<int:pk>/", requires(view)(self.detail), name=names["detail"]),
            path(f"{base}/<int:pk>/edit/", requires(change)(self.edit), name=names["edit"]),
            path(
                f"{base}/<int:pk>/delete/",
                require_POST(requires(change)(self.delete)),
                name=names["delete"],
            ),
            path(
                f"{base}/<int:pk>/members/add/",
                require_POST(requires(change)(self.member_add)),
                name=names["add"],
            ),
            path(
                f"{base}/<int:pk>/members/remove/",
                require_POST(requires(change)(self.member_remove)),
                name=names["remove"],
            ),
            path(
                f"{base}/<int:pk>/members/batch/",
                requires(change)(self.members_batch),
                name=names["batch"],
            ),
        ]


class GroupForm(forms.Form):
    name = forms.CharField(label=_("Group name"), max_length=100)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def __init__(
        self, *args, flow: GroupFlow, with_members: bool, member_label, member_help, **kwargs
    ):
        super().__init__(*args, **kwargs)
        if "business_type" in flow.extra_fields:
            model = flow.group_model
            self.fields["business_type"] = forms.ChoiceField(
                label=_("Business type"),
                choices=model.BusinessType.choices,
                help_text=_("Only margin groups can be used in client margin rules (MR-5)."),
            )
            self.order_fields(["business_type", "name", "note"])
        if with_members:
            self.fields["members"] = forms.CharField(
                label=member_label,
                required=False,
                widget=forms.Textarea(attrs={"rows": 4}),
                help_text=member_help,
            )
        self.fields["note_for_approver"] = forms.CharField(
            label=_("Note for the approver"),
            required=False,
            widget=forms.Textarea(attrs={"rows": 2}),
        )


class MemberForm(forms.Form):
    def __init__(self, *args, label, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"] = forms.CharField(label=label)


class BatchMembersForm(forms.Form):
    codes = forms.CharField(widget=forms.Textarea(attrs={"rows": 10, "cols": 40}))
    replace = forms.BooleanField(
        label=_("Replace the members with this list (otherwise add to them)"), required=False
    )
    note = forms.CharField(
        label=_("Note for the approver"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, label, help_text, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["codes"].label = label
        self.fields["codes"].help_text = help_text


stock_groups = GroupPages(
    flow=StockGroupFlow(),
    namespace="margin",
    plural="stock-groups",
    singular="stock-group",
    feature="PL-12",
    title=_("Stock groups"),
    view_permission="margin.view_stockgroup",
    import_key="margin.stock_group_members",
    rules_related="client_margin_rules",
    member_label=_("Stocks"),
    member_help=_("Stock codes, one per line or separated by commas, e.g. 700.HK, AAPL.US"),
    member_filter="members__instrument__code",
)


urlpatterns = stock_groups.urls()
