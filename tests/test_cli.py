"""The `riskdesk` command as `make run` uses it, in a scratch home: migrate, demo, demo again
(skipped, users printed), token, createuser, reconcile. Real processes, real SQLite file."""

import json
import os
import subprocess
import sys
import urllib.request

import pytest

pytestmark = pytest.mark.slow


def riskdesk(home, *args, input=None):
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")
    }
    env["RISKDESK_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "riskdesk", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        input=input,
    )


def test_make_run_sequence(tmp_path):
    assert riskdesk(tmp_path, "migrate").returncode == 0
    first = riskdesk(tmp_path, "demo", "--clients", "60", "--seed", "3", "--if-empty")
    assert first.returncode == 0, first.stderr
    assert "officer" in first.stdout and "riskdesk-demo" in first.stdout
    assert (tmp_path / "riskdesk.sqlite3").exists()
    again = riskdesk(tmp_path, "demo", "--if-empty")
    assert again.returncode == 0
    assert "not empty" in again.stdout and "riskdesk-demo" in again.stdout
    refused = riskdesk(tmp_path, "demo", "--clients", "10")
    assert refused.returncode == 1 and "not empty" in refused.stderr
    assert riskdesk(tmp_path, "reconcile").returncode == 0
    token = riskdesk(tmp_path, "token", "auditor")
    assert token.returncode == 0 and token.stdout.strip().startswith("rd_")
    bad = riskdesk(tmp_path, "createuser", "zoe", "--role", "pilot", "--password", "x" * 10)
    assert bad.returncode == 2 and "unknown role" in bad.stdout


def test_serve_answers_and_the_api_reads_an_account(tmp_path):
    """`riskdesk web` serves the API; a token from `riskdesk token` reads a demo account."""
    import socket
    import time

    riskdesk(tmp_path, "migrate")
    riskdesk(tmp_path, "demo", "--clients", "20", "--seed", "5")
    raw = riskdesk(tmp_path, "token", "auditor").stdout.strip()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["RISKDESK_HOME"] = str(tmp_path)
    web = subprocess.Popen([sys.executable, "-m", "riskdesk", "web", "--port", str(port)], env=env)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        req = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/accounts/0000001-C",
            headers={"Authorization": f"Bearer {raw}"},
        )
        try:
            body = json.load(urllib.request.urlopen(req, timeout=5))
        except urllib.error.HTTPError as exc:  # the first client may hold a margin account only
            assert exc.code == 404
            req = urllib.request.Request(
                f"http://127.0.0.1:{port}/api/v1/accounts/0000001-M",
                headers={"Authorization": f"Bearer {raw}"},
            )
            body = json.load(urllib.request.urlopen(req, timeout=5))
        assert body["client"] == "C0000001" and body["base_currency"] == "HKD"
    finally:
        web.terminate()
        web.wait(timeout=10)


def test_serve_runs_web_worker_scheduler_and_monitor_and_sigint_stops_all(tmp_path):
    """`make run`'s last step: one command, four processes, Ctrl-C (SIGINT) stops them all."""
    import signal
    import socket
    import time

    riskdesk(tmp_path, "migrate")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["RISKDESK_HOME"] = str(tmp_path)
    serve = subprocess.Popen(
        [sys.executable, "-m", "riskdesk", "serve", "--port", str(port)], env=env
    )
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        children = subprocess.run(
            ["pgrep", "-P", str(serve.pid)], capture_output=True, text=True
        ).stdout.split()
        assert len(children) == 4  # web, worker, scheduler, monitor
        serve.send_signal(signal.SIGINT)
        assert serve.wait(timeout=20) == 0
        for pid in children:
            assert subprocess.run(["kill", "-0", pid], capture_output=True).returncode != 0, pid
    finally:
        if serve.poll() is None:
            serve.kill()
