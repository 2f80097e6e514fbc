"""Ratio changes that the monitor must see (MC-1 "reacts to every … ratio event").

The margin room writes its ratios without book events; these receivers turn every save or
delete of a governed margin row into a ``RescreenRequest`` in the same transaction, naming
whom it may affect. The margin room stays unaware of the monitor.
"""

from django.db.models.signals import post_delete, post_save

from riskdesk.margincall.models import RescreenRequest


def _request(reason: str, *, instruments=(), clients=(), types=()) -> None:
    RescreenRequest.objects.create(
        instrument_ids=sorted(set(instruments)),
        client_ids=sorted(set(clients)),
        account_types=sorted(set(types)),
        reason=reason[:200],
    )


def _ratio_changed(sender, instance, **kwargs):
    _request(f"{sender._meta.label} {instance.instrument_id}", instruments=[instance.instrument_id])


def _stock_group_member_changed(sender, instance, **kwargs):
    _request(
        f"stock group {instance.group_id} member {instance.instrument_id}",
        instruments=[instance.instrument_id],
    )


def _client_group_member_changed(sender, instance, **kwargs):
    _request(
        f"client group {instance.group_id} member {instance.client_id}",
        clients=[instance.client_id],
    )


def _client_rule_changed(sender, instance, **kwargs):
    from riskdesk.lists.models import ClientGroupMember

    clients = (
        [instance.client_id]
        if instance.client_id
        else list(
            ClientGroupMember.objects.filter(group_id=instance.client_group_id).values_list(
                "client_id", flat=True
            )
        )
    )
    _request(f"client margin rule {instance.pk}", clients=clients)


def _intraday_rule_changed(sender, instance, **kwargs):
    _request(f"intraday rule {instance.market}", types=["intraday"])


def connect() -> None:
    from riskdesk.lists.models import ClientGroupMember
    from riskdesk.margin.models import (
        ClientMarginRule,
        IntradayMargin,
        IntradayRule,
        ShortMargin,
        StockGroupMember,
        StockMargin,
    )

    for model, receiver in [
        (StockMargin, _ratio_changed),
        (IntradayMargin, _ratio_changed),
        (ShortMargin, _ratio_changed),
        (StockGroupMember, _stock_group_member_changed),
        (ClientGroupMember, _client_group_member_changed),
        (ClientMarginRule, _client_rule_changed),
        (IntradayRule, _intraday_rule_changed),
    ]:
        for signal in (post_save, post_delete):
            signal.connect(
                receiver,
                sender=model,
                dispatch_uid=f"margincall.{model.__name__}.{signal is post_save}",
            )
