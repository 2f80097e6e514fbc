from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ImportBatch(models.Model):
    """An uploaded batch file between preview and confirmation (PL-5).

    Rows are kept as parsed so that the preview and the confirmation see the same file;
    confirmation validates them again against the book as it is then.
    """

    class Status(models.TextChoices):
        PREVIEW = "preview", _("Awaiting confirmation")
        APPLIED = "applied", _("Applied")
        DISCARDED = "discarded", _("Discarded")

    spec = models.CharField(_("import"), max_length=64, db_index=True)
    filename = models.CharField(_("file"), max_length=255)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("uploaded"), default=timezone.now)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PREVIEW
    )
    rows = models.JSONField(default=list)  # [{"line": n, "values": {...}, "errors": [...]}]
    result = models.JSONField(default=dict)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.spec} {self.filename}"

    @property
    def bad_rows(self) -> list[dict]:
        return [row for row in self.rows if row["errors"]]
