"""``riskdesk monitor``: the risk monitor process (MC-1), registered on the ``riskdesk`` app by
``riskdesk.cli``. ``--once`` screens, applies the pending book events and exits. The book is
held in arrays and re-screened by the engine's kernels; ``--scalar`` screens account by account
with the Decimal reference instead (slow on a big book; the reference the arrays are tested
against)."""

from __future__ import annotations

from typing import Annotated

import typer

from riskdesk.site.bootstrap import setup_django


def monitor(
    once: Annotated[
        bool,
        typer.Option(
            "--once", help="Full screen, apply the pending book events, print counts, exit."
        ),
    ] = False,
    poll: Annotated[
        float, typer.Option(help="Seconds between looks at the book's outbox when idle.")
    ] = 0.02,
    scalar: Annotated[
        bool,
        typer.Option(
            "--scalar", help="Screen account by account with the Decimal reference (no arrays)."
        ),
    ] = False,
    update_every: Annotated[
        float,
        typer.Option(
            help="Seconds between two refreshes of an open call's figures after market moves "
            "(0: write every change). Alert changes and account events are written at once.",
        ),
    ] = 5.0,  # live.UPDATE_EVERY (not imported: Django is set up inside)
    hold: Annotated[
        float, typer.Option(help="Seconds to let book events gather before a batch starts.")
    ] = 0.0,
) -> None:
    """Run the risk monitor: margin calls follow every price, FX, fill and cash event."""
    setup_django()
    from riskdesk.margincall import monitor as mon

    if not once:
        if scalar:
            mon.run_forever(poll, scalar=True)
        else:
            from riskdesk.margincall import live

            live.run_forever(poll, update_every=update_every, hold=hold)
        return
    from riskdesk.margincall.models import MarginCall, MonitorCursor

    if scalar:
        screened = mon.full_screen(scalar=True)
        events = mon.process_all()
    else:
        from riskdesk.margincall.live import LiveMonitor

        live = LiveMonitor()
        screened = live.full_screen(reload=False)
        events = live.process_all()
    open_calls = MarginCall.objects.filter(status=MarginCall.Status.OPEN).count()
    cursor = MonitorCursor.objects.get(name=mon.CURSOR)
    typer.echo(
        f"screened {screened} account(s); applied {events} event(s); "
        f"{open_calls} open call(s); cursor at {cursor.last_event_id}"
    )
