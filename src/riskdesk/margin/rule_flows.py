"""Approval flows of client margin rules (MR-5).

``margin.client_rule`` creates a rule (a client or a client group × a stock or a stock group,
long or short), edits its factors (and, short side, its shortable status and lending-pool
rules), or invalidates it (置为失效: payload ``{"status": "invalid"}``). ``margin.client_rule_batch``
creates the rows of an imported file as ONE request (PL-5).

A creation is keyed by its natural key, ``<side>:C:<client>|G:<group>:S:<stock>|SG:<stock
group>``, so one pending request proposes a given rule; an existing rule is keyed
``client-rule#<pk>``. A second *active* rule for the same side, subject and object is refused
at submission and again at apply, naming the rule that already covers it. Only margin-type
client groups (LS-2) may be used.
"""

import hashlib
import json

from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from riskdesk.approvals.models import ChangeRequest
from riskdesk.approvals.registry import FlowHandler, register
from riskdesk.book.models import Client, Instrument
from riskdesk.lists.models import ClientGroup
from riskdesk.margin.factors import FIELDS, clean_factors, of
from riskdesk.margin.models import ClientMarginRule, Shortable, StockGroup

Side = ClientMarginRule.Side
Status = ClientMarginRule.Status
SUBJECT_FIELDS = ("side", "client", "client_group", "stock", "stock_group")
SHORT_FIELDS = ("shortable", "auto_close_qty", "auto_restore_qty")
CREATE_FIELDS = (*SUBJECT_FIELDS, *FIELDS, *SHORT_FIELDS)
RULE_FLOW = "margin.client_rule"
BATCH_FLOW = "margin.client_rule_batch"
QTY_MAX = 10**15


def natural_key(row: dict) -> str:
    """``long:C:C1:S:700.HK`` — side, subject (C client / G client group), object (S stock /
    SG stock group)."""
    subject = f"C:{row['client']}" if row.get("client") else f"G:{row['client_group']}"
    thing = f"S:{row['stock']}" if row.get("stock") else f"SG:{row['stock_group']}"
    return f"{row['side']}:{subject}:{thing}"


def rule_key(rule: ClientMarginRule) -> str:
    return natural_key(
        {
            "side": rule.side,
            "client": rule.client.code if rule.client_id else None,
            "client_group": rule.client_group.name if rule.client_group_id else None,
            "stock": rule.instrument.code if rule.instrument_id else None,
            "stock_group": rule.stock_group.name if rule.stock_group_id else None,
        }
    )


def describe(rule: ClientMarginRule) -> str:
    """``long · client C1 × stock 700.HK`` for labels."""
    who = (
        f"client {rule.client.code}" if rule.client_id else f"client group {rule.client_group.name}"
    )
    what = (
        f"stock {rule.instrument.code}"
        if rule.instrument_id
        else f"stock group {rule.stock_group.name}"
    )
    return f"{rule.side} · {who} × {what}"


def _text(value) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError("a text value")
    return value.strip()


def _field_text(payload: dict, field: str) -> str:
    try:
        return _text(payload.get(field))
    except ValidationError:
        raise ValidationError({field: "must be text"}) from None


def _qty(value, field: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValidationError({field: "not a whole number"})
    if isinstance(value, int):
        number = value
    else:
        text = str(value).strip().replace(",", "")
        if not text.isdigit():
            raise ValidationError({field: "not a whole number of shares (0 or more)"})
        number = int(text)
    if number < 0:
        raise ValidationError({field: "must not be negative"})
    if number > QTY_MAX:
        raise ValidationError({field: "too large"})
    return number


def clean_short(merged: dict, current_shortable: str | None = None) -> dict:
    """Shortable status and lending-pool rules of a short rule, as MR-4: allowed or forbidden
    by hand (system-forbidden is the system's, kept when unchanged); auto-restore ≥ auto-close."""
    shortable = merged.get("shortable") or Shortable.ALLOWED
    if shortable not in Shortable.values:
        raise ValidationError({"shortable": f"one of {', '.join(Shortable.values)}"})
    if shortable == Shortable.SYSTEM_FORBIDDEN and current_shortable != Shortable.SYSTEM_FORBIDDEN:
        raise ValidationError(
            {
                "shortable": "system_forbidden is set by the system when the lending pool falls to the auto-close quantity"
            }
        )
    close = _qty(merged.get("auto_close_qty"), "auto_close_qty")
    restore = _qty(merged.get("auto_restore_qty"), "auto_restore_qty")
    if close is not None and restore is not None and restore < close:
        raise ValidationError(
            {"auto_restore_qty": f"must be at least the auto-close quantity ({close})"}
        )
    return {"shortable": shortable, "auto_close_qty": close, "auto_restore_qty": restore}


class Lookup:
    """The clients, groups, stocks and active rules that a set of rows names, in a handful of
    queries (a batch of many rows costs what one row costs)."""

    def __init__(self, rows: list[dict]):
        def codes(field):
            out = set()
            for row in rows:
                value = row.get(field)
                if isinstance(value, str) and value.strip():
                    out.add(value.strip())
            return out

        self.clients = {c.code: c for c in Client.objects.filter(code__in=codes("client"))}
        self.groups = {
            g.name: g for g in ClientGroup.objects.filter(name__in=codes("client_group"))
        }
        self.stocks = {i.code: i for i in Instrument.objects.filter(code__in=codes("stock"))}
        self.stock_groups = {
            g.name: g for g in StockGroup.objects.filter(name__in=codes("stock_group"))
        }
        active = ClientMarginRule.objects.filter(status=Status.ACTIVE).filter(
            client__in=self.clients.values()
        ) | ClientMarginRule.objects.filter(
            status=Status.ACTIVE, client_group__in=self.groups.values()
        )
        self.active = {
            rule_key(r): r.pk
            for r in active.select_related("client", "client_group", "instrument", "stock_group")
        }


def clean_new_rule(payload: dict, lookup: Lookup | None = None) -> dict:
    """A new rule's payload, normalised; ValidationError naming the field at fault."""
    if not isinstance(payload, dict):
        raise ValidationError({"rule": "an object"})
    lookup = lookup or Lookup([payload])
    unknown = sorted(set(payload) - set(CREATE_FIELDS))
    if unknown:
        raise ValidationError({unknown[0]: "unknown field"})
    side = payload.get("side")
    if side not in Side.values:
        raise ValidationError({"side": f"one of {', '.join(Side.values)}"})
    client = _field_text(payload, "client")
    group = _field_text(payload, "client_group")
    if client and group:
        raise ValidationError({"client_group": "give a client or a client group, not both"})
    if not client and not group:
        raise ValidationError({"client": "required: a client or a client group"})
    if client and client not in lookup.clients:
        raise ValidationError({"client": f"no client {client}"})
    if group:
        found = lookup.groups.get(group)
        if found is None:
            raise ValidationError({"client_group": f"no client group {group}"})
        if found.business_type != ClientGroup.BusinessType.MARGIN:
            raise ValidationError(
                {
                    "client_group": f"{group} is a {found.get_business_type_display().lower()} group; only margin groups can be used"
                }
            )
    stock = _field_text(payload, "stock")
    stock_group = _field_text(payload, "stock_group")
    if stock and stock_group:
        raise ValidationError({"stock_group": "give a stock or a stock group, not both"})
    if not stock and not stock_group:
        raise ValidationError({"stock": "required: a stock or a stock group"})
    if stock:
        instrument = lookup.stocks.get(stock)
        if instrument is None:
            raise ValidationError({"stock": f"no stock {stock}"})
        if instrument.kind == Instrument.Kind.OPTION:
            raise ValidationError(
                {"stock": f"{stock} is an option; client margin rules are for stocks"}
            )
    if stock_group and stock_group not in lookup.stock_groups:
        raise ValidationError({"stock_group": f"no stock group {stock_group}"})
    cleaned = {
        "side": side,
        "client": client or None,
        "client_group": group or None,
        "stock": stock or None,
        "stock_group": stock_group or None,
        **clean_factors(payload),
    }
    if side == Side.SHORT:
        cleaned.update(clean_short(payload))
    else:
        given = [f for f in SHORT_FIELDS if payload.get(f) not in (None, "")]
        if given:
            raise ValidationError({given[0]: "short rules only"})
    existing = lookup.active.get(natural_key(cleaned))
    if existing is not None:
        raise ValidationError(
            {
                "client" if client else "client_group": f"active rule #{existing} already covers "
                f"{natural_key(cleaned)}; edit it or invalidate it first"
            }
        )
    return cleaned


def create_rule(row: dict, lookup: Lookup) -> ClientMarginRule:
    rule = ClientMarginRule(
        side=row["side"],
        client=lookup.clients.get(row["client"]) if row["client"] else None,
        client_group=lookup.groups.get(row["client_group"]) if row["client_group"] else None,
        instrument=lookup.stocks.get(row["stock"]) if row["stock"] else None,
        stock_group=lookup.stock_groups.get(row["stock_group"]) if row["stock_group"] else None,
        status=Status.ACTIVE,
        **{f: row[f] for f in FIELDS},
    )
    if row["side"] == Side.SHORT:
        rule.shortable = row["shortable"]
        rule.auto_close_qty = row["auto_close_qty"]
        rule.auto_restore_qty = row["auto_restore_qty"]
    rule.save()
    return rule


def _pending_batches(exclude_key: str | None = None):
    qs = ChangeRequest.objects.filter(flow=BATCH_FLOW, status=ChangeRequest.Status.PENDING)
    if exclude_key:
        qs = qs.exclude(target_key=exclude_key)
    return qs


def pending_batch_keys(exclude_key: str | None = None) -> dict[str, int]:
    """Natural keys proposed by pending batch requests → the request id."""
    keys = {}
    for request in _pending_batches(exclude_key).only("pk", "payload"):
        for row in request.payload.get("rows", []):
            keys.setdefault(natural_key(row), request.pk)
    return keys


def _subject_field(row: dict) -> str:
    return "client" if row.get("client") else "client_group"


LABELS = {
    "side": _("Side"),
    "client": _("Client"),
    "client_group": _("Client group"),
    "stock": _("Stock"),
    "stock_group": _("Stock group"),
    "im": _("Initial margin"),
    "mcm": _("Margin-call margin"),
    "mm": _("Maintenance margin"),
    "fm": _("Force-close margin"),
    "shortable": _("Shortable"),
    "auto_close_qty": _("Auto-close quantity"),
    "auto_restore_qty": _("Auto-restore quantity"),
    "status": _("Status"),
    "rows": _("Rules"),
}


class ClientRuleFlow(FlowHandler):
    key = RULE_FLOW
    title = _("Client margin rule")
    submit_permission = "margin.change_clientmarginrule"
    default_steps = [{"role": "risk_approver", "approvals": 1}]

    @property
    def field_labels(self):
        return LABELS

    def target_key(self, target) -> str:
        return f"client-rule#{target.pk}"

    def target_key_for_payload(self, payload: dict) -> str:
        return natural_key(payload)

    def target_label(self, target) -> str:
        return f"{self.title} #{target.pk} ({describe(target)})"

    def resolve(self, target_key: str):
        if not target_key.startswith("client-rule#"):
            return None  # a rule still to be created
        pk = int(target_key.partition("#")[2])
        rule = (
            ClientMarginRule.objects.select_related(
                "client", "client_group", "instrument", "stock_group"
            )
            .filter(pk=pk)
            .first()
        )
        if rule is None:
            raise ValidationError(f"client margin rule #{pk} no longer exists")
        return rule

    def snapshot(self, target) -> dict:
        values = dict(of(target))
        if target.side == Side.SHORT:
            values.update(
                shortable=target.shortable,
                auto_close_qty=target.auto_close_qty,
                auto_restore_qty=target.auto_restore_qty,
            )
        values["status"] = target.status
        return values

    def clean(self, payload: dict, target) -> dict:
        if target is None:
            cleaned = clean_new_rule(payload)
            proposed = pending_batch_keys().get(natural_key(cleaned))
            if proposed is not None:
                raise ValidationError(
                    {
                        _subject_field(
                            cleaned
                        ): f"batch request #{proposed} already proposes this rule"
                    }
                )
            return cleaned
        return self._clean_change(payload, target)

    def _clean_change(self, payload: dict, target) -> dict:
        current = self.snapshot(target)
        if target.status == Status.INVALID:
            raise ValidationError({"status": "the rule is invalidated; create a new rule instead"})
        for field in sorted(payload):
            if field in SUBJECT_FIELDS:
                raise ValidationError(
                    {field: "cannot be changed; invalidate this rule and create a new one"}
                )
            if field not in current:
                raise ValidationError(
                    {field: "short rules only" if field in SHORT_FIELDS else "unknown field"}
                )
        merged = {**current, **payload}
        status = merged.get("status")
        if status not in Status.values:
            raise ValidationError({"status": f"one of {', '.join(Status.values)}"})
        cleaned = dict(clean_factors(merged))
        if target.side == Side.SHORT:
            cleaned.update(clean_short(merged, current_shortable=target.shortable))
        cleaned["status"] = status
        if status == Status.INVALID:
            changed = [f for f in cleaned if f != "status" and cleaned[f] != current[f]]
            if changed:
                raise ValidationError({changed[0]: "an invalidation changes nothing else"})
        return cleaned

    def apply(self, payload: dict, target, *, request) -> str:
        if target is None:
            rule = create_rule(payload, Lookup([payload]))
            return reverse("margin:client-rule", args=[rule.pk])
        for field in FIELDS:
            setattr(target, field, payload[field])
        if target.side == Side.SHORT:
            for field in SHORT_FIELDS:
                setattr(target, field, payload[field])
        target.status = payload["status"]
        target.save()
        return reverse("margin:client-rule", args=[target.pk])


def batch_key(rows: list[dict]) -> str:
    digest = hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest()[:16]
    return f"client-rule-batch:{digest}"


def clean_rows(rows, *, exclude_key: str | None = None) -> list[dict]:
    """Every row of a batch, cleaned; the first bad row named as ``rows.<n>.<field>``."""
    if not isinstance(rows, list) or not rows:
        raise ValidationError({"rows": "a non-empty list of rules"})
    lookup = Lookup([r for r in rows if isinstance(r, dict)])
    singles = dict(
        ChangeRequest.objects.filter(
            flow=RULE_FLOW, status=ChangeRequest.Status.PENDING
        ).values_list("target_key", "pk")
    )
    batches = pending_batch_keys(exclude_key)
    cleaned, seen = [], {}
    for n, row in enumerate(rows, start=1):
        try:
            one = clean_new_rule(row, lookup)
        except ValidationError as exc:
            field, messages = next(iter(exc.message_dict.items()))
            raise ValidationError({f"rows.{n}.{field}": messages[0]}) from None
        key = natural_key(one)
        where = f"rows.{n}.{_subject_field(one)}"
        if key in seen:
            raise ValidationError({where: f"same rule as row {seen[key]}"})
        if key in singles:
            raise ValidationError({where: f"request #{singles[key]} already proposes this rule"})
        if key in batches:
            raise ValidationError(
                {where: f"batch request #{batches[key]} already proposes this rule"}
            )
        seen[key] = n
        cleaned.append(one)
    return cleaned


class ClientRuleBatchFlow(FlowHandler):
    """An imported file of new client margin rules: one request, applied whole or not at all."""

    key = BATCH_FLOW
    title = _("Client margin rules (batch)")
    submit_permission = "margin.change_clientmarginrule"
    default_steps = [{"role": "risk_approver", "approvals": 1}]

    @property
    def field_labels(self):
        return LABELS

    def target_key_for_payload(self, payload: dict) -> str:
        return batch_key(payload["rows"])

    def resolve(self, target_key: str):
        return None

    def snapshot(self, target) -> dict:
        return {}

    def clean(self, payload: dict, target) -> dict:
        unknown = sorted(set(payload) - {"rows"})
        if unknown:
            raise ValidationError({unknown[0]: "unknown field"})
        rows = payload.get("rows")
        exclude = batch_key(rows) if isinstance(rows, list) else None
        return {"rows": clean_rows(rows, exclude_key=exclude)}

    def apply(self, payload: dict, target, *, request) -> str:
        lookup = Lookup(payload["rows"])
        for row in payload["rows"]:
            create_rule(row, lookup)
        side = payload["rows"][0]["side"]
        return reverse("margin:client-short" if side == Side.SHORT else "margin:client-long")


register(ClientRuleFlow())
register(ClientRuleBatchFlow())
