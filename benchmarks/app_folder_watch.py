"""Benchmark: the file list following a 10,000-image folder while it is open.

In the real main window on the folder of ``app_open_folder.py`` (hard links to a few real PNGs):
after the scan, ``--changes`` images are added to the folder one by one (a new hard link, complete
at once) and then deleted again. Printed: time from the file appearing on disk to its row in the
list (includes the 0.3 s settle time a new file must stay unchanged), the same for a removal, and
the longest gap between 10 ms timer ticks on the GUI thread over the whole run (the GUI only
notes which folder changed; the folder is relisted on the watch's worker thread).

    python benchmarks/app_folder_watch.py [--count 10000] [--changes 10]
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from app_common import now
from app_next_image import _wait_signal
from app_open_folder import big_folder
from PySide6.QtCore import QEventLoop, QTimer

from inspector_app.app import create_application
from inspector_app.main_window import MainWindow


def _wait_until(check: Callable[[], bool], timeout_s: float = 30.0) -> None:
    """Run the event loop (in 5 ms slices, not spinning) until ``check()`` is true."""
    deadline = now() + timeout_s
    while not check():
        if now() > deadline:
            raise TimeoutError("the list did not follow the folder")
        loop = QEventLoop()
        QTimer.singleShot(5, loop.quit)
        loop.exec()


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--changes", type=int, default=10)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "di_bench_open")
    args = parser.parse_args()
    folder = big_folder(args.work / f"folder_{args.count}", args.count)
    source = next(folder.glob("*.png"))
    create_application()
    window = MainWindow(operator="bench")
    window.resize(1400, 860)
    window.show()
    nav = window.station.navigation
    window.open_path(folder)
    _wait_signal(window.image_shown)
    while nav.scanner.is_running():
        _wait_signal(nav.scanner.finished, timeout_s=600)
    _wait_until(lambda: bool(nav.watch.watched_folders()))
    ticks: list[float] = []
    heartbeat = QTimer()
    heartbeat.timeout.connect(lambda: ticks.append(now()))
    heartbeat.start(10)
    start = now()
    added_ms, removed_ms = [], []
    names = [f"new_{i:03d}.png" for i in range(args.changes)]
    for name in names:
        t0 = now()
        os.link(source, folder / name)
        _wait_until(lambda n=name: nav.files.row_of(n) is not None)  # type: ignore[misc]
        added_ms.append(1e3 * (now() - t0))
    for name in names:
        t0 = now()
        (folder / name).unlink()
        _wait_until(lambda n=name: nav.files.row_of(n) is None)  # type: ignore[misc]
        removed_ms.append(1e3 * (now() - t0))
    heartbeat.stop()
    gaps = [b - a for a, b in itertools.pairwise(ticks) if a >= start]
    rows = nav.files.rowCount()
    window.shutdown()
    window.close()
    print(f"folder: {args.count:,} images, {args.changes} added then removed one by one; {rows:,} rows left")
    add_med, add_max = statistics.median(added_ms), max(added_ms)
    rm_med, rm_max = statistics.median(removed_ms), max(removed_ms)
    print(f"new file -> row in the list:  median {add_med:6.0f} ms, max {add_max:6.0f} ms (settle incl.)")
    print(f"deleted file -> row gone:     median {rm_med:6.0f} ms, max {rm_max:6.0f} ms")
    print(f"longest GUI stall meanwhile:  {1e3 * max(gaps):.0f} ms (10 ms timer)")


if __name__ == "__main__":
    main()
