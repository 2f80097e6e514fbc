"""Approval flows of short margin (MR-4): one stock (``margin.short``) and a batch file
(``margin.short_batch``, one request for the whole batch, PL-5).

A change sets the short ratio (1 ≥ IM ≥ MCM ≥ MM ≥ FM ≥ 0), the hand status (allowed or
forbidden; system-forbidden is the lending-pool rule's, never a person's) and the pool rule
(auto-close and auto-restore quantities, each optional, restore ≥ close). On apply the pool
rule runs at once against the last reported pool: a stock set to "allowed" whose pool is
already at or below its auto-close quantity becomes system-forbidden, with the reason.
"""

import hashlib
import json
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from riskdesk.approvals.registry import FlowHandler, register
from riskdesk.approvals.services import first_error
from riskdesk.margin.factors import FIELDS as FACTOR_FIELDS
from riskdesk.margin.factors import clean_factors, of
from riskdesk.margin.models import Shortable, ShortMargin
from riskdesk.margin.short_services import apply_pool_rule

FLOW = "margin.short"
BATCH_FLOW = "margin.short_batch"
FIELDS = ("code", *FACTOR_FIELDS, "shortable", "auto_close_qty", "auto_restore_qty")
HAND = (Shortable.ALLOWED.value, Shortable.FORBIDDEN.value)
KINDS = ("stock", "etf")
BATCH_MAX = 5_000
QTY_MAX = 10**15


def field_labels() -> dict:
    return {
        "code": _("Stock"),
        "im": _("Initial margin (IM)"),
        "mcm": _("Margin-call margin (MCM)"),
        "mm": _("Maintenance margin (MM)"),
        "fm": _("Force-close margin (FM)"),
        "shortable": _("Shortable"),
        "auto_close_qty": _("Auto-close quantity"),
        "auto_restore_qty": _("Auto-restore quantity"),
    }


def target_key_of(code: str) -> str:
    return f"short:{code}"


def parse_quantity(value, field: str) -> int | None:
    """A non-negative whole number of shares, or None (no rule). ``1,000`` is read as 1000."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValidationError({field: "a whole number of shares"})
    if isinstance(value, int):
        number = value
    else:
        text = str(value).strip().replace(",", "")
        try:
            number = int(text)
        except ValueError:
            try:
                exact = Decimal(text)
            except ArithmeticError:
                raise ValidationError({field: "a whole number of shares"}) from None
            if not exact.is_finite() or exact != exact.to_integral_value():
                raise ValidationError({field: "a whole number of shares"}) from None
            number = int(exact)
    if number < 0:
        raise ValidationError({field: "must not be negative"})
    if number >= QTY_MAX:
        raise ValidationError({field: "too large"})
    return number


def snapshot_of(row: ShortMargin) -> dict:
    return {
        "code": row.instrument.code,
        **of(row),
        "shortable": row.shortable,
        "auto_close_qty": row.auto_close_qty,
        "auto_restore_qty": row.auto_restore_qty,
    }


def row_for(code: str) -> ShortMargin | None:
    return ShortMargin.objects.select_related("instrument").filter(instrument__code=code).first()


def clean_stock(payload: dict, row: ShortMargin | None) -> dict:
    """One stock's change, merged over its record as it is now; ValidationError naming the field.

    Shared by the one-stock flow, the batch flow and the batch import (one rule, one place).
    """
    unknown = sorted(set(payload) - set(FIELDS))
    if unknown:
        raise ValidationError({unknown[0]: "unknown field"})
    current = snapshot_of(row) if row is not None else {}
    merged = {**current, **payload}
    code = str(merged.get("code") or "").strip()
    if row is not None:
        if code != row.instrument.code:
            raise ValidationError(
                {"code": f"this record is {row.instrument.code}; it cannot change"}
            )
    else:
        from riskdesk.book.models import Instrument

        if not code:
            raise ValidationError({"code": "required"})
        instrument = Instrument.objects.filter(code=code).first()
        if instrument is None:
            raise ValidationError({"code": f"no stock {code}"})
        if instrument.kind not in KINDS:
            raise ValidationError(
                {"code": f"{code} is {instrument.kind}: short margin is for stocks and ETFs"}
            )
        if ShortMargin.objects.filter(instrument=instrument).exists():
            raise ValidationError({"code": f"{code} already has a short margin ratio; edit it"})
    factors = clean_factors(merged)
    shortable = merged.get("shortable") or Shortable.ALLOWED.value
    if shortable not in Shortable.values:
        raise ValidationError({"shortable": f"one of {', '.join(HAND)}"})
    if shortable not in HAND and (row is None or row.shortable != shortable):
        raise ValidationError(
            {
                "shortable": "system_forbidden is set by the system from the lending pool; "
                f"choose one of {', '.join(HAND)}"
            }
        )
    close = parse_quantity(merged.get("auto_close_qty"), "auto_close_qty")
    restore = parse_quantity(merged.get("auto_restore_qty"), "auto_restore_qty")
    if close is not None and restore is not None and restore < close:
        raise ValidationError(
            {
                "auto_restore_qty": f"must be at least the auto-close quantity ({close:,}): "
                "the auto-restore quantity must be ≥ the auto-close quantity"
            }
        )
    return {
        "code": code,
        **factors,
        "shortable": shortable,
        "auto_close_qty": close,
        "auto_restore_qty": restore,
    }


def write(data: dict, row: ShortMargin | None, *, request_id: int) -> ShortMargin:
    """Write one cleaned change (inside ``governed.applying``), then run the pool rule."""
    if row is None:
        from riskdesk.book.models import Instrument

        row = ShortMargin(instrument=Instrument.objects.get(code=data["code"]))
    for f in FACTOR_FIELDS:
        setattr(row, f, Decimal(data[f]))
    row.auto_close_qty = data["auto_close_qty"]
    row.auto_restore_qty = data["auto_restore_qty"]
    if row.pk is None or data["shortable"] != row.shortable:
        row.shortable = data["shortable"]
        row.status_reason = {
            Shortable.ALLOWED: f"allowed by hand (request #{request_id})",
            Shortable.FORBIDDEN: f"forbidden by hand (request #{request_id})",
        }.get(data["shortable"], row.status_reason)
    apply_pool_rule(row)
    row.save()
    return row


class ShortChange(FlowHandler):
    key = FLOW
    title = _("Short margin")
    submit_permission = "margin.change_shortmargin"
    default_steps = [{"role": "risk_approver", "approvals": 1}]

    @property
    def field_labels(self):
        return field_labels()

    def target_key(self, target) -> str:
        return target_key_of(target.instrument.code)

    def target_key_for_payload(self, payload: dict) -> str:
        return target_key_of(payload["code"])

    def target_label(self, target) -> str:
        return f"{target.instrument.code} {target.instrument.name} · {_('short margin')}"

    def resolve(self, target_key: str):
        return row_for(target_key.removeprefix("short:"))

    def snapshot(self, target) -> dict:
        return snapshot_of(target)

    def clean(self, payload: dict, target) -> dict:
        return clean_stock(payload, target)

    def condition_values(self, payload: dict, before: dict) -> dict:
        im = Decimal(payload["im"])
        return {"im": im, "im_change": abs(im - Decimal(before.get("im") or im))}

    def apply(self, payload: dict, target, *, request) -> str:
        row = write(payload, target, request_id=request.pk)
        return reverse("margin:short-detail", args=[row.instrument_id])


def _digest(rows: list[dict]) -> str:
    body = [{k: v for k, v in r.items() if k != "before"} for r in rows]
    return hashlib.sha1(json.dumps(body, sort_keys=True).encode()).hexdigest()[:10]


class ShortBatch(FlowHandler):
    """A batch of short margin changes: one request, applied whole or not at all."""

    key = BATCH_FLOW
    title = _("Short margin batch")
    submit_permission = "margin.change_shortmargin"
    default_steps = [{"role": "risk_approver", "approvals": 1}]

    @property
    def field_labels(self):
        return {"rows": _("Stocks")}

    def target_key(self, target) -> str:
        raise NotImplementedError("a batch creates its own key")

    def target_key_for_payload(self, payload: dict) -> str:
        rows = payload["rows"]
        return (
            f"short batch: {len(rows)} stocks, {rows[0]['code']} … {rows[-1]['code']} "
            f"({_digest(rows)})"
        )

    def resolve(self, target_key: str):
        return None

    def snapshot(self, target) -> dict:
        return {}

    def clean(self, payload: dict, target) -> dict:
        """Every row as ``clean_stock`` checks it, each with the record it saw (``before``);
        at apply a row whose record has changed since fails the batch. Errors name the row."""
        unknown = sorted(set(payload) - {"rows"})
        if unknown:
            raise ValidationError({unknown[0]: "unknown field"})
        rows = payload.get("rows")
        if not isinstance(rows, list) or not rows:
            raise ValidationError({"rows": "a list of at least one stock"})
        if len(rows) > BATCH_MAX:
            raise ValidationError({"rows": f"at most {BATCH_MAX:,} stocks per batch"})
        seen: dict[str, int] = {}
        cleaned, changes = [], 0
        for i, raw in enumerate(rows, start=1):
            if not isinstance(raw, dict):
                raise ValidationError({f"rows.{i}": "not an object"})
            code = str(raw.get("code") or "").strip()
            if code in seen:
                raise ValidationError({f"rows.{i}.code": f"{code}: duplicate of row {seen[code]}"})
            seen[code] = i
            row = row_for(code) if code else None
            current = snapshot_of(row) if row is not None else None
            if "before" in raw and raw["before"] != current:
                raise ValidationError(
                    {f"rows.{i}": f"{code}: the record changed since the batch was submitted"}
                )
            try:
                data = clean_stock({k: v for k, v in raw.items() if k != "before"}, row)
            except ValidationError as exc:
                field, reason = first_error(exc)
                raise ValidationError({f"rows.{i}.{field}": f"{code or '?'}: {reason}"}) from None
            if current is None or data != current:
                changes += 1
            cleaned.append({**data, "before": current})
        if not changes:
            raise ValidationError({"rows": "nothing would change"})
        return {"rows": cleaned}

    def condition_values(self, payload: dict, before: dict) -> dict:
        return {"rows": Decimal(len(payload["rows"]))}

    def apply(self, payload: dict, target, *, request) -> str:
        for data in payload["rows"]:
            before = data["before"]
            change = {k: v for k, v in data.items() if k != "before"}
            if before is not None and change == before:
                continue  # confirmed as it is: no change record
            write(change, row_for(data["code"]), request_id=request.pk)
        return reverse("margin:short")


register(ShortChange())
register(ShortBatch())
