"""Run callables at the same instant on real threads (each with its own database connection)."""

import threading

from django.db import connection


def race(*calls, refused: tuple[type[BaseException], ...] = ()) -> list[tuple[str, object]]:
    """Start every call behind one barrier; return ("ok", result) or ("refused", message) each."""
    barrier = threading.Barrier(len(calls))
    outcomes = []

    def run(fn):
        try:
            barrier.wait()
            outcomes.append(("ok", fn()))
        except refused as exc:
            outcomes.append(("refused", str(exc)))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(fn,)) for fn in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes
