"""Benchmark: does composing live frames on a worker thread stall the GUI thread?

A worker thread composes 1920x1080 frames with their overlay (as the live output thread does) at
``--rate`` per second while the main thread sleeps 5 ms at a time and records how late it wakes:
a late wake-up is time spent waiting for the GIL (or a core). Side by side in one run, alternating:
``qt`` = the former composition with QPainter and ``QImage.scaled`` (PySide6 holds the GIL for
those calls), ``cv`` = :func:`inspector_app.qtconvert.blended_qimage` (OpenCV/numpy, GIL released).

    python benchmarks/live_compose_gil.py [--seconds 4] [--rounds 3] [--rate 15]
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from collections.abc import Callable

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPainter

from inspector_app.app import create_application
from inspector_app.qtconvert import array_to_qimage, blended_qimage, overlay_qimage


def qt_composition(image: np.ndarray, mask: np.ndarray, palette: np.ndarray, max_side: int | None) -> QImage:
    """The composition blended_qimage replaced: convert, QPainter, smooth QImage.scaled."""
    frame = array_to_qimage(image).convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)
    painter = QPainter(frame)
    painter.drawImage(0, 0, overlay_qimage(mask, palette, 0.5))
    painter.end()
    if max_side is not None:
        frame = frame.scaled(
            max_side, max_side, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
        )
    return frame


def measure(compose: Callable[[], object], seconds: float, rate: float) -> tuple[float, float, float]:
    """(ms per composed frame, largest and 99th-percentile main-thread lateness in ms)."""
    stop = threading.Event()
    spent: list[float] = []

    def work() -> None:
        while not stop.is_set():
            start = time.perf_counter()
            compose()
            spent.append(time.perf_counter() - start)
            time.sleep(max(0.0, 1.0 / rate - spent[-1]))

    worker = threading.Thread(target=work)
    worker.start()
    late: list[float] = []
    last = time.perf_counter()
    end = last + seconds
    while last < end:
        time.sleep(0.005)
        now = time.perf_counter()
        late.append(now - last - 0.005)
        last = now
    stop.set()
    worker.join()
    late.sort()
    return 1e3 * sum(spent) / len(spent), 1e3 * late[-1], 1e3 * late[int(len(late) * 0.99)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rate", type=float, default=15.0)
    args = parser.parse_args()
    create_application()
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (1080, 1920, 3), dtype=np.uint8)
    mask = np.zeros((1080, 1920), np.uint8)
    mask[300:600, 400:900], mask[700:800, 1200:1500] = 1, 2
    palette = np.array([[0, 0, 0], [255, 0, 0], [0, 255, 0]], np.uint8)
    print(f"1920x1080 frames composed at {args.rate:.0f}/s on a worker; main thread wakes every 5 ms")
    print("round  size    way   ms/frame   max late ms   p99 late ms   load")
    for round_ in range(1, args.rounds + 1):
        for max_side in (None, 960):
            for way, compose in (
                ("qt", lambda m=max_side: qt_composition(image, mask, palette, m)),
                ("cv", lambda m=max_side: blended_qimage(image, mask, palette, 0.5, m)),
            ):
                per, worst, p99 = measure(compose, args.seconds, args.rate)
                size = "full" if max_side is None else str(max_side)
                print(
                    f"{round_:>5}  {size:<6}  {way:<3} {per:>9.1f} {worst:>13.1f} {p99:>13.1f}"
                    f"   {os.getloadavg()[0]:.1f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
