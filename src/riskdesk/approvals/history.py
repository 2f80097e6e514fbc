"""Stamp each history row of a governed model with the request (or seed) that wrote it."""

from django.dispatch import receiver
from simple_history.signals import pre_create_historical_record

from riskdesk.approvals.governed import ChangeStamp, current_writer


@receiver(pre_create_historical_record)
def stamp(sender, instance, history_instance, **kwargs):
    if not isinstance(history_instance, ChangeStamp):
        return
    writer = current_writer()
    if writer is None:
        return
    kind, detail = writer
    if kind == "request":
        history_instance.change_request_id = detail
    else:
        history_instance.seed_reason = str(detail)[:100]
