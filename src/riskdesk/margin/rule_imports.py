"""Batch imports on the shared import flow (PL-5) that become change requests:

* ``margin.client_rules`` — new client margin rules (MR-5); confirming the file submits ONE
  ``margin.client_rule_batch`` request with every row;
* ``margin.stock_group_members`` — members added to stock groups (PL-12); and the shared
  ``MemberImport`` that client groups (LS-2) reuse. Confirming submits one request of the
  group's own flow per group named in the file (one file for one group: one request), so a
  group never has two pending changes.

Each row is checked with the flow's own validation, so the preview shows the reason the
approval centre would give.
"""

from collections import defaultdict

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from riskdesk.approvals.models import ChangeRequest
from riskdesk.approvals.registry import handler_for
from riskdesk.book.models import Instrument
from riskdesk.console.imports import (
    Field,
    ImportSpec,
    RowError,
    register,
    row_error,
    submit_for_approval,
    submitted,
)
from riskdesk.margin.models import ClientMarginRule, Shortable, StockGroup, StockGroupMember
from riskdesk.margin.rule_flows import (
    BATCH_FLOW,
    CREATE_FIELDS,
    RULE_FLOW,
    clean_new_rule,
    natural_key,
    pending_batch_keys,
)


def _choice(values):
    def parse(raw: str) -> str:
        value = raw.strip().lower()
        if value not in values:
            raise ValueError(_("'%(v)s' is not one of %(c)s") % {"v": raw, "c": ", ".join(values)})
        return value

    return parse


class ClientRuleImport(ImportSpec):
    key = "margin.client_rules"
    title = _("Client margin rules")
    feature = "MR-5"
    permission = "margin.change_clientmarginrule"
    unique_together = ("side", "client", "client_group", "stock", "stock_group")
    done_url = "approvals:mine"
    fields = (
        Field(
            "side",
            _("Side"),
            _("long or short"),
            "long",
            parse=_choice(ClientMarginRule.Side.values),
        ),
        Field(
            "client",
            _("Client"),
            _("Client code; leave empty when a client group is given"),
            "C000001",
            required=False,
        ),
        Field(
            "client_group",
            _("Client group"),
            _("Name of a margin-type client group; leave empty when a client is given"),
            "",
            required=False,
        ),
        Field(
            "stock",
            _("Stock"),
            _("Stock code; leave empty when a stock group is given"),
            "700.HK",
            required=False,
        ),
        Field(
            "stock_group",
            _("Stock group"),
            _("Stock group name; leave empty when a stock is given"),
            "",
            required=False,
        ),
        Field(
            "im",
            _("Initial margin"),
            _("0 to 1, at most 4 decimal places; 1 ≥ im ≥ mcm ≥ mm ≥ fm ≥ 0"),
            "0.5",
        ),
        Field("mcm", _("Margin-call margin"), _("0 to im"), "0.4"),
        Field("mm", _("Maintenance margin"), _("0 to mcm"), "0.3"),
        Field("fm", _("Force-close margin"), _("0 to mm"), "0.2"),
        Field(
            "shortable",
            _("Shortable"),
            _("Short rules: allowed or forbidden; default allowed"),
            "",
            required=False,
            parse=_choice([Shortable.ALLOWED, Shortable.FORBIDDEN]),
        ),
        Field(
            "auto_close_qty",
            _("Auto-close quantity"),
            _("Short rules: forbid short selling when the lending pool falls to this"),
            "",
            required=False,
        ),
        Field(
            "auto_restore_qty",
            _("Auto-restore quantity"),
            _("Short rules: allow it again at this pool (≥ auto-close)"),
            "",
            required=False,
        ),
    )

    def _payload(self, values: dict) -> dict:
        return {k: values.get(k) for k in CREATE_FIELDS if values.get(k) not in (None, "")}

    def check_row(self, values: dict) -> None:
        try:
            row = clean_new_rule(self._payload(values))
        except ValidationError as exc:
            raise row_error(exc) from None
        key = natural_key(row)
        pending = ChangeRequest.objects.filter(
            flow=RULE_FLOW, target_key=key, status=ChangeRequest.Status.PENDING
        ).first()
        if pending is not None:
            raise RowError(_("request #%(n)s already proposes this rule") % {"n": pending.pk})
        batch = pending_batch_keys().get(key)
        if batch is not None:
            raise RowError(_("batch request #%(n)s already proposes this rule") % {"n": batch})

    def apply(self, rows: list[dict], *, user) -> dict:
        change = submit_for_approval(
            flow=BATCH_FLOW,
            target=None,
            payload={"rows": [self._payload(r) for r in rows]},
            user=user,
            note=str(_("Batch import of %(n)s client margin rules") % {"n": len(rows)}),
        )
        return submitted([change.pk], len(rows))


class MemberImport(ImportSpec):
    """Rows of (group, member code) → one request of the group's flow per group."""

    flow = ""
    group_model = None
    member_model = None
    member_field = ""
    member_key = ""  # the file column of the member code
    unique_together = ("group",)  # with member_key, set by subclasses
    done_url = "approvals:mine"

    def member(self, code: str):
        raise NotImplementedError

    def check_row(self, values: dict) -> None:
        group = self.group_model.objects.filter(name=values["group"]).first()
        if group is None:
            raise RowError(_("group: no group %(g)s") % {"g": values["group"]})
        code = values[self.member_key]
        member = self.member(code)
        if member is None:
            raise RowError(_("%(f)s: no %(f)s %(c)s") % {"f": self.member_key, "c": code})
        if self.member_model.objects.filter(group=group, **{self.member_field: member}).exists():
            raise RowError(_("%(c)s is already in %(g)s") % {"c": code, "g": group.name})
        handler = handler_for(self.flow)
        pending = ChangeRequest.objects.filter(
            flow=self.flow,
            target_key=handler.target_key(group),
            status=ChangeRequest.Status.PENDING,
        ).first()
        if pending is not None:
            raise RowError(
                _("request #%(n)s already proposes a change of %(g)s")
                % {"n": pending.pk, "g": group.name}
            )

    def apply(self, rows: list[dict], *, user) -> dict:
        handler = handler_for(self.flow)
        added = defaultdict(list)
        for row in rows:
            added[row["group"]].append(row[self.member_key])
        requests = []
        for name in sorted(added):
            group = self.group_model.objects.get(name=name)
            members = handler.member_codes(group) + added[name]
            change = submit_for_approval(
                flow=self.flow,
                target=group,
                payload={"members": members},
                user=user,
                note=str(_("Batch import of %(n)s members") % {"n": len(added[name])}),
            )
            requests.append(change.pk)
        return submitted(requests, len(rows))


class StockGroupMemberImport(MemberImport):
    key = "margin.stock_group_members"
    title = _("Stock group members")
    feature = "PL-12"
    permission = "margin.change_stockgroup"
    flow = "margin.stock_group"
    group_model = StockGroup
    member_model = StockGroupMember
    member_field = "instrument"
    member_key = "stock"
    unique_together = ("group", "stock")
    fields = (
        Field("group", _("Stock group"), _("Name of an existing stock group"), "HK blue chips"),
        Field("stock", _("Stock"), _("Stock code with market suffix"), "700.HK"),
    )

    def member(self, code: str):
        return Instrument.objects.exclude(kind=Instrument.Kind.OPTION).filter(code=code).first()


register(ClientRuleImport())
register(StockGroupMemberImport())
