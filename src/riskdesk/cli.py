"""The ``riskdesk`` command (typer).

serve      web + task worker + scheduler + risk monitor in one command (Ctrl-C stops all)
web        the console and API alone (uvicorn, ASGI)
worker     the task worker alone        scheduler  the scheduler alone
monitor    the risk monitor alone (margin calls; --once to screen and exit)
migrate    create or upgrade the database
demo       load the demo broker          feed --simulate   random-walk price ticks
createuser / token                       calc margin|shortfall FILE   the risk engine on a file
"""

import os
import signal
import subprocess
import sys
import time

import typer
from rich.console import Console

from riskdesk.calc import app as calc_app
from riskdesk.demo import commands as demo_commands
from riskdesk.liquidation import commands as liquidation_commands
from riskdesk.margincall import commands as monitor_commands
from riskdesk.site.bootstrap import setup_django

app = typer.Typer(
    help="RiskDesk: risk back-office for HK and US securities brokers.", no_args_is_help=True
)
app.add_typer(
    calc_app, name="calc", help="Compute risk figures from a scenario file (SCENARIO.md)."
)
console = Console()
app.command()(demo_commands.demo)
app.command()(demo_commands.feed)
app.command()(monitor_commands.monitor)
app.command()(liquidation_commands.fixgateway)


@app.command()
def migrate() -> None:
    """Create or upgrade the database (SQLite file, or DATABASE_URL)."""
    setup_django()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=1)


@app.command()
def createuser(
    username: str,
    role: str = typer.Option(
        ..., help="risk_officer, risk_approver, clearing_operator, auditor, administrator"
    ),
    password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True),
    email: str = "",
) -> None:
    """Create a console user with one role (or reset its password and role)."""
    setup_django()
    from riskdesk.users.services import create_user

    try:
        create_user(username=username, password=password, role=role, email=email)
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    console.print(f"user [bold]{username}[/bold] ({role}) ready")


@app.command()
def token(username: str, name: str = "cli") -> None:
    """Issue an API bearer token for a user; the token is shown once."""
    setup_django()
    from django.contrib.auth import get_user_model

    from riskdesk.users.models import ApiToken

    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        console.print(f"[red]no user {username}[/red]")
        raise typer.Exit(2)
    _token, raw = ApiToken.objects.issue(user=user, name=name)
    print(raw)


@app.command()
def web(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve the console and the API (ASGI, uvicorn)."""
    import uvicorn

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "riskdesk.site.settings")
    uvicorn.run(
        "riskdesk.site.asgi:application", host=host, port=port, log_level="warning", lifespan="off"
    )


@app.command()
def worker() -> None:
    """Run the task worker (database-backed queue)."""
    setup_django()
    from django.core.management import call_command

    # No auto-reload: a reload could stop a task half-way.
    call_command("db_worker", verbosity=0, reload=False, startup_delay=False)


@app.command()
def scheduler(poll: float = 30.0) -> None:
    """Run the scheduler: daily jobs on each market's trading days."""
    setup_django()
    from riskdesk.jobs.scheduler import run_forever

    run_forever(poll)


@app.command()
def reconcile() -> None:
    """Check that every balance and position equals the sum of its entries."""
    setup_django()
    from riskdesk.book.selectors import reconcile_book

    problems = reconcile_book()
    for line in problems:
        console.print(f"[red]{line}[/red]")
    console.print(f"{len(problems)} difference(s)")
    raise typer.Exit(1 if problems else 0)


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve the console with its worker, scheduler and risk monitor; Ctrl-C stops all four."""
    exe = [sys.executable, "-m", "riskdesk"]
    procs = {
        "web": subprocess.Popen([*exe, "web", "--host", host, "--port", str(port)]),
        "worker": subprocess.Popen([*exe, "worker"]),
        "scheduler": subprocess.Popen([*exe, "scheduler"]),
        "monitor": subprocess.Popen([*exe, "monitor"]),
    }
    if os.environ.get("RISKDESK_ORDER_GATEWAY") == "fix":
        procs["fixgateway"] = subprocess.Popen([*exe, "fixgateway"])
    console.print(
        f"[bold green]RiskDesk[/bold green] on http://{host}:{port}/  (web, worker, scheduler, monitor; Ctrl-C stops)"
    )

    def stop(*_args):
        for proc in procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()

    def on_signal(*_args):
        stop()
        sys.exit(0)

    # Explicit handlers: a shell starting us in the background ignores SIGINT, and Python then
    # raises no KeyboardInterrupt; Ctrl-C, kill -INT and kill -TERM must all stop the four.
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    while True:
        for name, proc in procs.items():
            if proc.poll() is not None:
                console.print(f"[red]{name} exited with {proc.returncode}; stopping[/red]")
                stop()
                raise typer.Exit(1)
        time.sleep(0.5)


if __name__ == "__main__":
    app()
