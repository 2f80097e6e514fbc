"""Sending margin-call notices (PL-7, MC-1 "send message").

``send_call_notice`` stores one message per channel and returns them. Nothing goes out after
the call's deadline (截止日期): the messages are stored refused with the reason. E-mail and
webhook are delivered by the ``deliver`` task after the transaction commits (a slow or absent
server delays a message, never the page); the inbox is delivered at once. A send that lets at
least one message go out leaves an MC-5 "notice" snapshot.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from riskdesk.margincall import snapshots
from riskdesk.margincall.models import MarginCall, MarginCallSnapshot
from riskdesk.notices.models import Message
from riskdesk.notices.rendering import render_call_notice

CHANNELS = [c.value for c in Message.Channel]


def past_deadline(call: MarginCall, at: datetime) -> bool:
    """True when the local date of ``at`` is after the call's deadline."""
    return timezone.localdate(at) > call.deadline


def _refusal(call: MarginCall, channel: str, at: datetime) -> str:
    if past_deadline(call, at):
        return _("past the deadline (%(deadline)s)") % {"deadline": call.deadline.isoformat()}
    if call.status != MarginCall.Status.OPEN:
        return _("the margin call has ended")
    if channel == Message.Channel.EMAIL and not call.account.client.email:
        return _("the client has no e-mail address")
    if channel == Message.Channel.WEBHOOK and not getattr(settings, "RISKDESK_WEBHOOK_URL", ""):
        return _("no webhook is configured (RISKDESK_WEBHOOK_URL)")
    return ""


def _recipient(call: MarginCall, channel: str) -> str:
    if channel == Message.Channel.EMAIL:
        return call.account.client.email
    if channel == Message.Channel.WEBHOOK:
        return getattr(settings, "RISKDESK_WEBHOOK_URL", "")
    return ""


def send_call_notice(
    call: MarginCall, *, channels, user=None, at: datetime | None = None
) -> list[Message]:
    """One message per channel (in CHANNELS order, duplicates dropped). The caller checks
    ``notices.send_message``."""
    from riskdesk.notices.tasks import deliver

    at = at or timezone.now()
    wanted = set(channels)
    unknown = wanted - set(CHANNELS)
    if unknown:
        raise ValueError(f"unknown channel(s): {', '.join(sorted(unknown))}")
    call = MarginCall.objects.select_related("account__client").get(pk=call.pk)
    client = call.account.client
    notice = render_call_notice(call)
    out: list[Message] = []
    with transaction.atomic():
        for channel in [c for c in CHANNELS if c in wanted]:
            reason = _refusal(call, channel, at)
            if reason:
                status = Message.Status.REFUSED
            elif channel == Message.Channel.INBOX:
                status = Message.Status.SENT
            else:
                status = Message.Status.QUEUED
            out.append(
                Message.objects.create(
                    client=client,
                    account=call.account,
                    call=call,
                    kind=Message.Kind.MARGIN_CALL,
                    channel=channel,
                    language=notice.language,
                    subject=notice.subject,
                    body=notice.body,
                    recipient=_recipient(call, channel),
                    status=status,
                    error=reason,
                    created_at=at,
                    sent_at=at if status == Message.Status.SENT else None,
                    created_by=user,
                )
            )
        if any(m.status != Message.Status.REFUSED for m in out):
            snapshots.take(call, MarginCallSnapshot.Reason.NOTICE, at=at)
        for m in out:
            if m.status == Message.Status.QUEUED:
                transaction.on_commit(lambda pk=m.pk: deliver.enqueue(pk))
    return out


def send_bulk(calls, *, channels, user=None, at: datetime | None = None) -> list[dict]:
    """``send_call_notice`` for each call on its own; one result per call: the call, its
    messages, ``ok`` (at least one message went out or is queued) and a short summary."""
    at = at or timezone.now()
    results = []
    for call in calls:
        try:
            sent = send_call_notice(call, channels=channels, user=user, at=at)
        except Exception as exc:  # one bad call does not stop the batch
            results.append({"call": call, "messages": [], "ok": False, "summary": str(exc)})
            continue
        results.append(
            {
                "call": call,
                "messages": sent,
                "ok": any(m.status != Message.Status.REFUSED for m in sent),
                "summary": summary(sent),
            }
        )
    return results


def summary(sent: list[Message]) -> str:
    """ "E-mail: Queued; In-app inbox: Sent; Webhook: Refused (reason)"."""
    parts = []
    for m in sent:
        text = f"{m.get_channel_display()}: {m.get_status_display()}"
        if m.error:
            text += f" ({m.error})"
        parts.append(text)
    return "; ".join(parts)
