"""Reads of the approval centre: what waits for whom, and the history of a governed record."""

from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import FieldDoesNotExist
from django.db.models import Exists, OuterRef, QuerySet

from riskdesk.approvals.models import Action, ChangeRequest
from riskdesk.users.roles import role_of


def waiting_for(user, qs: QuerySet | None = None) -> QuerySet:
    """Pending requests this user may approve now: their role's step, not theirs, not yet
    approved by them."""
    qs = ChangeRequest.objects.all() if qs is None else qs
    role = role_of(user) if user is not None else None
    if role is None:
        return qs.none()
    mine = Action.objects.filter(request=OuterRef("pk"), kind=Action.Kind.APPROVE, actor=user)
    return (
        qs.filter(status=ChangeRequest.Status.PENDING, current_role=role)
        .exclude(maker=user)
        .exclude(Exists(mine))
    )


def submitted_by(user, qs: QuerySet) -> QuerySet:
    return qs.filter(maker=user)


def pending_change(flow: str, target_key: str) -> ChangeRequest | None:
    """The pending request that would change this record, shown on the record (PL-3)."""
    return ChangeRequest.objects.filter(
        flow=flow, target_key=target_key, status=ChangeRequest.Status.PENDING
    ).first()


def last_request(flow: str, target_key: str) -> ChangeRequest | None:
    return ChangeRequest.objects.filter(
        flow=flow, target_key=target_key, status=ChangeRequest.Status.APPLIED
    ).first()


@dataclass(frozen=True)
class HistoryRow:
    at: datetime
    who: str
    record: str
    kind: str
    changes: list[tuple[str, object, object]]
    request_id: int | None
    seed_reason: str


def governed_models() -> list:
    """Every model that only an approval may change."""
    from django.apps import apps

    from riskdesk.approvals.governed import GovernedModel

    return [m for m in apps.get_models() if issubclass(m, GovernedModel)]


def _label(record, field: str) -> str:
    try:
        return str(record.instance_type._meta.get_field(field).verbose_name)
    except FieldDoesNotExist:  # a field that no longer exists keeps its name
        return field


def history_rows(*models_or_querysets, limit: int = 200) -> list[HistoryRow]:
    """The change records (变更记录, PL-4) of governed rows, newest first: who, when, each field
    old → new, and the request that caused it."""
    rows = []
    for source in models_or_querysets:
        history = source.history.all() if hasattr(source, "history") else source
        records = list(
            history.select_related("history_user").order_by("-history_date", "-history_id")[:limit]
        )
        by_object: dict = {}
        for rec in reversed(records):
            prev = by_object.get(rec.id)
            changes = []
            if prev is not None:
                delta = rec.diff_against(prev)
                changes = [(_label(rec, c.field), c.old, c.new) for c in delta.changes]
            else:
                changes = [
                    (str(f.verbose_name), None, getattr(rec, f.attname))
                    for f in rec.instance_type._meta.concrete_fields
                    if f.attname not in ("id",)
                ]
            by_object[rec.id] = rec
            user = rec.history_user
            rows.append(
                HistoryRow(
                    at=rec.history_date,
                    who=(user.get_full_name() or user.username) if user else "system",
                    record=str(rec.instance),
                    kind={"+": "created", "~": "changed", "-": "deleted"}[rec.history_type],
                    changes=changes,
                    request_id=rec.change_request_id,
                    seed_reason=rec.seed_reason,
                )
            )
    rows.sort(key=lambda r: r.at, reverse=True)
    return rows[:limit]
