"""Lists (LS): client groups (LS-2), used by client margin rules (MR-5) and reports."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from riskdesk.approvals.governed import GovernedModel, governed_history


class ClientGroup(GovernedModel):
    class BusinessType(models.TextChoices):
        MARGIN = "margin", _("Margin")
        REPORT = "report", _("Report")

    name = models.CharField(_("group name"), max_length=100, unique=True)
    business_type = models.CharField(
        _("business type"), max_length=10, choices=BusinessType.choices
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    history = governed_history()

    class Meta:
        ordering = ["name"]
        verbose_name = _("client group")

    def __str__(self) -> str:
        return self.name


class ClientGroupMember(GovernedModel):
    group = models.ForeignKey(ClientGroup, on_delete=models.CASCADE, related_name="members")
    client = models.ForeignKey(
        "book.Client", on_delete=models.CASCADE, related_name="group_memberships"
    )
    history = governed_history()

    class Meta:
        ordering = ["group", "client"]
        constraints = [
            models.UniqueConstraint(fields=["group", "client"], name="client_once_per_group")
        ]

    def __str__(self) -> str:
        return f"{self.group.name}: {self.client.code}"
