"""Trading-day calendar pages (PL-8): the days of each market on the shared list page, a day
with its pending change and change records, and the edit form that submits for approval."""

from django import forms
from django.db.models.functions import ExtractIsoWeekDay
from django.shortcuts import get_object_or_404, render
from django.urls import path
from django.utils.translation import gettext_lazy as _

from riskdesk.approvals import selectors as approvals
from riskdesk.approvals.forms import submit_from_form
from riskdesk.calendars import selectors
from riskdesk.calendars.flows import TradingDayChange
from riskdesk.calendars.models import TradingDay
from riskdesk.console.listing import Column, Filter, ListPage
from riskdesk.users.permissions import requires

FLOW = TradingDayChange.key
VIEW = "calendars.view_tradingday"
MARKETS = dict(TradingDay.Market.choices)
STATUSES = dict(TradingDay.Status.choices)
SOURCES = dict(TradingDay.Source.choices)
WEEKDAYS = {
    1: _("Mon"),
    2: _("Tue"),
    3: _("Wed"),
    4: _("Thu"),
    5: _("Fri"),
    6: _("Sat"),
    7: _("Sun"),
}


days = ListPage(
    name="days",
    title=_("Trading-day calendar"),
    feature="PL-8",
    permission=VIEW,
    queryset=lambda: TradingDay.objects.annotate(weekday=ExtractIsoWeekDay("date")),
    default_sort="date",
    columns=[
        Column("market", _("Market"), choices=MARKETS),
        Column("date", _("Date"), kind="date", sortable=True, link=("calendars:day", "pk")),
        Column("weekday", _("Weekday"), choices=WEEKDAYS),
        Column("status", _("Status"), choices=STATUSES),
        Column("open_time", _("Opens"), kind="time"),
        Column("close_time", _("Closes"), kind="time"),
        Column("source", _("Source"), choices=SOURCES),
        Column("note", _("Note")),
    ],
    filters=[
        Filter("market", _("Market"), "choice", choices=tuple(TradingDay.Market.choices)),
        Filter("status", _("Status"), "choice", choices=tuple(TradingDay.Status.choices)),
        Filter("date_from", _("From date"), "day_from", lookup="date"),
        Filter("date_to", _("To date"), "day_to", lookup="date"),
        Filter("source", _("Source"), "choice", choices=tuple(TradingDay.Source.choices)),
    ],
)


@requires(VIEW)
def day(request, pk):
    row = get_object_or_404(TradingDay, pk=pk)
    key = TradingDayChange().target_key(row)
    try:
        following = selectors.next_trading_day(row.market, row.date, 1)
    except selectors.CalendarError:
        following = None
    return render(
        request,
        "calendars/day.html",
        {
            "day": row,
            "weekday": WEEKDAYS[row.date.isoweekday()],
            "next_trading_day": following,
            "pending": approvals.pending_change(FLOW, key),
            "last": approvals.last_request(FLOW, key),
            "can_edit": request.user.has_perm(TradingDayChange.submit_permission),
            "history": approvals.history_rows(row),
        },
    )


class DayForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=TradingDay.Status.choices)
    open_time = forms.TimeField(
        label=_("Opens"), required=False, help_text=_("HH:MM, local exchange time")
    )
    close_time = forms.TimeField(
        label=_("Closes"), required=False, help_text=_("HH:MM, local exchange time")
    )
    # Required by the flow, which names the field when it is missing (one rule, one place).
    note = forms.CharField(
        label=_("Reason (note)"),
        required=False,
        max_length=200,
        help_text=_(
            "Why the day changes, e.g. Typhoon signal No. 8 hoisted. Shown on the day and to the approver."
        ),
    )


@requires(TradingDayChange.submit_permission)
def day_edit(request, pk):
    target = get_object_or_404(TradingDay, pk=pk)
    handler = TradingDayChange()
    key = handler.target_key(target)
    current = handler.snapshot(target)
    form = DayForm(request.POST or None, initial={**current, "note": ""})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        payload = {
            "status": data["status"],
            "open_time": data["open_time"].strftime("%H:%M") if data["open_time"] else None,
            "close_time": data["close_time"].strftime("%H:%M") if data["close_time"] else None,
            "note": data["note"],
        }
        response = submit_from_form(
            request, form, flow=FLOW, target=target, payload=payload, note=data["note"]
        )
        if response is not None:
            return response
    return render(
        request,
        "calendars/day_edit.html",
        {
            "day": target,
            "form": form,
            "current": current,
            "pending": approvals.pending_change(FLOW, key),
        },
    )


app_name = "calendars"
urlpatterns = [
    *days.urls(),
    path("days/<int:pk>/", day, name="day"),
    path("days/<int:pk>/edit/", day_edit, name="day-edit"),
]
