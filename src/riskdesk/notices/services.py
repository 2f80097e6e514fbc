"""Sending notices to clients (PL-7): margin-call notices (MC-1 "send message") and stock
recall notices (MC-6, MC-9).

Each send stores one message per channel and returns them (``_store``, shared by both kinds).
E-mail and webhook are delivered by the ``deliver`` task after the transaction commits (a slow
or absent server delays a message, never the page); the inbox is delivered at once. A message
that must not go out is stored refused with the reason: no e-mail address, no webhook
configured, and for a margin call past its deadline (截止日期) or ended. A call notice that lets
at least one message go out leaves an MC-5 "notice" snapshot.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from riskdesk.margincall import snapshots
from riskdesk.margincall.models import MarginCall, MarginCallSnapshot
from riskdesk.notices.models import Message
from riskdesk.notices.rendering import Rendered, render_call_notice, render_recall_notice

CHANNELS = [c.value for c in Message.Channel]
#: The market whose trading days set a recall's return-by date.
RECALL_MARKET = "HK"


def past_deadline(call: MarginCall, at: datetime) -> bool:
    """True when the local date of ``at`` is after the call's deadline."""
    return timezone.localdate(at) > call.deadline


def _wanted(channels: Iterable[str]) -> list[str]:
    """The channels asked for, in CHANNELS order, duplicates dropped; unknown ones refused."""
    wanted = set(channels)
    unknown = wanted - set(CHANNELS)
    if unknown:
        raise ValueError(f"unknown channel(s): {', '.join(sorted(unknown))}")
    return [c for c in CHANNELS if c in wanted]


def _channel_refusal(client, channel: str) -> str:
    """Why ``channel`` cannot reach ``client`` (blank when it can)."""
    if channel == Message.Channel.EMAIL and not client.email:
        return _("the client has no e-mail address")
    if channel == Message.Channel.WEBHOOK and not getattr(settings, "RISKDESK_WEBHOOK_URL", ""):
        return _("no webhook is configured (RISKDESK_WEBHOOK_URL)")
    return ""


def _refusal(call: MarginCall, channel: str, at: datetime) -> str:
    if past_deadline(call, at):
        return _("past the deadline (%(deadline)s)") % {"deadline": call.deadline.isoformat()}
    if call.status != MarginCall.Status.OPEN:
        return _("the margin call has ended")
    return _channel_refusal(call.account.client, channel)


def _recipient(client, channel: str) -> str:
    if channel == Message.Channel.EMAIL:
        return client.email
    if channel == Message.Channel.WEBHOOK:
        return getattr(settings, "RISKDESK_WEBHOOK_URL", "")
    return ""


def _store(
    *,
    account,
    kind: str,
    notice: Rendered,
    channels: list[str],
    refusal: Callable[[str], str],
    at: datetime,
    user,
    **links,
) -> list[Message]:
    """One stored message per channel (refused with the reason ``refusal(channel)`` gives, sent
    at once for the inbox, else queued for the worker after commit). Runs in the caller's
    transaction; ``links`` are the message's other fields (call, instrument, …)."""
    from riskdesk.notices.tasks import deliver

    client = account.client
    out: list[Message] = []
    for channel in channels:
        reason = refusal(channel)
        if reason:
            status = Message.Status.REFUSED
        elif channel == Message.Channel.INBOX:
            status = Message.Status.SENT
        else:
            status = Message.Status.QUEUED
        out.append(
            Message.objects.create(
                client=client,
                account=account,
                kind=kind,
                channel=channel,
                language=notice.language,
                subject=notice.subject,
                body=notice.body,
                recipient=_recipient(client, channel),
                status=status,
                error=reason,
                created_at=at,
                sent_at=at if status == Message.Status.SENT else None,
                created_by=user,
                **links,
            )
        )
    for m in out:
        if m.status == Message.Status.QUEUED:
            transaction.on_commit(lambda pk=m.pk: deliver.enqueue(pk))
    return out


def send_call_notice(
    call: MarginCall, *, channels, user=None, at: datetime | None = None
) -> list[Message]:
    """One message per channel (in CHANNELS order, duplicates dropped). The caller checks
    ``notices.send_message``."""
    at = at or timezone.now()
    wanted = _wanted(channels)
    call = MarginCall.objects.select_related("account__client").get(pk=call.pk)
    notice = render_call_notice(call)
    with transaction.atomic():
        out = _store(
            account=call.account,
            kind=Message.Kind.MARGIN_CALL,
            notice=notice,
            channels=wanted,
            refusal=lambda channel: _refusal(call, channel, at),
            at=at,
            user=user,
            call=call,
        )
        if any(m.status != Message.Status.REFUSED for m in out):
            snapshots.take(call, MarginCallSnapshot.Reason.NOTICE, at=at)
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
        results.append(_result(sent, call=call))
    return results


def return_by_date(at: datetime) -> date:
    """A recall's return-by date: the next HK trading day after the local date of ``at``."""
    from riskdesk.calendars.selectors import next_trading_day
    from riskdesk.jobs.scheduler import MARKET_ZONES

    today = at.astimezone(MARKET_ZONES[RECALL_MARKET]).date()
    return next_trading_day(RECALL_MARKET, today, 1)


def send_recall_notice(
    account, instrument, quantity: int, *, channels, user=None, at: datetime | None = None
) -> list[Message]:
    """PL-7 stock recall: ask the client to return (buy back) ``quantity`` of ``instrument``
    sold short in ``account`` by the next HK trading day; one message per channel, as
    ``send_call_notice``. The caller checks ``notices.send_message``."""
    from riskdesk.book.models import Account

    at = at or timezone.now()
    wanted = _wanted(channels)
    quantity = abs(int(quantity))
    if not quantity:
        raise ValueError(_("nothing to return: the quantity is 0"))
    account = Account.objects.select_related("client").get(pk=account.pk)
    return_by = return_by_date(at)
    notice = render_recall_notice(account, instrument, quantity, return_by)
    with transaction.atomic():
        return _store(
            account=account,
            kind=Message.Kind.STOCK_RECALL,
            notice=notice,
            channels=wanted,
            refusal=lambda channel: _channel_refusal(account.client, channel),
            at=at,
            user=user,
            instrument=instrument,
            quantity=quantity,
            due_date=return_by,
        )


def send_recall_bulk(items, *, channels, user=None, at: datetime | None = None) -> list[dict]:
    """``send_recall_notice`` for each item on its own. An item is a dict with ``account``,
    ``instrument`` and ``quantity`` (and ``refused``: a reason not to send, e.g. no longer
    short); one result per item with the item's keys, its messages, ``ok`` and a summary."""
    at = at or timezone.now()
    results = []
    for item in items:
        base = {k: item[k] for k in ("account", "instrument", "quantity")}
        if item.get("refused"):
            results.append({**base, "messages": [], "ok": False, "summary": item["refused"]})
            continue
        try:
            sent = send_recall_notice(
                item["account"],
                item["instrument"],
                item["quantity"],
                channels=channels,
                user=user,
                at=at,
            )
        except Exception as exc:  # one bad row does not stop the batch
            results.append({**base, "messages": [], "ok": False, "summary": str(exc)})
            continue
        results.append(_result(sent, **base))
    return results


def _result(sent: list[Message], **keys) -> dict:
    return {
        **keys,
        "messages": sent,
        "ok": any(m.status != Message.Status.REFUSED for m in sent),
        "summary": summary(sent),
    }


def summary(sent: list[Message]) -> str:
    """ "E-mail: Queued; In-app inbox: Sent; Webhook: Refused (reason)"."""
    parts = []
    for m in sent:
        text = f"{m.get_channel_display()}: {m.get_status_display()}"
        if m.error:
            text += f" ({m.error})"
        parts.append(text)
    return "; ".join(parts)
