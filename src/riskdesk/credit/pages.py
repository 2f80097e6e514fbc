"""Company credit (CR-5): the settings with what the book uses now; edit → approval."""

from django import forms
from django.conf import settings
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext_lazy as _

from riskdesk.approvals import selectors as approvals
from riskdesk.approvals.forms import submit_from_form
from riskdesk.credit.flows import LIMIT_FIELDS, CompanyLimit
from riskdesk.credit.models import CompanyCredit, CompanyCurrencyLimit
from riskdesk.credit.selectors import company_figures
from riskdesk.users.permissions import requires

FLOW = CompanyLimit.key


@requires("credit.view_companycredit")
def company(request):
    return render(
        request,
        "credit/company.html",
        {
            "figures": company_figures(),
            "base_currency": settings.RISKDESK_BASE_CURRENCY,
            "pending": approvals.pending_change(FLOW, "company"),
            "last": approvals.last_request(FLOW, "company"),
            "can_edit": request.user.has_perm(CompanyLimit.submit_permission),
            "history": approvals.history_rows(CompanyCredit, CompanyCurrencyLimit),
        },
    )


class CompanyForm(forms.Form):
    note = forms.CharField(
        label=_("Note for the approver"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, values: dict, labels: dict, **kwargs):
        super().__init__(*args, **kwargs)
        for key, value in values.items():
            self.fields[key] = forms.DecimalField(
                label=labels.get(key, key),
                initial=value,
                min_value=0,
                decimal_places=2,
                max_digits=20,
            )
        self.order_fields([*values, "note"])


@requires(CompanyLimit.submit_permission)
def company_edit(request):
    handler = CompanyLimit()
    target = CompanyCredit.objects.get(pk=1)
    values = handler.snapshot(target)
    form = CompanyForm(request.POST or None, values=values, labels=handler.field_labels)
    if request.method == "POST" and form.is_valid():
        payload = {k: str(v) for k, v in form.cleaned_data.items() if k != "note"}
        response = submit_from_form(
            request, form, flow=FLOW, target=target, payload=payload, note=form.cleaned_data["note"]
        )
        if response is not None:
            return response
    return render(
        request,
        "credit/company_edit.html",
        {
            "form": form,
            "pending": approvals.pending_change(FLOW, "company"),
            "fields": LIMIT_FIELDS,
        },
    )


app_name = "credit"
urlpatterns = [
    path("company/", company, name="company"),
    path("company/edit/", company_edit, name="company-edit"),
]
