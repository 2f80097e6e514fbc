"""Flow handlers: one per flow key, registered by the domain app that owns the records.

A handler says what a change looks like (``clean``), what the record looks like now
(``snapshot``), and how to apply an approved change (``apply``). The approval centre does
the rest: routing, approvals, history, notifications, and refusing stale changes.
"""

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError


class FlowHandler:
    key: str = ""
    title: str = ""
    # Permission a maker needs to submit a request of this flow.
    submit_permission: str = ""
    # Labels of the fields of ``snapshot``/payload, for the before → after table.
    field_labels: dict[str, str] = {}

    def target_key(self, target) -> str:
        raise NotImplementedError

    def target_key_for_payload(self, payload: dict) -> str:
        """The key of a record that the request will create (flows that create records)."""
        raise NotImplementedError(f"{self.key} changes existing records only")

    def target_label(self, target) -> str:
        return self.target_key(target)

    def snapshot(self, target) -> dict[str, Any]:
        """The fields this flow changes, as they are now (JSON values); {} for a new record."""
        raise NotImplementedError

    def clean(self, payload: dict, target) -> dict[str, Any]:
        """Validate and normalise a payload (JSON values); raise ValidationError naming the
        field. Called at submission and again, against the record as it is then, at apply."""
        raise NotImplementedError

    def condition_values(self, payload: dict, before: dict) -> dict[str, Decimal]:
        """Values that a route's condition may test (e.g. the size of an adjustment)."""
        return {}

    def apply(self, payload: dict, target, *, request) -> str:
        """Write the change (inside ``governed.applying``); return the URL of the record."""
        raise NotImplementedError

    def resolve(self, target_key: str):
        """The target object for a key (None for a record still to be created)."""
        raise NotImplementedError


REGISTRY: dict[str, FlowHandler] = {}


def register(handler: FlowHandler) -> FlowHandler:
    if handler.key in REGISTRY:
        raise RuntimeError(f"flow {handler.key} registered twice")
    REGISTRY[handler.key] = handler
    return handler


def handler_for(flow: str) -> FlowHandler:
    try:
        return REGISTRY[flow]
    except KeyError:
        raise ValidationError({"flow": f"unknown flow {flow}"}) from None
