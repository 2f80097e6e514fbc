"""Models that only an approval may change (PL-3, invariant 1).

A governed model refuses ``save()``, ``delete()`` and every bulk write unless the approval
centre is applying an approved request (``applying``) or the system is seeding initial data
(``seeding``). Pages and endpoints therefore cannot write one directly, whatever they import:
the refusal is in the model, not in the page.

Its history (PL-4) is kept by django-simple-history, each row stamped with the request that
caused it (``change_request_id``) or the seed reason.
"""

from contextlib import contextmanager
from contextvars import ContextVar

from django.db import models
from simple_history.models import HistoricalRecords

# (kind, detail): ("request", request id) or ("seed", reason)
_writer: ContextVar[tuple[str, object] | None] = ContextVar("governed_writer", default=None)


class UngovernedWrite(RuntimeError):
    """A governed model was written outside an approved request."""


@contextmanager
def applying(request_id: int):
    """Within: writes are the application of approved request ``request_id``."""
    token = _writer.set(("request", request_id))
    try:
        yield
    finally:
        _writer.reset(token)


@contextmanager
def seeding(reason: str):
    """Within: writes are system set-up (initial data), recorded with ``reason`` in history."""
    token = _writer.set(("seed", reason))
    try:
        yield
    finally:
        _writer.reset(token)


@contextmanager
def administering(username: str):
    """Within: an administrator edits configuration that is not itself approved (approval
    flows); recorded in history with the user."""
    token = _writer.set(("seed", f"administrator {username}"))
    try:
        yield
    finally:
        _writer.reset(token)


def current_writer() -> tuple[str, object] | None:
    return _writer.get()


def _check(model) -> None:
    if _writer.get() is None:
        raise UngovernedWrite(
            f"{model._meta.label} changes only through an approved change request "
            "(riskdesk.approvals.services.submit)"
        )


class GovernedQuerySet(models.QuerySet):
    def update(self, **kwargs):
        _check(self.model)
        return super().update(**kwargs)

    def delete(self):
        _check(self.model)
        return super().delete()

    def bulk_create(self, *args, **kwargs):
        _check(self.model)
        return super().bulk_create(*args, **kwargs)

    def bulk_update(self, *args, **kwargs):
        _check(self.model)
        return super().bulk_update(*args, **kwargs)

    def update_or_create(self, *args, **kwargs):
        _check(self.model)
        return super().update_or_create(*args, **kwargs)


class GovernedModel(models.Model):
    objects = GovernedQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        _check(type(self))
        return super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        _check(type(self))
        return super().delete(*args, **kwargs)


class ChangeStamp(models.Model):
    """Extra columns of every governed history table."""

    change_request_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    seed_reason = models.CharField(max_length=100, blank=True)

    class Meta:
        abstract = True


def governed_history(**kwargs) -> HistoricalRecords:
    """History for a governed model: who, when, the row's values, and the request id."""
    return HistoricalRecords(bases=[ChangeStamp], **kwargs)
