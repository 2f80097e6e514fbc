"""Margin-call pages: real-time alerts (MC-1) and intraday alerts (MC-3), live while open;
history of ended calls (MC-4); snapshots with their scenario file (MC-5); the exception list
(异常单); and a call's detail with notes and the exception flag."""

import json
from decimal import Decimal

from django.contrib import messages
from django.db.models import OuterRef, Subquery
from django.db.models.fields.json import KT
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django.views.decorators.http import require_POST

from riskdesk.book import selectors as book_selectors
from riskdesk.book.models import Account
from riskdesk.console.listing import Column, Filter, ListPage
from riskdesk.liquidation.pages import call_liquidation_context
from riskdesk.margincall import services
from riskdesk.margincall.models import MarginCall, MarginCallEvent, MarginCallSnapshot
from riskdesk.margincall.services import hours_between
from riskdesk.notices.pages import call_notice_context
from riskdesk.users.permissions import requires

VIEW = "margincall.view_margincall"
ANNOTATE = "margincall.annotate_margincall"
LIVE_SECONDS = 5

ALERTS = dict(MarginCall.Alert.choices)
STATUSES = dict(MarginCall.Status.choices)
REASONS = dict(MarginCallSnapshot.Reason.choices)
YES_NO = {True: _("Yes"), False: ""}


def _hours_open(row):
    return hours_between(row["triggered_at"]) if row.get("triggered_at") else None


def _hours_ended(row):
    start, end = row.get("triggered_at"), row.get("ended_at")
    return hours_between(start, end) if start and end else None


def summary(qs) -> list:
    """合计追保金额 and 长期未结清追保金额 of the rows the page's filters select."""
    totals = services.open_calls_summary(qs)
    return [
        (_("Total call amount"), totals["call_amount"], "total-call-amount"),
        (_("Call amount open more than 90 days"), totals["long_call_amount"], "long-call-amount"),
    ]


def _alert_columns(with_status: bool = False) -> list[Column]:
    cols = [
        Column("account__number", _("Account"), sortable=False, link=("margincall:call", "pk")),
        Column("account__client__code", _("Client code")),
        Column("account__client__name", _("Client name")),
        Column("alert", _("Alert type"), choices=ALERTS),
    ]
    if with_status:
        cols.append(Column("status", _("Status"), choices=STATUSES))
    return [
        *cols,
        Column("triggered_at", _("Triggered"), kind="datetime", sortable=True),
        Column("deadline", _("Deadline"), kind="date", sortable=True),
        Column("updated_at", _("Triggered duration (h)"), kind="quantity", derive=_hours_open),
        Column("nar", _("Net asset ratio"), kind="rate", sortable=True),
        Column("lna", _("Liquid net assets"), kind="amount", sortable=True),
        Column("equity", _("Equity"), kind="amount", sortable=True),
        Column("call_amount", _("Call amount"), kind="amount", sortable=True),
        Column("req_im", _("IM requirement"), kind="amount"),
        Column("req_mm", _("MM requirement"), kind="amount"),
        Column("req_fm", _("FM requirement"), kind="amount"),
        Column("loan", _("Loan"), kind="amount", sortable=True),
        Column("credit_limit", _("Credit"), kind="amount"),
        Column("trading_credit", _("Trading credit"), kind="amount"),
        Column("cash", _("Cash"), kind="amount"),
        Column("market_value", _("Market value"), kind="amount"),
        Column("exception", _("Exception"), kind="bool", choices=YES_NO),
    ]


def call_account_filters() -> list[Filter]:
    """Account, client and account type of a call's account (history, bad credit)."""
    return [
        Filter("account", _("Account"), "prefix", lookup="account__number"),
        Filter("client", _("Client code"), "prefix", lookup="account__client__code"),
        Filter(
            "type",
            _("Account type"),
            "choice",
            lookup="account__type",
            choices=(
                (Account.Type.MARGIN, _("Margin")),
                (Account.Type.INTRADAY, _("Intraday margin")),
            ),
        ),
    ]


def _alert_filters() -> list[Filter]:
    return [
        Filter("alert", _("Alert type"), "choice", choices=tuple(MarginCall.Alert.choices)),
        Filter("account", _("Account"), "prefix", lookup="account__number"),
        Filter("client", _("Client code"), "prefix", lookup="account__client__code"),
        Filter("amount_min", _("Call amount from"), "min", lookup="call_amount"),
        Filter("amount_max", _("Call amount to"), "max", lookup="call_amount"),
        Filter("deadline_from", _("Deadline from"), "day_from", lookup="deadline"),
        Filter("deadline_to", _("Deadline to"), "day_to", lookup="deadline"),
        Filter("exception", _("Exception"), "choice", choices=(("1", _("Yes")), ("0", _("No")))),
    ]


def _open_calls(account_type: str):
    def queryset():
        return MarginCall.objects.filter(status=MarginCall.Status.OPEN, account__type=account_type)

    return queryset


def _live_page(name, title, feature, account_type) -> ListPage:
    return ListPage(
        name=name,
        title=title,
        feature=feature,
        permission=VIEW,
        queryset=_open_calls(account_type),
        columns=_alert_columns(),
        filters=_alert_filters(),
        default_sort="-triggered_at",
        live_seconds=LIVE_SECONDS,
        changed_key="updated_at",
        created_key="triggered_at",
        summary=summary,
        bulk_action=(_("Send notice to selected"), "notices:bulk-send", "notices.send_message"),
        actions=[(_("Batch liquidation"), "liquidation:batch", "liquidation.liquidate")],
    )


alerts = _live_page("alerts", _("Real-time alerts"), "MC-1", "margin")
intraday = _live_page("intraday", _("Intraday real-time alerts"), "MC-3", "intraday")

exceptions = ListPage(
    name="exceptions",
    title=_("Exception list"),
    feature="MC-1",
    permission=VIEW,
    queryset=lambda: MarginCall.objects.filter(exception=True),
    columns=[*_alert_columns(with_status=True)[:-1], Column("note", _("Note"))],
    filters=[
        Filter("status", _("Status"), "choice", choices=tuple(MarginCall.Status.choices)),
        *_alert_filters()[:-1],
    ],
    default_sort="-triggered_at",
    summary=summary,
)


def _event_figure(kind: str, side: str, key: str):
    return Subquery(
        MarginCallEvent.objects.filter(call=OuterRef("pk"), kind=kind)
        .order_by("id" if kind == MarginCallEvent.Kind.OPEN else "-id")
        .annotate(figure=KT(f"{side}__{key}"))
        .values("figure")[:1]
    )


def _ended_calls():
    open_, end = MarginCallEvent.Kind.OPEN, MarginCallEvent.Kind.END
    return MarginCall.objects.filter(status=MarginCall.Status.ENDED).annotate(
        first_call_amount=_event_figure(open_, "after", "call_amount"),
        first_lna=_event_figure(open_, "after", "lna"),
        last_call_amount=_event_figure(end, "before", "call_amount"),
        last_lna=_event_figure(end, "before", "lna"),
        end_lna=_event_figure(end, "after", "lna"),
    )


def _decimal(key):
    def get(row):
        value = row.get(key)
        try:
            return Decimal(value) if value not in (None, "") else None
        except ArithmeticError:
            return None

    return get


history = ListPage(
    name="history",
    title=_("Margin-call history"),
    feature="MC-4",
    permission=VIEW,
    queryset=_ended_calls,
    columns=[
        Column("account__number", _("Account"), link=("margincall:call", "pk")),
        Column("account__client__code", _("Client code")),
        Column("account__client__name", _("Client name")),
        Column("account__type", _("Account type"), choices=dict(Account.Type.choices)),
        Column("alert", _("Last alert type"), choices=ALERTS),
        Column("triggered_at", _("Triggered"), kind="datetime", sortable=True),
        Column("ended_at", _("Ended"), kind="datetime"),
        Column("deadline", _("Duration (h)"), kind="quantity", derive=_hours_ended),
        Column(
            "first_call_amount",
            _("Call amount when triggered"),
            kind="amount",
            derive=_decimal("first_call_amount"),
        ),
        Column("first_lna", _("LNA when triggered"), kind="amount", derive=_decimal("first_lna")),
        Column(
            "last_call_amount",
            _("Call amount before end"),
            kind="amount",
            derive=_decimal("last_call_amount"),
        ),
        Column("last_lna", _("LNA before end"), kind="amount", derive=_decimal("last_lna")),
        Column("end_lna", _("LNA at end"), kind="amount", derive=_decimal("end_lna")),
        Column("exception", _("Exception"), kind="bool", choices=YES_NO),
    ],
    filters=[
        *call_account_filters(),
        Filter("triggered_from", _("Triggered from"), "date_from", lookup="triggered_at"),
        Filter("triggered_to", _("Triggered to"), "date_to", lookup="triggered_at"),
    ],
    default_sort="-triggered_at",
)

snapshots = ListPage(
    name="snapshots",
    title=_("Margin-call snapshots"),
    feature="MC-5",
    permission=VIEW,
    queryset=lambda: MarginCallSnapshot.objects.all(),
    columns=[
        Column("id", _("Snapshot"), link=("margincall:snapshot", "pk")),
        Column(
            "call_id", pgettext_lazy("margin call", "Call"), link=("margincall:call", "call_id")
        ),
        Column("call__account__number", _("Account")),
        Column("call__account__client__code", _("Client code")),
        Column("reason", _("Reason"), choices=REASONS),
        Column("at", _("Time"), kind="datetime", sortable=True),
    ],
    filters=[
        Filter("reason", _("Reason"), "choice", choices=tuple(MarginCallSnapshot.Reason.choices)),
        Filter("account", _("Account"), "prefix", lookup="call__account__number"),
        Filter("date_from", _("From date"), "date_from", lookup="at"),
        Filter("date_to", _("To date"), "date_to", lookup="at"),
    ],
    default_sort="-at",
)

LIST_PAGES = [alerts, intraday, history, snapshots, exceptions]

FIGURES = [
    ("call_amount", _("Call amount")),
    ("nar", _("Net asset ratio")),
    ("lna", _("Liquid net assets")),
    ("equity", _("Equity")),
    ("req_im", _("IM requirement")),
    ("req_mcm", _("MCM requirement")),
    ("req_mm", _("MM requirement")),
    ("req_fm", _("FM requirement")),
    ("loan", _("Loan")),
    ("credit_limit", _("Credit")),
    ("trading_credit", _("Trading credit")),
    ("cash", _("Cash")),
    ("market_value", _("Market value")),
]
EVENT_KEYS = [
    ("call_amount", _("call amount")),
    ("alert", _("alert type")),
    ("lna", _("LNA")),
    ("note", _("note")),
    ("exception", _("exception")),
    ("deadline", _("deadline")),
    ("auto_liquidate", _("auto liquidation")),
    ("orders", _("orders")),
]


def _shown(key, value):
    return ALERTS.get(value, value) if key == "alert" else value


def _event_rows(call) -> list[dict]:
    rows = []
    for e in call.events.select_related("actor"):
        before, after = e.before or {}, e.after or {}
        changes = [
            (label, _shown(key, before.get(key)), _shown(key, after.get(key)))
            for key, label in EVENT_KEYS
            if key in before or key in after
        ]
        rows.append({"event": e, "changes": changes})
    return rows


@requires(VIEW)
def call_detail(request, pk):
    call = get_object_or_404(MarginCall.objects.select_related("account__client"), pk=pk)
    account = call.account
    panel = None
    if request.user.has_perm("margin.view_stockmargin"):
        from riskdesk.margin.account import account_panel

        found = account_panel(request, account)
        panel = {"template": found[0], "context": found[1]} if found else None
    figures = [
        (key, label, getattr(call, key), "rate" if key == "nar" else "amount")
        for key, label in FIGURES
    ]
    return render(
        request,
        "margincall/call.html",
        {
            "call": call,
            "account": account,
            "view": book_selectors.account_view(account),
            "figures": figures,
            "hours": services.triggered_hours(call),
            "panel": panel,
            "events": _event_rows(call),
            "snapshots": call.snapshots.order_by("-at"),
            "can_annotate": request.user.has_perm(ANNOTATE),
            **call_notice_context(request, call),
            **call_liquidation_context(request, call),
        },
    )


@require_POST
@requires(VIEW, ANNOTATE)
def annotate(request, pk):
    call = get_object_or_404(MarginCall, pk=pk)
    services.annotate(
        call=call,
        user=request.user,
        note=request.POST.get("note", ""),
        exception=request.POST.get("exception") in ("on", "1", "true"),
    )
    messages.success(request, _("Note saved."))
    return redirect("margincall:call", pk=call.pk)


@requires(VIEW)
def snapshot_detail(request, pk):
    snap = get_object_or_404(MarginCallSnapshot.objects.select_related("call__account"), pk=pk)
    figures = snap.figures if isinstance(snap.figures, dict) else {}
    return render(
        request,
        "margincall/snapshot.html",
        {
            "snap": snap,
            "figures": _flatten(figures),
            "scenario_text": json.dumps(snap.scenario, indent=2, ensure_ascii=False),
        },
    )


def _flatten(data: dict, prefix: str = "") -> list[tuple[str, object]]:
    out = []
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.extend(_flatten(value, f"{name}."))
        elif isinstance(value, list):
            out.append((name, json.dumps(value, ensure_ascii=False)))
        else:
            out.append((name, value))
    return out


@requires(VIEW)
def snapshot_download(request, pk):
    snap = get_object_or_404(MarginCallSnapshot, pk=pk)
    body = json.dumps(snap.scenario, indent=2, ensure_ascii=False) + "\n"
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="snapshot-{snap.pk}.json"'
    return response
