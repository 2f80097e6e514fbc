"""Editing a flow's routes (PL-3), one line per route:

    total_credit_change > 1000000: risk_approver x2, administrator x1
    default: risk_approver x1

Routes are tried top to bottom; the last line must be ``default``. Each step names a role and
how many different people of that role must approve.
"""

import re
from decimal import Decimal, InvalidOperation

from django import forms
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from riskdesk.approvals.governed import administering
from riskdesk.approvals.models import FlowRoute, FlowStep
from riskdesk.users.roles import ROLE_PERMISSIONS

CONDITION = re.compile(r"^\s*([a-z_][a-z0-9_.]*)\s*(<=|>=|<|>)\s*([0-9][0-9,]*(\.[0-9]{1,2})?)\s*$")
STEP = re.compile(r"^\s*([a-z_]+)\s*[x×]\s*([0-9]+)\s*$")


def render_routes(flow) -> str:
    lines = []
    for route in flow.routes.all():
        head = (
            "default"
            if route.is_default
            else f"{route.condition_field} {route.condition_op} {route.condition_value}"
        )
        steps = ", ".join(f"{s.role} x{s.approvals}" for s in route.steps.all())
        lines.append(f"{head}: {steps}")
    return "\n".join(lines)


def parse_routes(text: str) -> list[dict]:
    routes = []
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise forms.ValidationError(_("A flow needs at least the default route."))
    for n, line in enumerate(lines, start=1):
        if ":" not in line:
            raise forms.ValidationError(_("line %(n)s: write 'condition: role xN, …'") % {"n": n})
        head, _sep, tail = line.partition(":")
        route = {"steps": []}
        if head.strip() == "default":
            if n != len(lines):
                raise forms.ValidationError(
                    _("line %(n)s: the default route must be the last line") % {"n": n}
                )
            route.update(field="", op="", value=None)
        else:
            match = CONDITION.match(head)
            if not match:
                raise forms.ValidationError(
                    _("line %(n)s: a condition is 'field > amount' (<, <=, >, >=)") % {"n": n}
                )
            try:
                value = Decimal(match.group(3).replace(",", ""))
            except InvalidOperation:
                raise forms.ValidationError(_("line %(n)s: not an amount") % {"n": n}) from None
            route.update(field=match.group(1), op=match.group(2), value=value)
        for part in tail.split(","):
            match = STEP.match(part)
            if not match:
                raise forms.ValidationError(
                    _("line %(n)s: a step is 'role xN', e.g. risk_approver x2") % {"n": n}
                )
            role, count = match.group(1), int(match.group(2))
            if role not in ROLE_PERMISSIONS:
                raise forms.ValidationError(
                    _("line %(n)s: unknown role %(r)s") % {"n": n, "r": role}
                )
            if count < 1:
                raise forms.ValidationError(
                    _("line %(n)s: at least one approval per step") % {"n": n}
                )
            route["steps"].append({"role": role, "approvals": count})
        routes.append(route)
    if routes[-1]["field"]:
        raise forms.ValidationError(_("The last line must be the default route ('default: …')."))
    return routes


class FlowForm(forms.Form):
    routes = forms.CharField(
        label=_("Routes"), widget=forms.Textarea(attrs={"rows": 6, "cols": 80})
    )

    def __init__(self, *args, flow, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["routes"].initial = render_routes(flow)

    def clean_routes(self):
        return parse_routes(self.cleaned_data["routes"])


@transaction.atomic
def save_flow(flow, routes: list[dict], *, user) -> None:
    """Replace the flow's routes; pending requests keep the steps they were submitted with."""
    with administering(user.username):
        for route in flow.routes.all():
            for step in route.steps.all():
                step.delete()
            route.delete()
        for position, spec in enumerate(routes, start=1):
            route = FlowRoute.objects.create(
                flow=flow,
                position=position,
                condition_field=spec["field"],
                condition_op=spec["op"],
                condition_value=spec["value"],
            )
            for n, step in enumerate(spec["steps"], start=1):
                FlowStep.objects.create(
                    route=route, position=n, role=step["role"], approvals=step["approvals"]
                )
