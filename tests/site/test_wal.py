"""SQLite's log is checkpointed by the monitor's background thread, not in the writers'
COMMIT (site.wal; the 1M-account monitor benchmark measured the difference)."""

import sqlite3
import time
from pathlib import Path

from riskdesk.site.wal import Checkpointer


def test_the_checkpointer_moves_the_log_into_the_database(tmp_path: Path):
    # Arrange: a WAL database whose writers never checkpoint themselves
    path = tmp_path / "book.sqlite3"
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA wal_autocheckpoint=0")
    con.execute("CREATE TABLE tick (id INTEGER PRIMARY KEY, price TEXT)")
    con.execute("BEGIN")
    con.executemany("INSERT INTO tick (price) VALUES (?)", [(f"{i}.25" * 20,) for i in range(5000)])
    con.execute("COMMIT")
    before = path.stat().st_size
    assert Path(f"{path}-wal").stat().st_size > 500_000  # the rows are in the log only
    # Act
    checkpointer = Checkpointer(str(path), interval=0.02)
    checkpointer.start()
    deadline = time.monotonic() + 5
    while path.stat().st_size == before and time.monotonic() < deadline:
        time.sleep(0.02)
    checkpointer.stop()
    # Assert: the database file now holds the rows; writers went on meanwhile
    assert path.stat().st_size > before + 500_000
    assert checkpointer.checkpoints >= 1 and not checkpointer.is_alive()
    con.execute("INSERT INTO tick (price) VALUES ('1.00')")
    assert con.execute("SELECT COUNT(*) FROM tick").fetchone()[0] == 5001
    con.close()
