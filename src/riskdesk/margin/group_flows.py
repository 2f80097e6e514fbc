"""Approval flows of named groups: stock groups (PL-12, ``margin.stock_group``) here, and the
shared ``GroupFlow`` that client groups (LS-2, ``lists.client_group``) reuse.

One flow per kind of group does everything to a group: create it, rename it, change its note
(and, for client groups, its business type), set its members as a full list of codes, delete
it. Membership decides which client margin rule applies to a position (MR-6), so it never
bypasses maker-checker. A group that an active client margin rule uses cannot be deleted.
"""

from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from riskdesk.approvals.registry import FlowHandler, register
from riskdesk.book.models import Instrument
from riskdesk.margin.models import ClientMarginRule, StockGroup, StockGroupMember

NAME_MAX = 100
NOTE_MAX = 200


def split_codes(value) -> list[str]:
    """Codes from a list, or from pasted text (one per line, or separated by commas,
    semicolons or tabs); blanks dropped, order kept, duplicates removed."""
    if value is None:
        return []
    if isinstance(value, str):
        for sep in (",", ";", "\t", "\r"):
            value = value.replace(sep, "\n")
        items = value.split("\n")
    elif isinstance(value, list | tuple):
        items = value
    else:
        raise ValidationError({"members": "a list of codes"})
    codes = []
    for item in items:
        if not isinstance(item, str):
            raise ValidationError({"members": "a list of codes"})
        code = item.strip()
        if code and code not in codes:
            codes.append(code)
    return codes


class GroupFlow(FlowHandler):
    """Create / edit / set members / delete a named group, through approval."""

    prefix = ""  # target keys: "<prefix>:<name>" to create, "<prefix>#<pk>" for a group
    group_model = None
    member_model = None
    member_field = ""  # the member's FK on member_model: "instrument" | "client"
    code_model = None  # where member codes are looked up (``code`` field)
    rule_field = ""  # the ClientMarginRule FK naming this kind of group
    detail_url = ""
    list_url = ""
    extra_fields: tuple[str, ...] = ()
    member_noun = ""

    @property
    def field_labels(self):
        return {
            "name": _("Group name"),
            "note": _("Note"),
            "members": _("Members"),
            "deleted": _("Delete the group"),
        }

    # --- keys ----------------------------------------------------------------------------------

    def target_key(self, target) -> str:
        return f"{self.prefix}#{target.pk}"

    def target_key_for_payload(self, payload: dict) -> str:
        return f"{self.prefix}:{payload['name']}"

    def target_label(self, target) -> str:
        return f"{self.title} {target.name}"

    def resolve(self, target_key: str):
        if not target_key.startswith(f"{self.prefix}#"):
            return None  # a group still to be created
        pk = target_key.partition("#")[2]
        group = self.group_model.objects.filter(pk=int(pk)).first()
        if group is None:
            raise ValidationError(f"{self.title} #{pk} no longer exists")
        return group

    # --- reads ---------------------------------------------------------------------------------

    def member_codes(self, group) -> list[str]:
        return sorted(
            self.member_model.objects.filter(group=group).values_list(
                f"{self.member_field}__code", flat=True
            )
        )

    def active_rules(self, group):
        return ClientMarginRule.objects.filter(
            status=ClientMarginRule.Status.ACTIVE, **{self.rule_field: group}
        ).order_by("pk")

    def snapshot(self, target) -> dict:
        values = {"name": target.name, "note": target.note}
        for field in self.extra_fields:
            values[field] = getattr(target, field)
        values["members"] = self.member_codes(target)
        return values

    # --- validation ----------------------------------------------------------------------------

    def clean_extra(self, merged: dict, target) -> dict:
        return {}

    def member_query(self):
        return self.code_model.objects.all()

    def clean_members(self, value) -> list[str]:
        codes = split_codes(value)
        found = set(self.member_query().filter(code__in=codes).values_list("code", flat=True))
        missing = [c for c in codes if c not in found]
        if missing:
            shown = ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")
            raise ValidationError({"members": f"no {self.member_noun} {shown}"})
        return sorted(codes)

    def clean(self, payload: dict, target) -> dict:
        allowed = {"name", "note", "members", "delete", "deleted", *self.extra_fields}
        unknown = sorted(set(payload) - allowed)
        if unknown:
            raise ValidationError({unknown[0]: "unknown field"})
        if payload.get("delete") or payload.get("deleted"):
            return self._clean_delete(payload, target)
        current = self.snapshot(target) if target is not None else {}
        merged = {**current, **{k: v for k, v in payload.items() if k not in ("delete", "deleted")}}
        name = str(merged.get("name") or "").strip()
        if not name:
            raise ValidationError({"name": "required"})
        if len(name) > NAME_MAX:
            raise ValidationError({"name": f"at most {NAME_MAX} characters"})
        if "#" in name:
            raise ValidationError({"name": "must not contain #"})
        clash = self.group_model.objects.filter(name=name)
        if target is not None:
            clash = clash.exclude(pk=target.pk)
        if clash.exists():
            raise ValidationError(
                {"name": f"a {str(self.title).lower()} named {name} already exists"}
            )
        note = str(merged.get("note") or "").strip()
        if len(note) > NOTE_MAX:
            raise ValidationError({"note": f"at most {NOTE_MAX} characters"})
        cleaned = {"name": name, "note": note, **self.clean_extra(merged, target)}
        cleaned["members"] = self.clean_members(merged.get("members"))
        return cleaned

    def _clean_delete(self, payload: dict, target) -> dict:
        if target is None:
            raise ValidationError({"delete": "only an existing group can be deleted"})
        others = sorted(set(payload) - {"delete", "deleted"})
        if others:
            raise ValidationError({others[0]: "a deletion changes nothing else"})
        used = list(self.active_rules(target).values_list("pk", flat=True))
        if used:
            rules = ", ".join(f"#{pk}" for pk in used[:10])
            raise ValidationError(
                {
                    "delete": f"active client margin rules use this group ({rules}); invalidate them first"
                }
            )
        return {"deleted": True}

    # --- apply ---------------------------------------------------------------------------------

    def apply(self, payload: dict, target, *, request) -> str:
        if payload.get("deleted"):
            # Invalidated rules that named the group go with it (their change records stay);
            # clean() has refused the deletion while an active rule uses it.
            for rule in ClientMarginRule.objects.filter(**{self.rule_field: target}):
                rule.delete()
            for member in self.member_model.objects.filter(group=target):
                member.delete()
            target.delete()
            return reverse(self.list_url)
        if target is None:
            target = self.group_model(name=payload["name"], note=payload["note"])
            for field in self.extra_fields:
                setattr(target, field, payload[field])
            target.save()
        else:
            changed = False
            for field in ("name", "note", *self.extra_fields):
                if getattr(target, field) != payload[field]:
                    setattr(target, field, payload[field])
                    changed = True
            if changed:
                target.save()
        self._set_members(target, payload["members"])
        return reverse(self.detail_url, args=[target.pk])

    def _set_members(self, group, codes: list[str]) -> None:
        wanted = set(codes)
        members = self.member_model.objects.filter(group=group).select_related(self.member_field)
        current = {getattr(m, self.member_field).code: m for m in members}
        for code, member in current.items():
            if code not in wanted:
                member.delete()
        added = wanted - set(current)
        objects = {o.code: o for o in self.code_model.objects.filter(code__in=added)}
        for code in sorted(added):
            self.member_model.objects.create(group=group, **{self.member_field: objects[code]})


class StockGroupFlow(GroupFlow):
    key = "margin.stock_group"
    title = _("Stock group")
    submit_permission = "margin.change_stockgroup"
    default_steps = [{"role": "risk_approver", "approvals": 1}]
    prefix = "stock-group"
    group_model = StockGroup
    member_model = StockGroupMember
    member_field = "instrument"
    code_model = Instrument
    rule_field = "stock_group"
    detail_url = "margin:stock-group"
    list_url = "margin:stock-groups"
    member_noun = "stock"

    def member_query(self):
        return Instrument.objects.exclude(kind=Instrument.Kind.OPTION)


register(StockGroupFlow())
