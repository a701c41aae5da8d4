"""Benchmark: event-loop stall while a large LabelMe document opens and saves in the station.

A ~50 MB LabelMe JSON (polygons with many vertices) sits beside a 640x480 image. A 10 ms QTimer
runs on the GUI thread; the figure is the largest gap between its ticks (the longest time the
window could not repaint or take a key) during each operation. Side by side in one run:

* before: the old synchronous path, ``core.annotations.load_document`` / ``save_document``
  called on the GUI thread (what opening and saving did until the I/O moved to threads);
* after: the station path (``Station``: the loader thread parses the document with the image,
  the session opens it; an edit, then ``save_current``, written by the writer thread).

    python benchmarks/app_document_io.py [--mb 50] [--repeat 1]

Target: largest gap <= 100 ms for the station path.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import cv2
import numpy as np
from PySide6.QtCore import QEventLoop, QTimer

from inspector_app.app import create_application
from inspector_app.controllers.station import Station
from inspector_app.core.annotations import load_document, save_document


def make_document(folder: Path, megabytes: float) -> Path:
    """A 640x480 PNG and a LabelMe JSON of about ``megabytes`` MB beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    image = folder / "big.png"
    cv2.imwrite(str(image), np.full((480, 640, 3), 90, np.uint8))
    rng = np.random.default_rng(0)
    points_per_shape = 1000
    shape_bytes = points_per_shape * 58  # about 58 bytes per vertex with indent=2
    shapes = []
    for i in range(max(1, int(megabytes * 1e6 / shape_bytes))):
        angles = np.linspace(0, 2 * np.pi, points_per_shape, endpoint=False)
        cx, cy, r = rng.uniform(100, 540), rng.uniform(100, 380), rng.uniform(20, 90)
        pts = np.stack([cx + r * np.cos(angles), cy + r * np.sin(angles)], 1).round(3).tolist()
        shapes.append({"label": f"defect_{i % 3}", "points": pts, "group_id": None, "description": "",
                       "shape_type": "polygon", "flags": {}, "mask": None})  # fmt: skip
    doc = {"version": "5.4.1", "flags": {}, "shapes": shapes, "imagePath": "big.png", "imageData": None,
           "imageHeight": 480, "imageWidth": 640}  # fmt: skip
    path = folder / "big.json"
    path.write_text(json.dumps(doc, indent=2))
    return path


class Ticks:
    """Largest gap between 10 ms timer ticks while something runs."""

    def __init__(self) -> None:
        self.timer = QTimer(interval=10)
        self.timer.timeout.connect(self._tick)
        self.last = 0.0
        self.worst = 0.0

    def _tick(self) -> None:
        t = time.perf_counter()
        self.worst = max(self.worst, t - self.last)
        self.last = t

    def measure(
        self, start: Callable[[], object], done: Callable[[], bool], timeout_s: float = 600
    ) -> tuple[float, float]:
        """(largest gap ms, total ms) from ``start()`` until ``done()`` holds."""
        loop = QEventLoop()
        self.worst, self.last = 0.0, time.perf_counter()
        self.timer.start()
        poll = QTimer(interval=5)
        poll.timeout.connect(lambda: loop.quit() if done() else None)
        t0 = time.perf_counter()
        QTimer.singleShot(30, start)
        QTimer.singleShot(int(timeout_s * 1000), loop.quit)
        QTimer.singleShot(40, poll.start)
        loop.exec()
        poll.stop()
        total = time.perf_counter() - t0 - 0.03
        self._tick()
        self.timer.stop()
        return self.worst * 1e3, total * 1e3


def run_once(json_path: Path, ticks: Ticks) -> list[tuple[str, str, float, float]]:
    """One open and one save by each path: (operation, path, largest gap ms, total ms) rows."""
    rows = []
    # before: the synchronous core calls on the GUI thread
    box: dict[str, Any] = {}
    out = json_path.with_name("copy.json")
    gap, total = ticks.measure(lambda: box.update(doc=load_document(json_path)), lambda: "doc" in box)
    rows.append(("open", "before (GUI thread)", gap, total))
    gap, total = ticks.measure(
        lambda: box.update(saved=save_document(box["doc"], out)), lambda: "saved" in box
    )
    rows.append(("save", "before (GUI thread)", gap, total))
    out.unlink()
    box.clear()  # the "before" document must not stay for the collector to walk during "after"
    gc.collect()
    # after: the station path
    station = Station(operator="bench")
    station.navigation.row_proposed.connect(station.navigation.select_row)
    shown: list[str] = []
    saved: list[str] = []
    station.image_shown.connect(shown.append)
    station.annotation.saved.connect(lambda name, _counts: saved.append(name))
    try:
        gap, total = ticks.measure(lambda: station.open_path(json_path.parent), lambda: bool(shown))
        session = station.annotation.session
        assert len(session.state.shapes) > 0, "the document did not open"
        rows.append(("open", "after (station)", gap, total))
        session.move_shapes([session.shape_ids[0]], 1.0, 1.0)
        gap, total = ticks.measure(lambda: station.annotation.save_current(), lambda: bool(saved))
        assert not session.is_dirty, "the save did not complete"
        rows.append(("save", "after (station)", gap, total))
    finally:
        station.shutdown()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=50.0)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    create_application([])
    with tempfile.TemporaryDirectory() as tmp:
        json_path = make_document(Path(tmp) / "project", args.mb)
        print(f"document: {json_path.stat().st_size / 1e6:.1f} MB")
        ticks = Ticks()
        rows = []
        for _ in range(args.repeat):
            rows += run_once(json_path, ticks)
        print(f"{'operation':10} {'path':22} {'largest gap ms':>15} {'total ms':>10}")
        for op, path, gap, total in rows:
            print(f"{op:10} {path:22} {gap:15.0f} {total:10.0f}")


if __name__ == "__main__":
    main()
