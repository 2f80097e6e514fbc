"""``riskdesk monitor``: the risk monitor process (MC-1), registered on the ``riskdesk`` app by
``riskdesk.cli``. ``--once`` screens, applies the pending book events and exits."""

from __future__ import annotations

import typer

from riskdesk.site.bootstrap import setup_django


def monitor(
    once: bool = typer.Option(
        False, "--once", help="Full screen, apply the pending book events, print counts, exit."
    ),
    poll: float = typer.Option(0.5, help="Seconds between looks at the book's outbox."),
) -> None:
    """Run the risk monitor: margin calls follow every price, FX, fill and cash event."""
    setup_django()
    from riskdesk.margincall import monitor as mon

    if not once:
        mon.run_forever(poll)
        return
    from riskdesk.margincall.models import MarginCall, MonitorCursor

    screened = mon.full_screen()
    events = mon.process_all()
    open_calls = MarginCall.objects.filter(status=MarginCall.Status.OPEN).count()
    cursor = MonitorCursor.objects.get(name=mon.CURSOR)
    typer.echo(
        f"screened {screened} account(s); applied {events} event(s); "
        f"{open_calls} open call(s); cursor at {cursor.last_event_id}"
    )
