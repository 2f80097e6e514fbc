"""Short margin pages (MR-4): the list on the shared list page, a stock's ratio with its status,
why, pending change and change records, the new/edit form that submits for approval, the batch
import, and the change records (变更记录) of every short margin."""

from django import forms
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from riskdesk.approvals import selectors as approvals
from riskdesk.approvals.forms import submit_from_form
from riskdesk.book.models import Instrument
from riskdesk.console.listing import Column, Filter, ListPage
from riskdesk.console.pages import import_upload
from riskdesk.margin import short_imports
from riskdesk.margin.models import Shortable, ShortMargin
from riskdesk.margin.short_flows import FLOW, ShortChange, field_labels, snapshot_of, target_key_of
from riskdesk.users.permissions import requires

VIEW = "margin.view_shortmargin"
CHANGE = ShortChange.submit_permission
MARKETS = dict(Instrument.Market.choices)
STATUSES = dict(Shortable.choices)
IMPORT_KEY = short_imports.ShortMarginImport.key

short = ListPage(
    name="short",
    title=_("Short margin"),
    feature="MR-4",
    permission=VIEW,
    queryset=lambda: Instrument.objects.filter(short_margin__isnull=False),
    default_sort="code",
    columns=[
        Column("code", _("Code"), sortable=True, link=("margin:short-detail", "pk")),
        Column("name", _("Name")),
        Column("market", _("Market"), choices=MARKETS),
        Column("short_margin__im", _("IM"), kind="rate"),
        Column("short_margin__mcm", _("MCM"), kind="rate"),
        Column("short_margin__mm", _("MM"), kind="rate"),
        Column("short_margin__fm", _("FM"), kind="rate"),
        Column("short_margin__shortable", _("Shortable"), choices=STATUSES),
        Column("short_margin__pool_qty", _("Lending pool"), kind="quantity"),
        Column("short_margin__auto_close_qty", _("Auto-close quantity"), kind="quantity"),
        Column("short_margin__auto_restore_qty", _("Auto-restore quantity"), kind="quantity"),
        Column("short_margin__status_reason", _("Why")),
    ],
    filters=[
        Filter("market", _("Market"), "choice", choices=tuple(Instrument.Market.choices)),
        Filter("code", _("Code"), "prefix"),
        Filter(
            "shortable",
            _("Shortable"),
            "choice",
            lookup="short_margin__shortable",
            choices=tuple(Shortable.choices),
        ),
        Filter("im_min", _("IM from"), "min", lookup="short_margin__im"),
        Filter("im_max", _("IM to"), "max", lookup="short_margin__im"),
        Filter("mm_min", _("MM from"), "min", lookup="short_margin__mm"),
        Filter("mm_max", _("MM to"), "max", lookup="short_margin__mm"),
    ],
    actions=[
        (_("New"), "margin:short-new", CHANGE),
        (_("Batch import"), "margin:short-import", CHANGE),
        (_("Change records"), "margin:short-history", None),
    ],
)


@requires(VIEW)
def short_detail(request, pk):
    instrument = get_object_or_404(Instrument, pk=pk)
    row = ShortMargin.objects.filter(instrument=instrument).first()
    key = target_key_of(instrument.code)
    pending = short_imports.pending_for(instrument.code)
    return render(
        request,
        "margin/short_detail.html",
        {
            "instrument": instrument,
            "row": row,
            "pending": pending,
            "last": approvals.last_request(FLOW, key),
            "can_edit": request.user.has_perm(CHANGE),
            "history": approvals.history_rows(ShortMargin.history.filter(instrument_id=pk)),
        },
    )


@requires(VIEW)
def short_history(request):
    code = (request.GET.get("code") or "").strip()
    source = ShortMargin.history.all()
    if code:
        source = source.filter(instrument__code__istartswith=code)
    return render(
        request,
        "margin/short_history.html",
        {"history": approvals.history_rows(source, limit=500), "code": code},
    )


class ShortForm(forms.Form):
    code = forms.CharField(label=_("Stock code"), max_length=40, help_text=_("e.g. 700.HK"))
    im = forms.DecimalField(label=_("Initial margin (IM)"), max_digits=5, decimal_places=4)
    mcm = forms.DecimalField(label=_("Margin-call margin (MCM)"), max_digits=5, decimal_places=4)
    mm = forms.DecimalField(label=_("Maintenance margin (MM)"), max_digits=5, decimal_places=4)
    fm = forms.DecimalField(label=_("Force-close margin (FM)"), max_digits=5, decimal_places=4)
    shortable = forms.ChoiceField(label=_("Shortable"))
    auto_close_qty = forms.IntegerField(
        label=_("Auto-close quantity"),
        required=False,
        min_value=0,
        help_text=_(
            "Lending pool at or below which the system forbids short selling; empty: no rule"
        ),
    )
    auto_restore_qty = forms.IntegerField(
        label=_("Auto-restore quantity"),
        required=False,
        min_value=0,
        help_text=_(
            "Lending pool at or above which short selling is allowed again; ≥ the auto-close quantity"
        ),
    )
    note = forms.CharField(
        label=_("Note for the approver"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, row: ShortMargin | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(v, STATUSES[v]) for v in (Shortable.ALLOWED, Shortable.FORBIDDEN)]
        if row is not None:
            del self.fields["code"]
            if row.shortable == Shortable.SYSTEM_FORBIDDEN:
                # Keep the system's status unless the officer lifts or confirms it by hand.
                choices.insert(
                    0, (Shortable.SYSTEM_FORBIDDEN.value, _("Keep: forbidden by the system"))
                )
        self.fields["shortable"].choices = choices

    def payload(self) -> dict:
        data = self.cleaned_data
        payload = {k: v for k, v in data.items() if k != "note"}
        for f in ("im", "mcm", "mm", "fm"):
            payload[f] = str(payload[f])
        return payload


def _submit_form(request, form, target):
    return submit_from_form(
        request,
        form,
        flow=FLOW,
        target=target,
        payload=form.payload(),
        note=form.cleaned_data["note"],
    )


@requires(CHANGE)
def short_new(request):
    code = (request.GET.get("code") or "").strip()
    existing = ShortMargin.objects.filter(instrument__code=code).first() if code else None
    if existing is not None:
        return redirect("margin:short-edit", pk=existing.instrument_id)
    form = ShortForm(request.POST or None, initial={"code": code, "shortable": Shortable.ALLOWED})
    if request.method == "POST" and form.is_valid():
        done = _submit_form(request, form, None)
        if done is not None:
            return done
    return render(
        request, "margin/short_edit.html", {"form": form, "instrument": None, "row": None}
    )


@requires(CHANGE)
def short_edit(request, pk):
    instrument = get_object_or_404(Instrument, pk=pk)
    row = ShortMargin.objects.filter(instrument=instrument).first()
    if row is None:
        return redirect(f"{reverse('margin:short-new')}?code={instrument.code}")
    current = snapshot_of(row)
    form = ShortForm(request.POST or None, row=row, initial=current)
    if request.method == "POST" and form.is_valid():
        done = _submit_form(request, form, row)
        if done is not None:
            return done
    return render(
        request,
        "margin/short_edit.html",
        {
            "form": form,
            "instrument": instrument,
            "row": row,
            "labels": field_labels(),
            "pending": short_imports.pending_for(instrument.code),
        },
    )


urlpatterns = [
    *short.urls(),
    path("short/new/", short_new, name="short-new"),
    path("short/import/", import_upload, {"key": IMPORT_KEY}, name="short-import"),
    path("short/history/", short_history, name="short-history"),
    path("short/<int:pk>/", short_detail, name="short-detail"),
    path("short/<int:pk>/edit/", short_edit, name="short-edit"),
]
