"""Message pages (PL-7): every message with its delivery status; sending a margin-call notice
from a call's detail, and to the calls ticked on the alerts list; sending a stock recall notice
to the short positions ticked on the securities-lending (MC-6) or short-stock recall (MC-9)
lists."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from riskdesk.book.models import Position
from riskdesk.console.listing import Column, Filter, ListPage
from riskdesk.margincall.models import MarginCall, ShortRecall
from riskdesk.margincall.recalls import SHORT_KINDS
from riskdesk.notices import services
from riskdesk.notices.models import Message
from riskdesk.notices.rendering import render_call_notice
from riskdesk.users.permissions import requires

VIEW = "notices.view_message"
SEND = "notices.send_message"
VIEW_CALL = "margincall.view_margincall"
#: What the bulk action sends: every channel that can deliver (webhook only when configured).
BULK_CHANNELS = [Message.Channel.EMAIL, Message.Channel.INBOX]

message_list = ListPage(
    name="messages",
    title=_("Client messages"),
    feature="PL-7",
    permission=VIEW,
    queryset=lambda: Message.objects.all(),
    columns=[
        Column("created_at", _("Time"), kind="datetime", sortable=True),
        Column("kind", _("Kind"), choices=dict(Message.Kind.choices)),
        Column("client__code", _("Client code")),
        Column("account__number", _("Account")),
        Column("instrument__code", _("Stock")),
        Column("channel", _("Channel"), choices=dict(Message.Channel.choices)),
        Column("status", _("Status"), choices=dict(Message.Status.choices)),
        Column("subject", _("Subject")),
        Column("recipient", _("Recipient")),
        Column("error", _("Error / reason")),
        Column("sent_at", _("Sent"), kind="datetime"),
    ],
    filters=[
        Filter("kind", _("Kind"), "choice", choices=tuple(Message.Kind.choices)),
        Filter("status", _("Status"), "choice", choices=tuple(Message.Status.choices)),
        Filter("channel", _("Channel"), "choice", choices=tuple(Message.Channel.choices)),
        Filter("client", _("Client code"), "prefix", lookup="client__code"),
        Filter("account", _("Account"), "prefix", lookup="account__number"),
    ],
    default_sort="-created_at",
)


def call_notice_context(request, call) -> dict:
    """What the call detail shows of PL-7: the notice as the client will read it, the channels,
    whether this user may send, and the messages already sent about the call."""
    from django.conf import settings

    notice = render_call_notice(call)
    now = timezone.now()
    return {
        "notice": notice,
        "channels": [
            (value, label, value != Message.Channel.WEBHOOK or bool(settings.RISKDESK_WEBHOOK_URL))
            for value, label in Message.Channel.choices
        ],
        "can_send": request.user.has_perm(SEND),
        "past_deadline": services.past_deadline(call, now),
        "sent": call.messages.order_by("-created_at", "-id")[:50]
        if request.user.has_perm(VIEW)
        else None,
    }


@requires(VIEW_CALL, SEND)
@require_POST
def send(request, pk):
    call = get_object_or_404(MarginCall, pk=pk)
    channels = [c for c in request.POST.getlist("channels") if c in services.CHANNELS]
    if not channels:
        messages.error(request, _("Choose at least one channel."))
        return redirect("margincall:call", pk=call.pk)
    sent = services.send_call_notice(call, channels=channels, user=request.user)
    if any(m.status != Message.Status.REFUSED for m in sent):
        messages.success(
            request, _("Notice sent: %(summary)s") % {"summary": services.summary(sent)}
        )
    else:
        messages.error(
            request, _("Notice not sent: %(summary)s") % {"summary": services.summary(sent)}
        )
    return redirect("margincall:call", pk=call.pk)


@requires(VIEW_CALL, SEND)
@require_POST
def bulk_send(request):
    ids = _ids(request)
    if not ids:
        messages.error(request, _("Tick the margin calls to send a notice to."))
        return redirect("margincall:alerts")
    calls = MarginCall.objects.filter(pk__in=ids).select_related("account__client").order_by("pk")
    results = services.send_bulk(calls, channels=_bulk_channels(), user=request.user)
    return render(request, "notices/bulk_result.html", {"results": results})


def _bulk_channels() -> list[str]:
    from django.conf import settings

    channels = list(BULK_CHANNELS)
    if settings.RISKDESK_WEBHOOK_URL:
        channels.append(Message.Channel.WEBHOOK)
    return channels


def _ids(request) -> list[int]:
    return [int(i) for i in request.POST.getlist("ids") if i.isdigit()]


def _recall_result(request, items, back: str):
    results = services.send_recall_bulk(items, channels=_bulk_channels(), user=request.user)
    return render(request, "notices/recall_result.html", {"results": results, "back": back})


@requires(VIEW_CALL, SEND)
@require_POST
def recall_positions(request):
    """Recall notices for the short positions ticked on the clients-short list (MC-6)."""
    ids = _ids(request)
    if not ids:
        messages.error(request, _("Tick the short positions to send a recall notice to."))
        return redirect("margincall:lending-positions")
    positions = (
        Position.objects.filter(pk__in=ids, instrument__kind__in=SHORT_KINDS)
        .select_related("account__client", "instrument")
        .order_by("instrument__code", "account__number")
    )
    items = [
        {
            "account": p.account,
            "instrument": p.instrument,
            "quantity": -p.quantity if p.quantity < 0 else 0,
            "refused": "" if p.quantity < 0 else _("no longer short"),
        }
        for p in positions
    ]
    return _recall_result(request, items, "margincall:lending-positions")


@requires(VIEW_CALL, SEND)
@require_POST
def recall_short(request):
    """Recall notices for the rows ticked on the short-stock recall list (MC-9): the quantity
    asked back is what the account is short now (it may have covered part since the run)."""
    ids = _ids(request)
    if not ids:
        messages.error(request, _("Tick the short positions to send a recall notice to."))
        return redirect("margincall:short-recalls")
    recalls = (
        ShortRecall.objects.filter(pk__in=ids)
        .select_related("account__client", "instrument")
        .order_by("instrument__code", "account__number", "-run_date")
    )
    held = {
        (p.account_id, p.instrument_id): p.quantity
        for p in Position.objects.filter(
            account_id__in={r.account_id for r in recalls},
            instrument_id__in={r.instrument_id for r in recalls},
        )
    }
    items, seen = [], set()
    for r in recalls:
        key = (r.account_id, r.instrument_id)
        if key in seen:  # the same position ticked on two run dates: one notice
            continue
        seen.add(key)
        short = -held.get(key, 0)
        items.append(
            {
                "account": r.account,
                "instrument": r.instrument,
                "quantity": max(short, 0),
                "refused": "" if short > 0 else _("no longer short"),
            }
        )
    return _recall_result(request, items, "margincall:short-recalls")


app_name = "notices"
urlpatterns = [
    *message_list.urls(),
    path("calls/<int:pk>/send/", send, name="send"),
    path("bulk-send/", bulk_send, name="bulk-send"),
    path("recall/positions/", recall_positions, name="recall-positions"),
    path("recall/short-recalls/", recall_short, name="recall-short"),
]
