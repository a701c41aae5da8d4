"""Verdict keys pressed in the real window while another process holds an EXCLUSIVE lock on the
review database: the GUI keeps running (a 10 ms QTimer keeps firing), the operator is told how many
verdicts are queued, and they are recorded, in order, once the lock is released."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer

from inspector_app.main_window import MainWindow
from inspector_app.services.review_log import ReviewLog
from tests.app.test_station_support import make_folder

pytestmark = pytest.mark.gui
WAIT_MS = 20_000

# Another program: takes an exclusive lock, says so, holds it until a line arrives on stdin.
_LOCKER = (
    "import sqlite3, sys; db = sqlite3.connect(sys.argv[1], isolation_level=None); "
    "db.execute('BEGIN EXCLUSIVE'); db.execute(\"INSERT INTO meta VALUES ('locker', 'x')\"); "
    "print('locked', flush=True); sys.stdin.readline(); db.execute('COMMIT'); print('released', flush=True)"
)


def test_verdicts_given_while_the_log_is_locked_land_after_release(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "project"
    make_folder(folder, 4)
    db = folder / ".inspector" / "review.sqlite"
    ReviewLog(db).close()  # the project already has its log
    window = MainWindow(operator="tester")
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    with qtbot.waitSignal(window.image_shown, timeout=WAIT_MS):
        assert window.open_path(folder)
    window.canvas.setFocus()
    proc = subprocess.Popen([sys.executable, "-c", _LOCKER, str(db)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    ticks: list[int] = []
    timer = QTimer(interval=10)
    timer.timeout.connect(lambda: ticks.append(1))
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        timer.start()
        review = window.station.review
        with qtbot.waitSignal(window.image_shown, timeout=WAIT_MS) as shown:
            qtbot.keyClick(window.canvas, Qt.Key.Key_O)  # OK, then on to the next unreviewed
        assert shown.args == ["img_1.png"]
        qtbot.keyClick(window.canvas, Qt.Key.Key_N)
        # Both verdicts are taken (list and summary show them) but none is in the file yet.
        assert review.waiting() == 2 and review.summary().reviewed == 2
        ticks.clear()
        # The writer meets the lock, waits its busy time-out (2 s) and queues: the event loop ran
        # all along (a GUI thread blocked in SQLite would have fired the 10 ms timer once or twice).
        qtbot.waitUntil(lambda: "Review log busy" in window.notice.label.text(), timeout=WAIT_MS)
        assert len(ticks) >= 20
        assert "verdict(s) queued" in window.notice.label.text()
        assert "review.sqlite" in window.notice.label.text()
        assert sqlite3.connect(db).execute("SELECT count(*) FROM reviews").fetchone()[0] == 0

        assert proc.stdin is not None
        proc.stdin.write("\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "released"
        qtbot.waitUntil(lambda: review.waiting() == 0, timeout=WAIT_MS)
        query = "SELECT image, verdict, operator FROM reviews ORDER BY id"
        rows = sqlite3.connect(db).execute(query).fetchall()
        assert rows == [("img_0.png", "OK", "tester"), ("img_1.png", "NG", "tester")]
        assert "every queued verdict is recorded" in window.notice.label.text()
        assert window.station.close()
    finally:
        timer.stop()
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        window.shutdown()
