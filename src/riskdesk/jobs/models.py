from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class JobRun(models.Model):
    """One scheduled run of a job on one trading day (PL-8).

    Unique per (job, run date): a scheduler restarted mid-day, or two schedulers by mistake,
    run a day's job once.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    job = models.CharField(_("job"), max_length=64)
    run_date = models.DateField(_("trading day"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    queued_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(default=dict)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["job", "run_date"], name="one_run_per_job_and_day")
        ]

    def __str__(self) -> str:
        return f"{self.job} {self.run_date}"
