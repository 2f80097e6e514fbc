"""Stock margin pages: long ratios (MR-1), intraday ratios and their session rules (MR-2), and
the setting records (MR-3).

Lists are the console's ``ListPage``; every change is a request (approval centre), and an
approved ratio change waits as a setting record until 同步 or its effective date.
"""

from datetime import datetime, timedelta

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Case, CharField, Count, OuterRef, Subquery, Value, When
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce, Concat
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import format_lazy
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from riskdesk.approvals import selectors as approvals
from riskdesk.approvals.forms import submit_from_form
from riskdesk.book.models import Instrument
from riskdesk.calendars.models import TradingDay
from riskdesk.calendars.selectors import CalendarError, session
from riskdesk.console.listing import Column, Filter, ListPage
from riskdesk.console.pages import import_upload
from riskdesk.margin import (
    settings_records,
    stock_imports,  # noqa: F401  (registers the ratio imports)
)
from riskdesk.margin.factors import FIELDS
from riskdesk.margin.intraday import MARKET_ZONES, intraday_active
from riskdesk.margin.models import IntradayRule, MarginSetting
from riskdesk.margin.resolution import EXCLUDED
from riskdesk.margin.stock_flows import (
    BOOKS,
    INTRADAY,
    LONG,
    RULE_MARKETS,
    IntradayRuleChange,
    RatioBook,
    instrument_by_code,
)
from riskdesk.users.permissions import requires

SYNC = settings_records.SYNC_PERMISSION
MARKETS = dict(Instrument.Market.choices)
STATUSES = dict(Instrument.Status.choices)
SETTING_STATUSES = dict(MarginSetting.Status.choices)
SETTING_BOOKS = dict(MarginSetting.Book.choices)
SETTING_ACTIONS = dict(MarginSetting.Action.choices)
RULE_FLOW = IntradayRuleChange.key
VIEW = {LONG.key: "margin.view_stockmargin", INTRADAY.key: "margin.view_intradaymargin"}
URL_PREFIX = {LONG.key: "stock", INTRADAY.key: "intraday"}
STATUS_SESSION_KEY = "margin.stock_status_pull"


def _relation(book: RatioBook) -> str:
    """The instrument's accessor of this book's ratio: ``stock_margin`` / ``intraday_margin``."""
    return book.model._meta.get_field("instrument").remote_field.related_name


def _pending_count(book: RatioBook):
    pending = (
        MarginSetting.objects.filter(
            instrument=OuterRef("pk"), book=book.key, status=MarginSetting.Status.PENDING
        )
        .order_by()
        .values("instrument")
        .annotate(n=Count("id"))
        .values("n")[:1]
    )
    return Coalesce(Subquery(pending), 0)


def _active_markets(now=None) -> dict[str, bool]:
    now = now or timezone.now()
    rules = {r.market: r for r in IntradayRule.objects.all()}
    return {m: intraday_active(m, now, rules.get(m)) for m in MARKET_ZONES}


def _ratio_rows(book: RatioBook):
    def queryset():
        rel = _relation(book)
        qs = Instrument.objects.filter(**{f"{rel}__isnull": False}).annotate(
            pending=_pending_count(book)
        )
        if book is INTRADAY:
            active = [m for m, on in _active_markets().items() if on]
            qs = qs.annotate(
                state=Case(
                    When(market__in=active, then=Value("active")),
                    default=Value("inactive"),
                    output_field=CharField(),
                )
            )
        return qs

    return queryset


def _ratio_list(book: RatioBook, feature: str, extra_actions: list) -> ListPage:
    rel = _relation(book)
    prefix = URL_PREFIX[book.key]
    columns = [
        Column("code", _("Code"), sortable=True, link=(book.detail_url, "pk")),
        Column("name", _("Name")),
        Column("market", _("Market"), choices=MARKETS),
        Column("status", _("Stock status"), choices=STATUSES),
        Column(f"{rel}__im", _("IM"), kind="rate", sortable=True),
        Column(f"{rel}__mcm", _("MCM"), kind="rate"),
        Column(f"{rel}__mm", _("MM"), kind="rate", sortable=True),
        Column(f"{rel}__fm", _("FM"), kind="rate"),
        Column("pending", _("Pending setting records"), kind="quantity"),
    ]
    filters = [
        Filter("market", _("Market"), "choice", choices=tuple(Instrument.Market.choices)),
        Filter("code", _("Code"), "prefix"),
        Filter("status", _("Stock status"), "choice", choices=tuple(Instrument.Status.choices)),
        Filter("im_min", _("IM from"), "min", lookup=f"{rel}__im"),
        Filter("im_max", _("IM to"), "max", lookup=f"{rel}__im"),
        Filter("mm_min", _("MM from"), "min", lookup=f"{rel}__mm"),
        Filter("mm_max", _("MM to"), "max", lookup=f"{rel}__mm"),
    ]
    if book is INTRADAY:
        states = (
            ("active", pgettext_lazy("intraday ratio", "Active")),
            ("inactive", _("Inactive (100%)")),
        )
        columns.insert(4, Column("state", _("Status now"), choices=dict(states)))
        filters.append(Filter("state", _("Status now"), "choice", choices=states))
    return ListPage(
        name=prefix,
        title=book.title,
        feature=feature,
        permission=VIEW[book.key],
        queryset=_ratio_rows(book),
        default_sort="code",
        columns=columns,
        filters=filters,
        actions=[
            (_("New"), f"margin:{prefix}-new", book.permission),
            (_("Batch import"), f"margin:{prefix}-import", book.permission),
            *extra_actions,
        ],
    )


stock_list = _ratio_list(
    LONG,
    format_lazy("MR-1 · {}", _("a stock without a ratio is not marginable (100%)")),
    [(_("Pull stock status"), "margin:stock-pull-status", None)],
)
intraday_list = _ratio_list(
    INTRADAY,
    format_lazy("MR-2 · {}", _("inactive outside the session rule means 100%")),
    [(_("Rules"), "margin:intraday-rules", None)],
)


# --- one stock ------------------------------------------------------------------------------


def _detail(request, pk, book: RatioBook):
    if not request.user.has_perm(VIEW[book.key]):
        raise PermissionDenied
    instrument = get_object_or_404(Instrument, pk=pk)
    row = book.model.objects.filter(instrument=instrument).first()
    history = approvals.history_rows(book.model.history.filter(instrument_id=instrument.pk))
    context = {
        "book": book,
        "prefix": URL_PREFIX[book.key],
        "instrument": instrument,
        "ratio": row,
        "excluded": instrument.status in EXCLUDED,
        "pending": approvals.pending_change(book.flow, instrument.code),
        "last": approvals.last_request(book.flow, instrument.code),
        "pending_settings": settings_records.pending_for(book.key, instrument.pk),
        "settings": MarginSetting.objects.filter(book=book.key, instrument=instrument)
        .select_related("acted_by")
        .order_by("-id")[:20],
        "can_edit": request.user.has_perm(book.permission),
        "can_sync": request.user.has_perm(SYNC),
        "history": history,
        "fields": FIELDS,
    }
    if book is INTRADAY:
        context["active_now"] = _active_markets().get(instrument.market, False)
    return render(request, "margin/stock_detail.html", context)


class RatioForm(forms.Form):
    """The four factors are text: the flow validates them (one rule, one place) and names
    the factor at fault."""

    code = forms.CharField(
        label=_("Code"), max_length=40, help_text=_("A stock or ETF, e.g. 700.HK, AAPL.US")
    )
    im = forms.CharField(label=_("Initial margin (IM)"), max_length=12)
    mcm = forms.CharField(label=_("Margin-call margin (MCM)"), max_length=12)
    mm = forms.CharField(label=_("Maintenance margin (MM)"), max_length=12)
    fm = forms.CharField(label=_("Force-close margin (FM)"), max_length=12)
    effective_date = forms.DateField(
        label=_("Effective date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_(
            "Today or later. Empty: the day the request is approved. Until then (or until "
            "同步 on the setting record) the current ratio stays in force."
        ),
    )
    note = forms.CharField(
        label=_("Note for the approver"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


def _ratio_form(request, book: RatioBook, instrument=None):
    if not request.user.has_perm(book.permission):
        raise PermissionDenied
    initial = {}
    if instrument is not None:
        initial = {
            "code": instrument.code,
            **(settings_records.in_force(book.key, instrument.pk) or {}),
        }
    elif request.GET.get("code"):
        initial = {"code": request.GET["code"]}
    form = RatioForm(request.POST or None, initial=initial)
    if instrument is not None:
        form.fields["code"].disabled = True
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            target = instrument or instrument_by_code(data["code"])
        except ValidationError as exc:
            form.add_error("code", exc.message_dict["code"])
        else:
            payload = {
                "action": MarginSetting.Action.SET,
                **{f: data[f].strip() for f in FIELDS},
                "effective_date": data["effective_date"].isoformat()
                if data["effective_date"]
                else None,
            }
            response = submit_from_form(
                request, form, flow=book.flow, target=target, payload=payload, note=data["note"]
            )
            if response is not None:
                return response
    current = None
    code = instrument.code if instrument else (form.data.get("code") or initial.get("code"))
    existing = Instrument.objects.filter(code=code).first() if code else None
    if existing is not None:
        current = settings_records.in_force(book.key, existing.pk)
    return render(
        request,
        "margin/stock_form.html",
        {
            "book": book,
            "prefix": URL_PREFIX[book.key],
            "form": form,
            "instrument": instrument,
            "existing": existing,
            "current": current,
            "pending": approvals.pending_change(book.flow, existing.code) if existing else None,
        },
    )


class DeleteForm(forms.Form):
    effective_date = RatioForm.base_fields["effective_date"]
    note = RatioForm.base_fields["note"]


def _delete(request, pk, book: RatioBook):
    if not request.user.has_perm(book.permission):
        raise PermissionDenied
    instrument = get_object_or_404(Instrument, pk=pk)
    form = DeleteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        payload = {
            "action": MarginSetting.Action.DELETE,
            "effective_date": data["effective_date"].isoformat()
            if data["effective_date"]
            else None,
        }
        response = submit_from_form(
            request, form, flow=book.flow, target=instrument, payload=payload, note=data["note"]
        )
        if response is not None:
            return response
    return render(
        request,
        "margin/stock_delete.html",
        {
            "book": book,
            "prefix": URL_PREFIX[book.key],
            "form": form,
            "instrument": instrument,
            "current": settings_records.in_force(book.key, instrument.pk),
            "pending": approvals.pending_change(book.flow, instrument.code),
        },
    )


def _views(book: RatioBook) -> dict:
    def detail(request, pk):
        return _detail(request, pk, book)

    def new(request):
        return _ratio_form(request, book)

    def edit(request, pk):
        return _ratio_form(request, book, get_object_or_404(Instrument, pk=pk))

    def delete(request, pk):
        return _delete(request, pk, book)

    for view in (detail, new, edit, delete):
        view.required_permissions = (VIEW[book.key] if view is detail else book.permission,)
    return {"detail": detail, "new": new, "edit": edit, "delete": delete}


LONG_VIEWS = _views(LONG)
INTRADAY_VIEWS = _views(INTRADAY)


@requires(VIEW[LONG.key])
def pull_status(request):
    """拉取个股状态: re-read the status of every stock with a long ratio from the book, and say
    what changed since this user's previous pull and which stocks are not marginable now
    (delisted / long suspended: 100% whatever their ratio, MR-6). The list's status column is
    read live from the book, so it shows the new statuses at once."""
    now = timezone.localtime()
    statuses = dict(
        Instrument.objects.filter(stock_margin__isnull=False)
        .order_by("code")
        .values_list("code", "status")
    )
    previous = request.session.get(STATUS_SESSION_KEY)
    request.session[STATUS_SESSION_KEY] = {"at": now.isoformat(), "statuses": statuses}
    label = {k: str(v) for k, v in STATUSES.items()}
    summary = gettext("Stock status pulled from the book at %(t)s: %(n)s stocks with a ratio.") % {
        "t": now.strftime("%H:%M:%S"),
        "n": len(statuses),
    }
    if previous is None:
        messages.info(
            request,
            summary + " " + gettext("Statuses recorded; the next pull reports what changed."),
        )
    else:
        old = previous["statuses"]
        changed = [
            f"{code} {label.get(old[code], old[code])} → {label.get(new, new)}"
            for code, new in statuses.items()
            if code in old and old[code] != new
        ]
        since = timezone.localtime(datetime.fromisoformat(previous["at"])).strftime("%H:%M:%S")
        if changed:
            messages.warning(
                request,
                summary
                + " "
                + gettext("Changed since your pull at %(t)s: %(c)s")
                % {"t": since, "c": _short(changed)},
            )
        else:
            messages.info(
                request,
                summary + " " + gettext("No change since your pull at %(t)s.") % {"t": since},
            )
    excluded = [f"{code} ({label[s]})" for code, s in statuses.items() if s in EXCLUDED]
    if excluded:
        messages.warning(
            request,
            gettext("Not marginable now, 100%% whatever their ratio: %(c)s")
            % {"c": _short(excluded)},
        )
    return redirect("margin:stock")


def _short(items: list[str], limit: int = 20) -> str:
    text = ", ".join(items[:limit])
    if len(items) > limit:
        text += " " + gettext("and %(n)s more") % {"n": len(items) - limit}
    return text


# --- intraday rules (规则设置) ---------------------------------------------------------------


@requires("margin.view_intradayrule")
def intraday_rules(request):
    now = timezone.now()
    rules = {r.market: r for r in IntradayRule.objects.all()}
    markets = []
    for market in RULE_MARKETS:
        rule = rules.get(market)
        local = now.astimezone(MARKET_ZONES[market])
        try:
            day = session(market, local.date())
        except CalendarError as exc:
            day, problem = None, str(exc)
        else:
            problem = ""
        window = None
        if rule is not None and day is not None and day.trades:
            opens = datetime.combine(local.date(), day.open_time)
            closes = datetime.combine(local.date(), day.close_time)
            window = (
                (opens + timedelta(minutes=rule.starts_after_open)).time(),
                (closes - timedelta(minutes=rule.ends_before_close)).time(),
            )
        markets.append(
            {
                "market": market,
                "label": MARKETS.get(market, market),
                "rule": rule,
                "local": local,
                "day": day,
                "day_status": TradingDay.Status(day.status).label if day else "",
                "problem": problem,
                "window": window,
                "active": intraday_active(market, now, rule),
                "pending": approvals.pending_change(RULE_FLOW, f"rule:{market}"),
            }
        )
    return render(
        request,
        "margin/intraday_rules.html",
        {
            "markets": markets,
            "can_edit": request.user.has_perm(IntradayRuleChange.submit_permission),
            "history": approvals.history_rows(IntradayRule),
        },
    )


class RuleForm(forms.Form):
    enabled = forms.BooleanField(label=_("Enabled"), required=False)
    starts_after_open = forms.IntegerField(
        label=_("Active from (minutes after the open)"), min_value=0
    )
    ends_before_close = forms.IntegerField(
        label=_("Active until (minutes before the close)"),
        min_value=0,
        help_text=_("On a half day, before its early close."),
    )
    note = RatioForm.base_fields["note"]


@requires(IntradayRuleChange.submit_permission)
def intraday_rule_edit(request, market):
    market = market.upper()
    if market not in RULE_MARKETS:
        raise Http404
    handler = IntradayRuleChange()
    target = IntradayRule.objects.filter(market=market).first()
    current = (
        handler.snapshot(target)
        if target
        else {"market": market, "enabled": True, "starts_after_open": 0, "ends_before_close": 30}
    )
    form = RuleForm(request.POST or None, initial=current)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        payload = {
            "market": market,
            "enabled": data["enabled"],
            "starts_after_open": data["starts_after_open"],
            "ends_before_close": data["ends_before_close"],
        }
        response = submit_from_form(
            request, form, flow=RULE_FLOW, target=target, payload=payload, note=data["note"]
        )
        if response is not None:
            return response
    return render(
        request,
        "margin/intraday_rule_form.html",
        {
            "market": market,
            "label": MARKETS.get(market, market),
            "form": form,
            "rule": target,
            "pending": approvals.pending_change(RULE_FLOW, f"rule:{market}"),
        },
    )


# --- setting records (设置记录, MR-3) ---------------------------------------------------------


def _factor_text(field: str):
    parts = []
    for f in FIELDS:
        parts += [KT(f"{field}__{f}"), Value(" / ")]
    return Case(
        When(**{f"{field}__isnull": True}, then=Value("—")),
        default=Concat(*parts[:-1], output_field=CharField()),
        output_field=CharField(),
    )


def _settings_rows():
    return MarginSetting.objects.annotate(
        before_text=_factor_text("before"),
        after_text=_factor_text("factors"),
        request_key=Cast("request_id", CharField()),
    )


settings_list = ListPage(
    name="settings",
    title=_("Setting records"),
    feature=format_lazy(
        "MR-3 · {}",
        _("not triggered until synchronised (同步) or its effective date; 取消同步 revokes"),
    ),
    permission="margin.view_marginsetting",
    queryset=_settings_rows,
    default_sort="-id",
    columns=[
        Column("id", _("Record"), link=("margin:setting", "pk")),
        Column("book", _("Ratio"), choices=SETTING_BOOKS),
        Column("instrument__code", _("Code")),
        Column("instrument__name", _("Name")),
        Column("action", _("Action"), choices=SETTING_ACTIONS),
        Column("before_text", _("Before (IM / MCM / MM / FM)")),
        Column("after_text", _("After (IM / MCM / MM / FM)")),
        Column("effective_date", _("Effective date"), kind="date", sortable=True),
        Column("status", _("Status"), choices=SETTING_STATUSES),
        Column("request_id", _("Request"), link=("approvals:detail", "request_id")),
        Column("created_at", _("Created"), kind="datetime"),
        Column("acted_by__username", _("By")),
        Column("acted_at", _("Triggered / revoked"), kind="datetime"),
    ],
    filters=[
        Filter("status", _("Status"), "choice", choices=tuple(MarginSetting.Status.choices)),
        Filter("book", _("Ratio"), "choice", choices=tuple(MarginSetting.Book.choices)),
        Filter("code", _("Code"), "prefix", lookup="instrument__code"),
        Filter("date_from", _("Effective from"), "day_from", lookup="effective_date"),
        Filter("date_to", _("Effective to"), "day_to", lookup="effective_date"),
        Filter("request", _("Request"), "exact", lookup="request_key"),
    ],
    bulk_action=(_("Synchronise selected (同步)"), "margin:settings-sync", SYNC),
)


@requires("margin.view_marginsetting")
def setting_detail(request, pk):
    setting = get_object_or_404(
        MarginSetting.objects.select_related("instrument", "acted_by"), pk=pk
    )
    from riskdesk.approvals.models import ChangeRequest

    change = ChangeRequest.objects.select_related("maker").filter(pk=setting.request_id).first()
    book = BOOKS[setting.book]
    rows = [
        {
            "field": f,
            "before": (setting.before or {}).get(f) if setting.status == "triggered" else None,
            "now": (settings_records.in_force(setting.book, setting.instrument_id) or {}).get(f),
            "after": (setting.factors or {}).get(f),
        }
        for f in FIELDS
    ]
    return render(
        request,
        "margin/settings_detail.html",
        {
            "setting": setting,
            "book": book,
            "change": change,
            "rows": rows,
            "can_sync": request.user.has_perm(SYNC) and setting.status == "pending",
        },
    )


def _act(request, pk, verb: str):
    fn = settings_records.sync if verb == "sync" else settings_records.revoke
    try:
        setting = fn(pk, request.user)
    except settings_records.SettingError as exc:
        messages.error(request, str(exc))
    else:
        if verb == "sync":
            messages.success(
                request,
                gettext("Setting record #%(n)s synchronised: %(c)s now uses the new ratio.")
                % {"n": setting.pk, "c": setting.instrument.code},
            )
        else:
            messages.success(request, gettext("Setting record #%(n)s revoked.") % {"n": setting.pk})
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("margin:setting", pk=pk)


@require_POST
@requires(SYNC)
def setting_sync(request, pk):
    return _act(request, pk, "sync")


@require_POST
@requires(SYNC)
def setting_revoke(request, pk):
    return _act(request, pk, "revoke")


@require_POST
@requires(SYNC)
def settings_sync_bulk(request):
    ids = [int(i) for i in request.POST.getlist("ids") if i.isdigit()]
    if not ids:
        messages.error(request, gettext("Tick the setting records to synchronise."))
        return redirect("margin:settings")
    done, refused = [], []
    for pk in sorted(ids):
        try:
            settings_records.sync(pk, request.user)
        except settings_records.SettingError as exc:
            refused.append(str(exc))
        else:
            done.append(f"#{pk}")
    if done:
        messages.success(request, gettext("Synchronised: %(ids)s.") % {"ids": ", ".join(done)})
    for reason in refused:
        messages.error(request, reason)
    return redirect("margin:settings")


urlpatterns = [
    *stock_list.urls(),
    path("stock/new/", LONG_VIEWS["new"], name="stock-new"),
    path("stock/import/", import_upload, {"key": LONG.flow}, name="stock-import"),
    path("stock/pull-status/", pull_status, name="stock-pull-status"),
    path("stock/<int:pk>/", LONG_VIEWS["detail"], name="stock-detail"),
    path("stock/<int:pk>/edit/", LONG_VIEWS["edit"], name="stock-edit"),
    path("stock/<int:pk>/delete/", LONG_VIEWS["delete"], name="stock-delete"),
    *intraday_list.urls(),
    path("intraday/new/", INTRADAY_VIEWS["new"], name="intraday-new"),
    path("intraday/import/", import_upload, {"key": INTRADAY.flow}, name="intraday-import"),
    path("intraday/rules/", intraday_rules, name="intraday-rules"),
    path("intraday/rules/<str:market>/edit/", intraday_rule_edit, name="intraday-rule-edit"),
    path("intraday/<int:pk>/", INTRADAY_VIEWS["detail"], name="intraday-detail"),
    path("intraday/<int:pk>/edit/", INTRADAY_VIEWS["edit"], name="intraday-edit"),
    path("intraday/<int:pk>/delete/", INTRADAY_VIEWS["delete"], name="intraday-delete"),
    *settings_list.urls(),
    path("settings/sync/", settings_sync_bulk, name="settings-sync"),
    path("settings/<int:pk>/", setting_detail, name="setting"),
    path("settings/<int:pk>/sync/", setting_sync, name="setting-sync"),
    path("settings/<int:pk>/revoke/", setting_revoke, name="setting-revoke"),
]
