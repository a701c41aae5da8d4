"""A review database locked by another process: the write waits its busy time-out, then raises a clear
error; queued verdicts are written, in order, once the lock is released (nothing lost)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from inspector_app.services.review_log import PendingVerdicts, ReviewBusyError, ReviewLog, ReviewRecord

# Another program: takes the write lock, says so, holds it until a line arrives on stdin.
_LOCKER = (
    "import sqlite3, sys; db = sqlite3.connect(sys.argv[1], isolation_level=None); "
    "db.execute('BEGIN IMMEDIATE'); db.execute(\"INSERT INTO meta VALUES ('locker', 'x')\"); "
    "print('locked', flush=True); sys.stdin.readline(); db.execute('COMMIT'); print('released', flush=True)"
)


@pytest.fixture
def locker(tmp_path: Path):  # type: ignore[no-untyped-def]
    db = tmp_path / "review.sqlite"
    ReviewLog(db).close()  # the schema exists
    proc = subprocess.Popen([sys.executable, "-c", _LOCKER, str(db)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    yield db, proc
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)


def _release(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("\n")
    proc.stdin.flush()
    assert proc.stdout.readline().strip() == "released"


def test_locked_database_raises_busy_then_queued_verdicts_are_written(locker) -> None:  # type: ignore[no-untyped-def]
    db, proc = locker
    log = ReviewLog(db, busy_timeout_s=0.2)
    with pytest.raises(ReviewBusyError, match=r"review\.sqlite.*locked by another program"):
        log.record(ReviewRecord(image="a.png", verdict="NG"))
    pending = PendingVerdicts()
    pending.submit(ReviewRecord(image="a.png", verdict="NG", comment="first"))
    pending.submit(ReviewRecord(image="a.png", verdict="OK", comment="second"))
    with pytest.raises(ReviewBusyError):
        pending.flush(log)
    assert len(pending) == 2  # kept, in order

    _release(proc)
    written = pending.flush(log)
    assert [r.comment for r in written] == ["first", "second"] and len(pending) == 0
    assert [r.comment for r in log.history("a.png")] == ["first", "second"]
    assert log.latest()["a.png"].verdict == "OK"
    log.close()
