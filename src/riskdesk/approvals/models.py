"""The approval centre (PL-3): flows as data, change requests, and every action taken on them."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from riskdesk.approvals.governed import GovernedModel, governed_history


class Flow(GovernedModel):
    """How requests of one flow key are approved; its routes are tried in order."""

    key = models.CharField(_("flow key"), max_length=64, unique=True)
    title = models.CharField(_("title"), max_length=200)
    history = governed_history()

    class Meta:
        ordering = ["key"]
        verbose_name = _("approval flow")
        permissions = [("manage_flows", "Can edit approval flows")]

    def __str__(self) -> str:
        return self.key


class FlowRoute(GovernedModel):
    """Used when its condition holds on the request (the first matching route wins); a route
    without a condition is the default and must come last."""

    class Op(models.TextChoices):
        LE = "<=", "≤"
        LT = "<", "<"
        GE = ">=", "≥"
        GT = ">", ">"

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="routes")
    position = models.PositiveSmallIntegerField(_("order"))
    condition_field = models.CharField(_("condition on"), max_length=64, blank=True)
    condition_op = models.CharField(_("operator"), max_length=2, choices=Op.choices, blank=True)
    condition_value = models.DecimalField(
        _("value"), max_digits=20, decimal_places=2, null=True, blank=True
    )
    history = governed_history()

    class Meta:
        ordering = ["flow", "position"]
        constraints = [
            models.UniqueConstraint(fields=["flow", "position"], name="one_route_per_position")
        ]

    def __str__(self) -> str:
        return f"{self.flow_id} #{self.position}"

    @property
    def is_default(self) -> bool:
        return not self.condition_field


class FlowStep(GovernedModel):
    """One approval step: ``approvals`` different people holding ``role`` must approve."""

    route = models.ForeignKey(FlowRoute, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField(_("order"))
    role = models.CharField(_("role"), max_length=32)
    approvals = models.PositiveSmallIntegerField(_("approvals"), default=1)
    history = governed_history()

    class Meta:
        ordering = ["route", "position"]
        constraints = [
            models.UniqueConstraint(fields=["route", "position"], name="one_step_per_position"),
            models.CheckConstraint(name="at_least_one_approval", condition=Q(approvals__gte=1)),
        ]

    def __str__(self) -> str:
        return f"{self.role} ×{self.approvals}"


class ChangeRequest(models.Model):
    """A proposed change (工单): applied only when every step of its route has approved."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        APPLIED = "applied", _("Applied")
        REJECTED = "rejected", _("Rejected")
        WITHDRAWN = "withdrawn", _("Withdrawn")
        FAILED = "failed", _("Failed")

    flow = models.CharField(_("flow"), max_length=64, db_index=True)
    target_key = models.CharField(_("target"), max_length=200)
    target_label = models.CharField(_("target"), max_length=300)
    payload = models.JSONField(_("after"))
    before = models.JSONField(_("before"))
    note = models.TextField(_("note"), blank=True)
    maker = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("maker"),
    )
    created_at = models.DateTimeField(_("submitted"), default=timezone.now, db_index=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    # The route's steps as they were at submission: editing a flow never changes a pending request.
    steps = models.JSONField(default=list)  # [{"role": "risk_approver", "approvals": 1}, ...]
    step = models.PositiveSmallIntegerField(default=0)
    current_role = models.CharField(max_length=32, blank=True, db_index=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    failure = models.TextField(_("failure"), blank=True)
    record_url = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("change request")
        constraints = [
            # No two pending changes of one record by one flow (PL-3).
            models.UniqueConstraint(
                fields=["flow", "target_key"],
                condition=Q(status="pending"),
                name="one_pending_change_per_target",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.flow} {self.target_label}"


class Action(models.Model):
    """Everything done to a request: who, when, what, and why."""

    class Kind(models.TextChoices):
        SUBMIT = "submit", _("Submitted")
        APPROVE = "approve", _("Approved")
        REJECT = "reject", _("Rejected")
        WITHDRAW = "withdraw", _("Withdrawn")
        APPLY = "apply", _("Applied")
        FAIL = "fail", _("Failed")

    request = models.ForeignKey(ChangeRequest, on_delete=models.CASCADE, related_name="actions")
    kind = models.CharField(_("action"), max_length=10, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        verbose_name=_("by"),
    )
    step = models.PositiveSmallIntegerField(null=True)
    comment = models.TextField(_("comment"), blank=True)
    at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            # One person gives at most one approval to one request, whatever the step (PL-3).
            models.UniqueConstraint(
                fields=["request", "actor"],
                condition=Q(kind="approve"),
                name="one_approval_per_person",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.request_id}"
