"""The order gateway (MC-10): how liquidation orders reach a market, and how fills come back.

Two implementations of one interface:

- ``SimulatedExchange`` (default): acknowledges and fills an order at the instrument's last
  price as soon as it is committed; an order in a stock that is not trading (suspended,
  long-suspended, delisted, or unpriced) rests unfilled until cancelled — as on an exchange.
- ``liquidation.fix.FixGateway``: FIX 4.4 to an order-management system (NewOrderSingle,
  OrderCancelRequest, ExecutionReport), sent by the ``riskdesk fixgateway`` process.

Either way a gateway only *sends*; what happened comes back as ``Report``s given to
``services.apply_report`` — once per exec id, however often it is delivered.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from django.conf import settings
from django.db import transaction


@dataclass(frozen=True)
class Report:
    """An execution report, whatever the gateway (FIX 4.4 ExecutionReport fields)."""

    client_order_id: str  # ClOrdID (11), or OrigClOrdID (41) for a cancel
    exec_id: str  # ExecID (17)
    exec_type: str  # ExecType (150): new | trade | cancelled | rejected; cancel_rejected (35=9)
    last_quantity: int = 0  # LastQty (32)
    last_price: Decimal | None = None  # LastPx (31)
    text: str = ""  # Text (58)


class OrderGateway(Protocol):
    name: str

    def place(self, order) -> None:
        """Send a new order (called after the order row is committed)."""

    def cancel(self, order) -> None:
        """Ask to cancel the order's open quantity."""


class SimulatedExchange:
    name = "simulated"

    def place(self, order) -> None:
        from riskdesk.liquidation.services import apply_report

        transaction.on_commit(lambda: _fill_or_rest(order.pk, apply_report))

    def cancel(self, order) -> None:
        from riskdesk.liquidation.services import apply_report

        ref = order.client_order_id
        transaction.on_commit(
            lambda: apply_report(
                Report(ref, f"{ref}-cxl", "cancelled", text="cancelled at the risk desk's request"),
                gateway=self.name,
            )
        )


def _fill_or_rest(order_pk: int, apply_report) -> None:
    from riskdesk.book.models import Price
    from riskdesk.liquidation.models import LiquidationOrder

    order = LiquidationOrder.objects.select_related("instrument").get(pk=order_pk)
    ref = order.client_order_id
    apply_report(Report(ref, f"{ref}-ack", "new"), gateway=SimulatedExchange.name)
    price = Price.objects.filter(instrument=order.instrument).values_list("last", flat=True).first()
    if order.instrument.status != "normal" or price is None:
        return  # not trading: the order rests until it is cancelled
    apply_report(
        Report(ref, f"{ref}-fill", "trade", last_quantity=order.quantity, last_price=price),
        gateway=SimulatedExchange.name,
    )


def gateway(name: str | None = None) -> OrderGateway:
    """The configured gateway (``RISKDESK_ORDER_GATEWAY``)."""
    name = name or settings.RISKDESK_ORDER_GATEWAY
    if name == SimulatedExchange.name:
        return SimulatedExchange()
    if name == "fix":
        from riskdesk.liquidation.fix import FixGateway

        return FixGateway()
    raise ValueError(f"unknown order gateway {name!r} (simulated or fix)")
