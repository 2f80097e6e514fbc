"""Formatting of figures in the console: amounts to 2 dp with separators, prices and rates
trimmed, negatives marked; dates in the console's time zone."""

from datetime import date, datetime
from datetime import time as dt_time
from decimal import Decimal

from django import template
from django.template.defaultfilters import floatformat
from django.utils import formats, timezone
from django.utils.html import format_html

register = template.Library()


@register.filter
def amount(value):
    if value is None or value == "":
        return ""
    return floatformat(value, "2g")


@register.filter
def quantity(value):
    """A whole number with grouping (shares, contracts)."""
    if value is None or value == "":
        return ""
    return floatformat(value, "0g")


@register.filter
def figure(value):
    """A JSON value of a change request: decimal strings as amounts, anything else as is."""
    if isinstance(value, str):
        try:
            number = Decimal(value)
        except ArithmeticError:
            return value
        if number.is_finite() and -number.as_tuple().exponent == 2:
            return amount(number)
    return "—" if value is None else value


@register.filter
def price(value):
    """A price to at most 6 dp, trailing zeros dropped but at least 2 kept."""
    if value is None or value == "":
        return "—"
    return _trimmed(value, 6)


def _trimmed(value: Decimal, places: int) -> str:
    text = floatformat(value, f"{places}g")
    sep = formats.get_format("DECIMAL_SEPARATOR")
    if sep in text:
        head, tail = text.split(sep)
        tail = tail.rstrip("0")
        if len(tail) < 2:
            tail = tail.ljust(2, "0")
        text = f"{head}{sep}{tail}"
    return text


@register.simple_tag
def cell(c):
    """One list-page cell, by its column kind."""
    value, kind = c["value"], c["kind"]
    if "display" in c:
        text = str(c["display"])
    elif value is None or value == "":
        return ""
    elif kind == "amount":
        text = amount(value)
    elif kind == "price":
        text = _trimmed(value, 6)
    elif kind == "rate":
        text = _trimmed(value, 8)
    elif kind == "quantity":
        text = quantity(value)
    elif kind == "datetime" and isinstance(value, datetime):
        text = formats.date_format(timezone.localtime(value), "Y-m-d H:i:s")
    elif kind == "date" and isinstance(value, date):
        text = value.isoformat()
    elif kind == "time" and isinstance(value, dt_time):
        text = value.strftime("%H:%M")
    else:
        text = str(value)
    neg = kind in ("amount", "quantity") and isinstance(value, int | Decimal) and value < 0
    ccy = c.get("currency")
    if c.get("href"):
        return format_html('<a href="{}">{}</a>', c["href"], text)
    if ccy:
        return format_html(
            '<span class="{}">{}</span><span class="ccy">{}</span>', "neg" if neg else "", text, ccy
        )
    return format_html('<span class="{}">{}</span>', "neg" if neg else "", text)


@register.filter
def is_number(kind: str) -> bool:
    return kind in ("amount", "price", "rate", "quantity")


@register.simple_tag(takes_context=True)
def sort_link(context, column):
    """Header link that sorts by the column (toggling direction), keeping the filters."""
    result = context["result"]
    desc = not result["desc"] if result["sort"] == column.key else False
    query = context["filter_query"]
    base = "&".join(p for p in query.split("&") if p and not p.startswith("sort="))
    sort = ("-" if desc else "") + column.key
    arrow = ""
    if result["sort"] == column.key:
        arrow = " ▼" if result["desc"] else " ▲"
    return format_html(
        '<a href="?{}{}sort={}">{}{}</a>', base, "&" if base else "", sort, column.label, arrow
    )
