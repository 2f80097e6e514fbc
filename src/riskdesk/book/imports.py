"""Batch import of instruments (PL-1, PL-5) on the shared import flow."""

from datetime import date
from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from riskdesk.book import reference
from riskdesk.book.models import Instrument
from riskdesk.console.imports import Field, ImportSpec, RowError, register
from riskdesk.engine.money import parse_decimal


def _choice(choices):
    allowed = {value for value, _label in choices}

    def parse(raw: str) -> str:
        value = raw.strip()
        if value not in allowed:
            raise ValueError(
                _("'%(v)s' is not one of %(c)s") % {"v": value, "c": ", ".join(sorted(allowed))}
            )
        return value

    return parse


def _positive_int(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(_("'%(v)s' is not a whole number") % {"v": raw}) from None
    if value <= 0:
        raise ValueError(_("must be greater than 0"))
    return value


def _price(raw: str) -> Decimal:
    try:
        value = parse_decimal(raw)
    except ValueError:
        raise ValueError(_("'%(v)s' is not a decimal") % {"v": raw}) from None
    if value <= 0 or value.as_tuple().exponent < -6:
        raise ValueError(_("must be greater than 0 with at most 6 decimal places"))
    return value


def _date(raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValueError(_("'%(v)s' is not a date (YYYY-MM-DD)") % {"v": raw}) from None


def _currency(raw: str) -> str:
    value = raw.strip().upper()
    if len(value) != 3 or not value.isalpha():
        raise ValueError(_("'%(v)s' is not a 3-letter currency code") % {"v": raw})
    return value


class InstrumentImport(ImportSpec):
    key = "book.instruments"
    title = _("Instruments")
    feature = "PL-1"
    permission = "book.import_instruments"
    unique_together = ("code",)
    done_url = "book:instruments"
    fields = (
        Field(
            "code", _("Code"), _("Unique code with market suffix, e.g. 700.HK, AAPL.US"), "700.HK"
        ),
        Field("name", _("Name"), _("Instrument name"), "Tencent Holdings"),
        Field(
            "market", _("Market"), _("HK, US or CN"), "HK", parse=_choice(Instrument.Market.choices)
        ),
        Field(
            "kind",
            _("Kind"),
            _("stock, etf, warrant or option"),
            "stock",
            parse=_choice(Instrument.Kind.choices),
        ),
        Field(
            "currency", _("Currency"), _("Trading currency, e.g. HKD, USD"), "HKD", parse=_currency
        ),
        Field(
            "lot_size",
            _("Lot size"),
            _("Shares per board lot (1 for US)"),
            "100",
            parse=_positive_int,
        ),
        Field(
            "status",
            _("Status"),
            _("normal, suspended, long_suspended or delisted; default normal"),
            "normal",
            required=False,
            parse=_choice(Instrument.Status.choices),
        ),
        Field(
            "multiplier",
            _("Multiplier"),
            _("Shares per contract; options only, default 1"),
            "",
            required=False,
            parse=_positive_int,
        ),
        Field(
            "underlying",
            _("Underlying"),
            _("Options: code of the underlying instrument"),
            "",
            required=False,
        ),
        Field("strike", _("Strike"), _("Options: strike price"), "", required=False, parse=_price),
        Field(
            "expiry",
            _("Expiry"),
            _("Options: expiry date YYYY-MM-DD"),
            "",
            required=False,
            parse=_date,
        ),
        Field(
            "option_type",
            _("Option type"),
            _("Options: call or put"),
            "",
            required=False,
            parse=_choice(Instrument.OptionType.choices),
        ),
    )

    def check_row(self, values: dict) -> None:
        if Instrument.objects.filter(code=values["code"]).exists():
            raise RowError(_("code: %(c)s already exists") % {"c": values["code"]})
        if values["kind"] == Instrument.Kind.OPTION:
            missing = [
                k for k in ("underlying", "strike", "expiry", "option_type") if not values.get(k)
            ]
            if missing:
                raise RowError(_("an option needs %(f)s") % {"f": ", ".join(missing)})
            if not Instrument.objects.filter(code=values["underlying"]).exists():
                raise RowError(_("underlying: no instrument %(c)s") % {"c": values["underlying"]})
        elif any(values.get(k) for k in ("underlying", "strike", "expiry", "option_type")):
            raise RowError(_("underlying, strike, expiry and option_type are for options only"))

    def apply(self, rows: list[dict], *, user) -> dict:
        created = reference.create_instruments(rows)
        return {"created": [i.code for i in created]}


register(InstrumentImport())
