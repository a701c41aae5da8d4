"""Benchmark: "next image" in the station at 640x480 with inference and the overlay painted.

Measures, in the real main window (offscreen), the time from the "next" request to the moment the
new image's prediction overlay has been painted, median and p90 over N switches:

* ``operator``: a pause (default 400 ms) between switches, as when a person looks at each image;
  the station uses that time to decode and predict the next image ahead (prefetch);
* ``back-to-back``: the next switch right after the overlay is painted (no time to prefetch the
  prediction; the worst case of someone holding the key down).

    python benchmarks/app_next_image.py [--count 40] [--dwell-ms 400]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from app_common import median, now, percentile, synthetic_folder, zhong_model
from PySide6.QtCore import QEventLoop, QTimer

from inspector_app.app import create_application
from inspector_app.main_window import MainWindow


def _wait_signal(signal: object, timeout_s: float = 30.0) -> None:
    """Block in a real event loop until ``signal`` fires (no busy waiting: the worker threads
    need the GIL, and a spinning ``processEvents`` loop would starve them)."""
    loop = QEventLoop()
    signal.connect(loop.quit)  # type: ignore[attr-defined]
    timer = QTimer()
    timer.setSingleShot(True)
    timer.timeout.connect(loop.quit)
    timer.start(int(timeout_s * 1000))
    loop.exec()
    signal.disconnect(loop.quit)  # type: ignore[attr-defined]
    if not timer.isActive():
        raise TimeoutError("the station did not answer")
    timer.stop()


def _pause(ms: int) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def run(count: int, dwell_ms: int, work: Path) -> dict[str, list[float]]:
    """Switch ``count`` times in each mode; returns the timings (ms) per mode."""
    create_application()
    model, description = zhong_model(work / "models")
    print(f"model: {description}")
    folder = synthetic_folder(work / "images", 2 * count + 4)
    window = MainWindow(operator="bench")
    window.resize(1400, 860)
    window.show()
    shown: list[str] = []
    window.prediction_shown.connect(shown.append)
    window.station.prediction.load_model(model)
    window.open_path(folder)
    _wait_signal(window.prediction_shown)
    results: dict[str, list[float]] = {"operator": [], "back-to-back": []}
    for mode in results:
        for _ in range(count):
            if mode == "operator":
                _pause(dwell_ms)
            before = len(shown)
            start = now()
            window.step(1)
            if len(shown) == before:  # not answered synchronously from the caches
                _wait_signal(window.prediction_shown)
            window.canvas.viewport().repaint()  # the overlay is on screen, not just scheduled
            results[mode].append((now() - start) * 1e3)
    window.shutdown()
    window.close()
    return results


def main() -> None:
    """Print median / p90 per mode."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--dwell-ms", type=int, default=400)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "di_bench_next")
    args = parser.parse_args()
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    results = run(args.count, args.dwell_ms, args.work)
    for mode, values in results.items():
        print(
            f"next image ({mode:12s}): median {median(values):6.1f} ms   p90 {percentile(values, 90):6.1f} ms"
            f"   max {max(values):6.1f} ms   (n={len(values)}, 640x480, target median <= 50 ms)"
        )


if __name__ == "__main__":
    main()
