"""Delivery of queued e-mail and webhook messages by the task worker (PL-7)."""

from __future__ import annotations

import json
import urllib.request

from django.core.mail import EmailMessage
from django.utils import timezone
from django_tasks import task

WEBHOOK_TIMEOUT = 10


def _webhook_payload(message) -> dict:
    call = message.call
    payload = {
        "id": message.pk,
        "kind": message.kind,
        "client": message.client.code,
        "account": message.account.number if message.account_id else None,
        "language": message.language,
        "subject": message.subject,
        "body": message.body,
        "phone": message.client.phone,
    }
    if call is not None:
        payload["call"] = {
            "id": call.pk,
            "alert": call.alert,
            "call_amount": str(call.call_amount),
            "lna": str(call.lna),
            "nar": str(call.nar),
            "deadline": call.deadline.isoformat(),
        }
    if message.kind == message.Kind.STOCK_RECALL:
        payload["recall"] = {
            "instrument": message.instrument.code if message.instrument_id else None,
            "quantity": message.quantity,
            "return_by": message.due_date.isoformat() if message.due_date else None,
        }
    return payload


def _post_webhook(message) -> None:
    data = json.dumps(_webhook_payload(message), ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(
        message.recipient,
        data=data,
        headers={"Content-Type": "application/json; charset=utf-8"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT) as response:
        response.read()


@task()
def deliver(message_id: int) -> str:
    """Send one queued message; store sent, or failed with the error. A message whose call is
    past its deadline by now is refused instead (none sent after the deadline)."""
    from riskdesk.notices.models import Message
    from riskdesk.notices.services import past_deadline

    message = Message.objects.select_related("client", "account", "call", "instrument").get(
        pk=message_id
    )
    if message.status != Message.Status.QUEUED:
        return message.status
    now = timezone.now()
    if message.call is not None and past_deadline(message.call, now):
        message.status = Message.Status.REFUSED
        message.error = f"past the deadline ({message.call.deadline.isoformat()})"
        message.save(update_fields=["status", "error"])
        return message.status
    try:
        if message.channel == Message.Channel.EMAIL:
            EmailMessage(subject=message.subject, body=message.body, to=[message.recipient]).send()
        elif message.channel == Message.Channel.WEBHOOK:
            _post_webhook(message)
    except Exception as exc:  # any delivery error is the message's status, not a crash
        message.status = Message.Status.FAILED
        message.error = f"{type(exc).__name__}: {exc}"[:2000]
        message.save(update_fields=["status", "error"])
    else:
        message.status = Message.Status.SENT
        message.sent_at = timezone.now()
        message.error = ""
        message.save(update_fields=["status", "sent_at", "error"])
    return message.status
