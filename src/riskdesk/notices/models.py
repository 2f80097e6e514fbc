"""PL-7: every message sent (or refused) to a client, with its delivery status: margin-call
notices (MC-1) and stock recall notices (MC-6, MC-9).

A message is stored before anything goes out: e-mail and webhook are delivered by a task on the
worker (queued → sent / failed with the error), the in-app inbox at once; a message that must
not go out (past the call's deadline, no address, no webhook configured) is kept as refused
with the reason.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from riskdesk.book.models import Language


class Message(models.Model):
    class Kind(models.TextChoices):
        MARGIN_CALL = "margin_call", _("Margin-call notice")
        STOCK_RECALL = "stock_recall", _("Stock recall notice")

    class Channel(models.TextChoices):
        EMAIL = "email", _("E-mail")
        INBOX = "inbox", _("In-app inbox")
        WEBHOOK = "webhook", _("Webhook")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        REFUSED = "refused", _("Refused")

    client = models.ForeignKey(
        "book.Client", on_delete=models.PROTECT, related_name="messages", verbose_name=_("client")
    )
    account = models.ForeignKey(
        "book.Account",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="messages",
        verbose_name=_("account"),
    )
    call = models.ForeignKey(
        "margincall.MarginCall",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="messages",
        verbose_name=_("margin call"),
    )
    # A stock recall (MC-6, MC-9): the stock, the quantity to return and the return-by date.
    instrument = models.ForeignKey(
        "book.Instrument",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="messages",
        verbose_name=_("stock"),
    )
    quantity = models.BigIntegerField(_("quantity"), null=True, blank=True)
    due_date = models.DateField(_("return by"), null=True, blank=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    language = models.CharField(_("language"), max_length=8, choices=Language.choices)
    subject = models.CharField(_("subject"), max_length=300)
    body = models.TextField(_("body"))
    # E-mail address or webhook URL; blank for the inbox.
    recipient = models.CharField(_("recipient"), max_length=500, blank=True)
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("sent by"),
    )
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        permissions = [("send_message", "Can send messages to clients")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.channel} {self.status}"
