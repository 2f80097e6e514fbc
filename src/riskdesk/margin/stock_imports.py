"""Batch files of stock margin ratios (MR-1, MR-2) on the shared import flow (PL-5).

Confirming a file submits ONE change request for the whole batch (``margin.stock_long_batch``
or ``margin.intraday_batch``); its approval creates one setting record per row (MR-3).
"""

from datetime import date

from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from riskdesk.console.imports import (
    Field,
    ImportSpec,
    register,
    row_error,
    submit_for_approval,
    submitted,
)
from riskdesk.margin.factors import FIELDS, clean_factors
from riskdesk.margin.stock_flows import (
    INTRADAY,
    LONG,
    RatioBook,
    clean_effective_date,
    instrument_by_code,
)


def _date(raw: str) -> date:
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise ValueError(_("'%(v)s' is not a date (YYYY-MM-DD)") % {"v": raw}) from None


FACTOR_NOTE = _("A decimal from 0 to 1, at most 4 places; 1 ≥ im ≥ mcm ≥ mm ≥ fm ≥ 0")


class RatioImport(ImportSpec):
    """code, im, mcm, mm, fm, effective_date (optional: the day the batch is approved)."""

    unique_together = ("code",)
    done_url = "margin:settings"

    def __init__(self, book: RatioBook, feature: str):
        self.book = book
        self.key = book.flow
        self.title = book.title
        self.feature = feature
        self.permission = book.permission
        self.fields = (
            Field(
                "code", _("Code"), _("A stock or ETF of the book, e.g. 700.HK, AAPL.US"), "700.HK"
            ),
            Field("im", _("Initial margin (IM)"), FACTOR_NOTE, "0.5"),
            Field("mcm", _("Margin-call margin (MCM)"), FACTOR_NOTE, "0.45"),
            Field("mm", _("Maintenance margin (MM)"), FACTOR_NOTE, "0.4"),
            Field("fm", _("Force-close margin (FM)"), FACTOR_NOTE, "0.3"),
            Field(
                "effective_date",
                _("Effective date"),
                _("YYYY-MM-DD, today or later; empty: the day the batch is approved"),
                "",
                required=False,
                parse=_date,
            ),
        )

    def check_row(self, values: dict) -> None:
        """The stock exists and is a stock or ETF; the four factors in order (the error names
        the factor); the effective date not in the past."""
        try:
            instrument_by_code(values["code"])
            clean_factors(values)
            clean_effective_date(values.get("effective_date"))
        except ValidationError as exc:
            raise row_error(exc) from None

    def apply(self, rows: list[dict], *, user) -> dict:
        payload = {
            "rows": [
                {
                    "code": row["code"],
                    **{f: row[f] for f in FIELDS},
                    "effective_date": row["effective_date"].isoformat()
                    if row.get("effective_date")
                    else None,
                }
                for row in rows
            ]
        }
        change = submit_for_approval(
            flow=self.book.batch_flow,
            target=None,
            payload=payload,
            user=user,
            note=gettext("Batch import of %(n)s rows") % {"n": len(rows)},
        )
        return submitted([change.pk], len(rows))


register(RatioImport(LONG, "MR-1"))
register(RatioImport(INTRADAY, "MR-2"))
