"""Batch import of short margin (MR-4) on the shared import flow (PL-5).

Each row is checked as the one-stock flow checks it (``short_flows.clean_stock``); confirming a
batch with no bad row submits ONE change request (``margin.short_batch``) for the whole file,
which changes nothing until it is approved.
"""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from riskdesk.approvals import selectors as approvals
from riskdesk.approvals.services import first_error
from riskdesk.console.imports import (
    Field,
    ImportSpec,
    RowError,
    register,
    submit_for_approval,
    submitted,
)
from riskdesk.margin.short_flows import (
    BATCH_FLOW,
    FLOW,
    HAND,
    clean_stock,
    parse_quantity,
    row_for,
    snapshot_of,
    target_key_of,
)


def _code(raw: str) -> str:
    return raw.strip()


def _shortable(raw: str) -> str:
    value = raw.strip().lower()
    if value not in HAND:
        raise ValueError(_("'%(v)s' is not one of %(c)s") % {"v": raw, "c": ", ".join(HAND)})
    return value


def _quantity(field: str):
    def parse(raw: str) -> int | None:
        try:
            return parse_quantity(raw, field)
        except ValidationError as exc:
            raise ValueError(first_error(exc)[1]) from None

    return parse


def pending_batch_for(code: str):
    """A pending batch request that changes this stock, or None."""
    from riskdesk.approvals.models import ChangeRequest

    pending = ChangeRequest.objects.filter(flow=BATCH_FLOW, status=ChangeRequest.Status.PENDING)
    for request in pending.only("pk", "payload", "maker"):
        if any(r.get("code") == code for r in request.payload.get("rows", [])):
            return request
    return None


def pending_for(code: str):
    """The pending request (one stock or a batch) that would change this stock, or None."""
    return approvals.pending_change(FLOW, target_key_of(code)) or pending_batch_for(code)


class ShortMarginImport(ImportSpec):
    key = "margin.short"
    title = _("Short margin")
    feature = "MR-4"
    permission = "margin.change_shortmargin"
    unique_together = ("code",)
    done_url = "approvals:mine"
    fields = (
        Field(
            "code",
            _("Code"),
            _("Stock code with market suffix, e.g. 700.HK"),
            "700.HK",
            parse=_code,
        ),
        Field("im", _("IM"), _("Initial margin factor, 0–1, at most 4 decimals"), "0.5"),
        Field("mcm", _("MCM"), _("Margin-call factor, ≤ IM"), "0.45"),
        Field("mm", _("MM"), _("Maintenance factor, ≤ MCM"), "0.4"),
        Field("fm", _("FM"), _("Force-close factor, ≤ MM, ≥ 0"), "0.3"),
        Field(
            "shortable",
            _("Shortable"),
            _("allowed or forbidden (system-forbidden is set by the lending-pool rule)"),
            "allowed",
            parse=_shortable,
        ),
        Field(
            "auto_close_qty",
            _("Auto-close quantity"),
            _("Lending pool at or below which short selling stops; empty for no rule"),
            "1000",
            required=False,
            parse=_quantity("auto_close_qty"),
        ),
        Field(
            "auto_restore_qty",
            _("Auto-restore quantity"),
            _("Lending pool at or above which short selling resumes; ≥ the auto-close quantity"),
            "4000",
            required=False,
            parse=_quantity("auto_restore_qty"),
        ),
    )

    def check_row(self, values: dict) -> None:
        row = row_for(values["code"])
        try:
            data = clean_stock(values, row)
        except ValidationError as exc:
            field, reason = first_error(exc)
            raise RowError(f"{field}: {reason}") from None
        if row is not None and data == snapshot_of(row):
            raise RowError(
                _("nothing would change for %(c)s; leave the row out") % {"c": values["code"]}
            )
        pending = pending_for(values["code"])
        if pending is not None:
            raise RowError(
                _("request #%(n)s already proposes a change of %(c)s")
                % {"n": pending.pk, "c": values["code"]}
            )

    def apply(self, rows: list[dict], *, user) -> dict:
        """ONE change request for the whole file (PL-5); nothing changes until it is approved."""
        change = submit_for_approval(
            flow=BATCH_FLOW, target=None, payload={"rows": rows}, user=user
        )
        return submitted([change.pk], len(rows))


register(ShortMarginImport())
