"""``riskdesk demo`` and ``riskdesk feed``: plain functions with typer annotations, registered
on the ``riskdesk`` typer app by ``riskdesk.cli`` (``app.command()(demo)``).

Both assume a migrated database; each calls ``django.setup()`` itself when needed.
"""

from __future__ import annotations

import threading
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from riskdesk.site.bootstrap import setup_django


def _fail(message: str) -> typer.Exit:
    Console(stderr=True).print(f"[bold red]Error:[/bold red] {message}", highlight=False)
    return typer.Exit(1)


def demo(
    clients: Annotated[int, typer.Option(min=1, help="Number of clients to generate.")] = 3000,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same book.")] = 7,
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Skip quietly (exit 0) when the book is not empty.")
    ] = False,
) -> None:
    """Fill an EMPTY database with a demo Hong Kong broker and create the demo users."""
    setup_django()
    from django.db import DatabaseError, transaction

    from riskdesk.demo.generator import DemoError, book_contents, build_demo, ensure_empty_book
    from riskdesk.demo.margin import seed_margin
    from riskdesk.users.demo import DEMO_PASSWORD, DEMO_USERS, create_demo_users

    console = Console()
    if if_empty and book_contents():
        from riskdesk.book.models import BookEvent

        console.print("The book is not empty: demo not loaded.")
        if BookEvent.objects.filter(key__startswith="demo-opening-").exists():
            _print_users(console, [(u, DEMO_PASSWORD, r) for u, r, _name in DEMO_USERS])
        return
    try:
        ensure_empty_book()
        columns = (
            TextColumn("[progress.description]{task.description:<22}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("clients"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=console, transient=False) as bar:
            task = bar.add_task("Demo users", total=clients)

            def progress(description: str, done: int, total: int) -> None:
                bar.update(task, description=description, completed=done, total=total)

            # Users and book in one transaction: a refusal or a failure leaves nothing behind.
            with transaction.atomic():
                users = create_demo_users()
                summary = build_demo(clients=clients, seed=seed, progress=progress)
                margin = seed_margin(seed=seed)
    except DemoError as exc:
        raise _fail(f"riskdesk demo: {exc}") from None
    except DatabaseError as exc:
        raise _fail(f"riskdesk demo: database error ({exc}); is the database migrated?") from None

    _print_users(console, users)
    rows = Table(title=f"Demo book (seed {summary.seed})")
    rows.add_column("Table")
    rows.add_column("Rows", justify="right")
    for name, count in summary.rows().items():
        rows.add_row(name.replace("_", " "), f"{count:,}")
    rows.add_row("of which options", f"{summary.options:,}")
    for name, count in margin.items():
        rows.add_row(name, f"{count:,}")
    console.print(rows)
    console.print(f"Built in {summary.seconds:.1f} s.")


def _print_users(console: Console, users) -> None:
    people = Table(title="Demo users (console login)")
    for column in ("User", "Password", "Role"):
        people.add_column(column)
    for username, password, role in users:
        people.add_row(username, password, role)
    console.print(people)


def feed(
    simulate: Annotated[
        bool, typer.Option("--simulate", help="Run the simulated random-walk feed.")
    ] = False,
    interval: Annotated[float, typer.Option(min=0.0, help="Seconds between ticks.")] = 1.0,
    ticks: Annotated[
        int | None, typer.Option(min=1, help="Stop after this many ticks (default: until Ctrl-C).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed of the walk.")] = 7,
    per_tick: Annotated[int, typer.Option(min=1, help="Instruments moved per tick.")] = 25,
) -> None:
    """Push price ticks into the book through the same service a real feed would use."""
    if not simulate:
        raise _fail(
            "riskdesk feed: no real market-data adapter is built yet. "
            "Run `riskdesk feed --simulate` for the simulated random-walk feed."
        )
    setup_django()
    from riskdesk.demo.feed import FeedError, FeedResult, run_feed

    console = Console()
    stop = threading.Event()
    last = FeedResult(0, 0, 0)
    with console.status("Simulated feed: waiting for the first tick…") as status:

        def on_tick(result: FeedResult) -> None:
            nonlocal last
            last = result
            status.update(
                f"Simulated feed: {result.ticks:,} ticks, {result.prices:,} prices (Ctrl-C to stop)"
            )

        try:
            last = run_feed(
                interval=interval,
                ticks=ticks,
                seed=seed,
                instruments_per_tick=per_tick,
                stop_event=stop,
                on_tick=on_tick,
            )
        except KeyboardInterrupt:
            stop.set()
        except FeedError as exc:
            raise _fail(f"riskdesk feed: {exc}") from None
    console.print(
        f"Simulated feed stopped: {last.ticks:,} price_update events, {last.prices:,} prices "
        f"applied, {last.stale:,} stale."
    )
