"""`riskdesk demo` and `riskdesk feed` as the lead registers them on the typer app."""

import pytest
import typer
from typer.testing import CliRunner

from riskdesk.book.models import BookEvent, Client
from riskdesk.demo.commands import demo, feed

pytestmark = pytest.mark.django_db(transaction=False)

app = typer.Typer()
app.command()(demo)
app.command()(feed)
runner = CliRunner()


def test_demo_builds_the_book_and_prints_users_and_counts(db):
    result = runner.invoke(app, ["demo", "--clients", "40", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "officer" in result.output and "riskdesk-demo" in result.output
    assert "clients" in result.output and "40" in result.output
    assert Client.objects.count() == 40


def test_demo_refuses_a_non_empty_book_and_writes_nothing(db):
    assert runner.invoke(app, ["demo", "--clients", "20"]).exit_code == 0
    events = BookEvent.objects.count()
    result = runner.invoke(app, ["demo", "--clients", "50", "--seed", "8"])
    assert result.exit_code == 1
    assert "not empty" in result.output
    assert Client.objects.count() == 20
    assert BookEvent.objects.count() == events


def test_feed_needs_simulate(db):
    result = runner.invoke(app, ["feed"])
    assert result.exit_code == 1
    assert "--simulate" in result.output
    assert not BookEvent.objects.filter(kind="price_update").exists()


def test_feed_simulate_posts_ticks(db):
    assert runner.invoke(app, ["demo", "--clients", "10"]).exit_code == 0
    result = runner.invoke(
        app, ["feed", "--simulate", "--ticks", "3", "--interval", "0", "--per-tick", "4"]
    )
    assert result.exit_code == 0, result.output
    assert BookEvent.objects.filter(kind="price_update").count() == 3
    assert "3 price_update events" in result.output
