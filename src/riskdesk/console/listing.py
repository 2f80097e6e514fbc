"""The one list page of the console (PL-5, PL-6): filters, sort, pagination, export.

A domain app declares a ``ListPage`` (columns, filters, a queryset, a permission) and gets a
list view and an .xlsx export of the filtered rows, both from ``ListPage.urls()``.

Pagination is by key (the last row's sort value and id), not by OFFSET, so page 5,000 of a
million rows costs what page 1 costs; the count is capped at ``COUNT_CAP`` for the same reason.
Sortable columns must therefore be NOT NULL.
"""

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from riskdesk.console import exports

COUNT_CAP = 10_000


@dataclass(frozen=True)
class Column:
    """One column. ``key`` is a values() path (``client__code``)."""

    key: str
    label: str
    kind: str = "text"  # text | amount | price | rate | quantity | datetime | date | choice | bool
    sortable: bool = False
    currency_key: str | None = None  # the column that holds this amount's currency
    link: tuple[str, str] | None = None  # (url name, key whose value is the URL argument)
    choices: dict | None = None
    # A value computed from the row (e.g. hours since ``key``), shown and exported instead.
    derive: Callable[[dict], Any] | None = None


@dataclass(frozen=True)
class Filter:
    """One filter field. ``kind``: exact, prefix, contains, choice, min, max, date_from, date_to
    (on a date-time: its local date), day_from, day_to (on a plain date)."""

    key: str
    label: str
    kind: str = "exact"
    lookup: str | None = None  # ORM path; defaults to key
    choices: tuple[tuple[str, str], ...] = ()

    @property
    def param(self) -> str:
        return self.key

    def condition(self, raw: str) -> Q:
        target = self.lookup or self.key
        suffix = {
            "exact": "",
            "choice": "",
            "prefix": "__istartswith",
            "contains": "__icontains",
            "min": "__gte",
            "max": "__lte",
            "date_from": "__date__gte",
            "date_to": "__date__lte",
            "day_from": "__gte",
            "day_to": "__lte",
        }[self.kind]
        value: Any = raw
        if self.kind in ("min", "max"):
            try:
                value = Decimal(raw)
            except InvalidOperation:
                raise FilterError(self.label, _("not a number")) from None
        elif self.kind in ("date_from", "date_to", "day_from", "day_to"):
            try:
                value = date.fromisoformat(raw)
            except ValueError:
                raise FilterError(self.label, _("not a date (YYYY-MM-DD)")) from None
        elif self.kind == "choice" and self.choices and raw not in dict(self.choices):
            raise FilterError(self.label, _("not one of the choices"))
        return Q(**{target + suffix: value})


class FilterError(ValueError):
    def __init__(self, label, reason):
        super().__init__(f"{label}: {reason}")
        self.label = label
        self.reason = reason


@dataclass
class ListPage:
    name: str  # URL namespace-local name, e.g. "clients"
    title: str
    feature: str
    permission: str
    queryset: Callable[[], QuerySet]
    columns: list[Column]
    filters: list[Filter] = field(default_factory=list)
    default_sort: str = "-id"
    page_size: int = 50
    export_permission: str = "book.export_rows"
    actions: list[tuple[str, str, str | None]] = field(
        default_factory=list
    )  # (label, url name, perm)
    # Narrows the rows to what this user's page shows (e.g. "waiting for me").
    scope: Callable[[Any, QuerySet], QuerySet] | None = None
    # A form around the table posting the ticked rows' ids: (label, url name, permission).
    bulk_action: tuple[str, str, str] | None = None
    # Live page: the table polls itself every N seconds (keeping filters, sort and page) and
    # marks the rows whose ``changed_key`` is later than when the page was opened ("opened" in
    # the query; "poll" may shorten the interval). ``created_key`` tells new rows from updated.
    live_seconds: int = 0
    changed_key: str = "updated_at"
    created_key: str | None = None
    # Figures above the table for the filtered rows: (label, value, test id) triples.
    summary: Callable[[QuerySet], list[tuple[str, Any, str]]] | None = None

    # --- query ---------------------------------------------------------------------------------

    def filtered(self, params, user=None) -> tuple[QuerySet, dict, list[str]]:
        """The queryset narrowed by the page's scope and the filters present in ``params``;
        also the active values and any filter errors (a bad filter is reported, not ignored)."""
        qs = self.queryset()
        if self.scope is not None:
            qs = self.scope(user, qs)
        active, errors = {}, []
        for flt in self.filters:
            raw = (params.get(flt.param) or "").strip()
            if not raw:
                continue
            active[flt.param] = raw
            try:
                qs = qs.filter(flt.condition(raw))
            except FilterError as exc:
                errors.append(str(exc))
        return qs, active, errors

    def sort_of(self, params) -> tuple[str, bool]:
        raw = params.get("sort") or self.default_sort
        desc = raw.startswith("-")
        key = raw.lstrip("-")
        if key not in ("pk", "id") and key not in {c.key for c in self.columns if c.sortable}:
            key, desc = self.default_sort.lstrip("-"), self.default_sort.startswith("-")
        return ("pk" if key == "id" else key), desc

    def page(self, params, user=None) -> dict:
        qs, active, errors = self.filtered(params, user)
        key, desc = self.sort_of(params)
        cursor = _decode(params.get("after")) or _decode(params.get("before"))
        backwards = bool(params.get("before")) and cursor is not None
        ordering = _ordering(key, desc != backwards)
        count = 0 if errors else qs.order_by()[: COUNT_CAP + 1].count()
        if cursor is not None:
            qs = qs.filter(_seek(key, desc != backwards, cursor))
        keys = ["pk", *dict.fromkeys(c.key for c in self.columns)]
        if self.live_seconds:
            keys += [k for k in (self.changed_key, self.created_key) if k and k not in keys]
        if key != "pk":
            keys.append(key)
        rows = list(qs.order_by(*ordering).values(*dict.fromkeys(keys))[: self.page_size + 1])
        more = len(rows) > self.page_size
        rows = rows[: self.page_size]
        if backwards:
            rows.reverse()
        has_next = more if not backwards else True
        has_prev = (cursor is not None and not backwards) or (backwards and more)
        return {
            "rows": rows,
            "next": _encode(key, rows[-1]) if rows and has_next else None,
            "prev": _encode(key, rows[0]) if rows and has_prev else None,
            "count": count,
            "active": active,
            "errors": errors,
            "sort": key,
            "desc": desc,
            "summary": self.summary(qs) if self.summary and not errors else [],
        }

    def export_rows(self, params, user=None):
        qs, _active, errors = self.filtered(params, user)
        if errors:
            raise FilterError(_("filters"), "; ".join(errors))
        key, desc = self.sort_of(params)
        return qs.order_by(*_ordering(key, desc)).values(
            "pk", *dict.fromkeys(c.key for c in self.columns)
        )

    # --- views ---------------------------------------------------------------------------------

    def list_view(self, request):
        if not request.user.has_perm(self.permission):
            raise PermissionDenied
        page = self.page(request.GET, request.user)
        bulk = None
        if self.bulk_action and request.user.has_perm(self.bulk_action[2]):
            bulk = {"label": self.bulk_action[0], "url": reverse(self.bulk_action[1])}
        context = {
            "bulk": bulk,
            "page": self,
            "result": page,
            "filters": [{"f": f, "value": page["active"].get(f.param, "")} for f in self.filters],
            "rows": [self.render_row(row) for row in page["rows"]],
            "count_capped": page["count"] > COUNT_CAP,
            "count_cap": COUNT_CAP,
            "can_export": request.user.has_perm(self.export_permission),
            "actions": [
                (label, reverse(url), perm)
                for label, url, perm in self.actions
                if perm is None or request.user.has_perm(perm)
            ],
            "query": request.GET.urlencode(),
            "filter_query": _query(page["active"], sort=request.GET.get("sort")),
        }
        if self.live_seconds:
            context.update(self.live_context(request, page))
            context["rows"] = [
                _Row(cells, mark=_mark(row, self, context["opened_at"]))
                for cells, row in zip(context["rows"], page["rows"], strict=True)
            ]
            context["changed_count"] = sum(1 for r in context["rows"] if r.mark)
        template = "console/_table.html" if request.htmx else "console/list.html"
        return render(request, template, context)

    def live_context(self, request, page) -> dict:
        """When the page was opened (kept across polls and filter changes) and the poll URL."""
        opened_at = _parse_opened(request.GET.get("opened")) or timezone.now()
        opened = opened_at.isoformat()
        try:
            seconds = max(1, min(self.live_seconds, int(request.GET.get("poll", ""))))
        except ValueError:
            seconds = self.live_seconds
        params = request.GET.copy()
        params["opened"] = opened
        extra = {"opened": opened, "poll": request.GET.get("poll")}
        return {
            "live": seconds,
            "opened": opened,
            "opened_at": opened_at,
            "live_query": params.urlencode(),
            "filter_query": _query(page["active"], sort=request.GET.get("sort"), **extra),
        }

    def export_view(self, request):
        if not (
            request.user.has_perm(self.permission) and request.user.has_perm(self.export_permission)
        ):
            raise PermissionDenied
        return exports.xlsx_response(request, self)

    def render_row(self, row: dict) -> list[dict]:
        cells = []
        for col in self.columns:
            value = row.get(col.key)
            if col.derive is not None:
                value = col.derive(row)
            cell = {"value": value, "kind": col.kind, "col": col, "pk": row["pk"]}
            if col.choices is not None:
                cell["display"] = col.choices.get(value, value)
            if col.currency_key:
                cell["currency"] = row.get(col.currency_key)
            if col.link and value is not None:
                url_name, arg_key = col.link
                cell["href"] = reverse(url_name, args=[row[arg_key]])
            cells.append(cell)
        return cells

    def urls(self) -> list:
        return [
            path(f"{self.name}/", self.list_view, name=self.name),
            path(f"{self.name}/export.xlsx", self.export_view, name=f"{self.name}-export"),
        ]


class _Row(list):
    """A table row's cells, with its live mark ("new", "updated" or "")."""

    def __init__(self, cells, mark: str = ""):
        super().__init__(cells)
        self.mark = mark


def _mark(row: dict, page: ListPage, opened_at: datetime) -> str:
    created = row.get(page.created_key) if page.created_key else None
    if isinstance(created, datetime) and created > opened_at:
        return "new"
    changed = row.get(page.changed_key)
    if isinstance(changed, datetime) and changed > opened_at:
        return "updated"
    return ""


def _parse_opened(raw: str | None) -> datetime | None:
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return value if timezone.is_aware(value) else timezone.make_aware(value)


def _ordering(key: str, desc: bool) -> list[str]:
    sign = "-" if desc else ""
    return [f"{sign}pk"] if key == "pk" else [f"{sign}{key}", f"{sign}pk"]


def _seek(key: str, desc: bool, cursor: dict) -> Q:
    """Rows after the cursor in this order: (key, pk) > (value, id), or < when descending."""
    op = "lt" if desc else "gt"
    if key == "pk":
        return Q(**{f"pk__{op}": cursor["id"]})
    value = cursor["v"]
    # The leading range on the sort key alone lets the database walk its index from the cursor;
    # "key > v OR (key = v AND id > i)" on its own makes SQLite scan from the start.
    bound = "lte" if desc else "gte"
    return Q(**{f"{key}__{bound}": value}) & (
        Q(**{f"{key}__{op}": value}) | Q(**{f"pk__{op}": cursor["id"]})
    )


def _encode(key: str, row: dict) -> str:
    value = row["pk"] if key == "pk" else row[key]
    if isinstance(value, Decimal):
        value = {"d": str(value)}
    elif isinstance(value, datetime | date):
        value = {"t": value.isoformat(), "dt": isinstance(value, datetime)}
    payload = json.dumps({"id": row["pk"], "v": value}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def _decode(raw: str | None) -> dict | None:
    if not raw:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        value = data.get("v")
        if isinstance(value, dict) and "d" in value:
            data["v"] = Decimal(value["d"])
        elif isinstance(value, dict) and "t" in value:
            parse = datetime.fromisoformat if value.get("dt") else date.fromisoformat
            data["v"] = parse(value["t"])
        if not isinstance(data["id"], int | str):
            return None
        return data
    except (ValueError, TypeError, KeyError, InvalidOperation):
        return None


def _query(active: dict, **extra) -> str:
    from urllib.parse import urlencode

    params = {**active, **{k: v for k, v in extra.items() if v}}
    return urlencode(params)


# --- link and action columns, base-currency amounts (the MC-6 … MC-9 overviews) -------------

#: ``currency_key`` of an amount in base currency (no column holds it).
BASE = "__base__"


@dataclass(frozen=True)
class LinkColumn(Column):
    """A column whose cell links to a URL built from the row (a query string, or one page or
    another): ``href(row)``. With ``text`` the cell shows that label instead of the value (an
    action such as "Liquidate"), only to users holding ``permission``, and is not exported."""

    href: Callable[[dict], str | None] | None = None
    text: str | None = None
    permission: str | None = None

    @property
    def exported(self) -> bool:
        return self.text is None


@dataclass
class OverviewPage(ListPage):
    """A list page with link and action columns (``LinkColumn``) and amounts in base currency
    (``currency_key=BASE``)."""

    # The permissions of the user the page is rendered for (set per request, on a copy).
    granted: frozenset = frozenset()
    # Values read by ``derive`` and ``LinkColumn.href`` that no column shows.
    extra_keys: tuple[str, ...] = ()

    def _with_extra_keys(self) -> ListPage:
        hidden = [Column(key, key) for key in self.extra_keys]
        return replace(self, columns=[*self.columns, *hidden], extra_keys=())

    def page(self, params, user=None) -> dict:
        if not self.extra_keys:
            return super().page(params, user)
        return self._with_extra_keys().page(params, user)

    def export_rows(self, params, user=None):
        if not self.extra_keys:
            return super().export_rows(params, user)
        return self._with_extra_keys().export_rows(params, user)

    def list_view(self, request):
        wanted = {c.permission for c in self.columns if isinstance(c, LinkColumn) and c.permission}
        granted = frozenset(p for p in wanted if request.user.has_perm(p))
        # An action the user may not take is not shown at all.
        columns = [
            c
            for c in self.columns
            if not (isinstance(c, LinkColumn) and c.text is not None)
            or c.permission is None
            or c.permission in granted
        ]
        return ListPage.list_view(replace(self, granted=granted, columns=columns), request)

    def export_view(self, request):
        columns = [c for c in self.columns if not isinstance(c, LinkColumn) or c.exported]
        return ListPage.export_view(replace(self, columns=columns), request)

    def render_row(self, row: dict) -> list[dict]:
        cells = super().render_row(row)
        for cell in cells:
            col = cell["col"]
            if col.currency_key == BASE:
                cell["currency"] = settings.RISKDESK_BASE_CURRENCY
            if not isinstance(col, LinkColumn):
                continue
            allowed = col.permission is None or col.permission in self.granted
            href = col.href(row) if allowed and col.href else None
            if col.text is not None:
                cell.pop("display", None)
                cell["value"] = col.text if href else None
            if href:
                cell["href"] = href
        return cells


@dataclass(frozen=True)
class DayFilter(Filter):
    """One exact date (a plain date field), entered with a date picker."""

    kind: str = "day_from"  # the date widget of the list page

    def condition(self, raw: str) -> Q:
        try:
            value = date.fromisoformat(raw)
        except ValueError:
            raise FilterError(self.label, _("not a date (YYYY-MM-DD)")) from None
        return Q(**{self.lookup or self.key: value})
