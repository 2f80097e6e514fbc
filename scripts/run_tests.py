"""`make test`: every test on SQLite, the browser tests against a live server in Chromium,
then the database tests again on PostgreSQL when 127.0.0.1:5432 answers."""

import os
import socket
import subprocess
import sys

PG_URL = os.environ.get("PG_TEST_URL", "postgresql://postgres@127.0.0.1:5432/test")
PYTEST = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"]


def postgres_answers(host: str = "127.0.0.1", port: int = 5432) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def run(title: str, args: list[str], env: dict) -> int:
    print(f"\n=== {title} ===", flush=True)
    return subprocess.call(PYTEST + args, env=env)


def main() -> int:
    env_sqlite = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    failures = 0
    failures += (
        run(
            "unit, integration and API tests on SQLite",
            ["tests", "-m", "not e2e", "-n", "2"],
            env_sqlite,
        )
        != 0
    )
    failures += (
        run("browser tests (Chromium, live server, SQLite)", ["tests/e2e", "-m", "e2e"], env_sqlite)
        != 0
    )
    if postgres_answers():
        failures += (
            run(
                f"database tests on PostgreSQL ({PG_URL})",
                ["tests", "-m", "not e2e and not sqlite_only", "--ignore=tests/engine", "-n", "2"],
                {**os.environ, "DATABASE_URL": PG_URL},
            )
            != 0
        )
    else:
        print("\n=== PostgreSQL run SKIPPED: nothing answers on 127.0.0.1:5432 ===", flush=True)
    print(
        "\nall test runs passed" if not failures else f"\n{failures} test run(s) failed", flush=True
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
