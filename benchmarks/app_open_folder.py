"""Benchmark: open a 10,000-image folder; time until the list shows and the first image is on screen.

The folder holds 10,000 640x480 PNG files (hard links to a few real files, so the disk cost is
small while listing and scanning behave as for distinct files). Measured in the real main window:
``open_path`` -> first image painted, and the time until the background scan has checked every
file (the GUI stays responsive meanwhile: the largest gap between timer ticks is reported).

    python benchmarks/app_open_folder.py [--count 10000]
"""

from __future__ import annotations

import argparse
import itertools
import os
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from app_common import now, synthetic_folder
from app_next_image import _wait_signal
from PySide6.QtCore import QTimer

from inspector_app.app import create_application
from inspector_app.main_window import MainWindow


def big_folder(root: Path, count: int) -> Path:
    """``count`` image names (hard links to 8 real PNGs)."""
    sources = synthetic_folder(root.parent / "sources", 8)
    root.mkdir(parents=True, exist_ok=True)
    originals = sorted(sources.glob("*.png"))
    existing = {p.name for p in root.iterdir()}
    for i in range(count):
        name = f"part_{i:05d}.png"
        if name not in existing:
            os.link(originals[i % len(originals)], root / name)
    return root


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "di_bench_open")
    args = parser.parse_args()
    folder = big_folder(args.work / f"folder_{args.count}", args.count)
    create_application()
    window = MainWindow(operator="bench")
    window.resize(1400, 860)
    window.show()
    ticks: list[float] = []
    heartbeat = QTimer()
    heartbeat.timeout.connect(lambda: ticks.append(now()))
    heartbeat.start(10)
    start = now()
    window.open_path(folder)
    opened = now()
    _wait_signal(window.image_shown)
    window.canvas.viewport().repaint()
    first_image = now()
    rows_at_first = window.station.navigation.files.rowCount()
    while window.station.navigation.scanner.is_running():
        _wait_signal(window.station.navigation.scanner.finished, timeout_s=600)
    scanned = now()
    heartbeat.stop()
    gaps = [b - a for a, b in itertools.pairwise(ticks) if a >= start]
    window.shutdown()
    window.close()
    print(f"folder: {args.count:,} images")
    print(f"open_path returned after     {1e3 * (opened - start):7.1f} ms")
    print(f"first image on screen after  {1e3 * (first_image - start):7.1f} ms (target < 1000); "
          f"list had {rows_at_first:,} rows")
    print(f"all statuses filled after    {scanned - start:7.2f} s (background scan)")
    if gaps:
        print(f"longest GUI stall while scanning: {1e3 * max(gaps):.0f} ms (10 ms timer)")


if __name__ == "__main__":
    main()
