"""``riskdesk fixgateway``: the FIX 4.4 session to the order-management system (MC-10)."""

import typer

from riskdesk.site.bootstrap import setup_django


def fixgateway(
    poll: float = typer.Option(0.2, help="Seconds between looks for orders to send."),
) -> None:
    """Hold the FIX 4.4 session: send pending liquidation orders and cancels, apply execution
    reports as book fills (RISKDESK_ORDER_GATEWAY=fix)."""
    setup_django()
    from riskdesk.liquidation.fix import run_forever

    run_forever(poll=poll)
