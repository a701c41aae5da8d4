"""Benchmark: the station's event-loop stall while a training job runs in the Training mode.

A project of 64x64 LabelMe-annotated images is made in a temporary folder, opened in the real
main window, and a tiny real ``defect-train`` job (a fresh network, ``--epochs`` epochs) is started
from the Training page: its stdout events are parsed on the GUI thread and fed to the live curves,
the log and the progress bar. A 10 ms QTimer measures the largest gap between its ticks, first
with the station idle (same duration), then while the job runs; side by side in one run.

    python benchmarks/app_training_stall.py [--epochs 3] [--images 8]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2
import numpy as np
from PySide6.QtCore import QEventLoop, QTimer

from inspector_app.app import create_application
from inspector_app.core.annotations import Shape, document_for_image, save_document
from inspector_app.core.classes import ClassTable
from inspector_app.main_window import MainWindow
from inspector_app.services.training.presets import QUICK_FINE_TUNE
from inspector_app.widgets import training_widgets as tw

VALUES = {"scratch": 250, "stain": 20, "dent": 180}


def annotate_image(root: Path, name: str, label: str, seed: int) -> None:
    """A 64x64 grey image with one 12x12 defect of ``label`` and its LabelMe file."""
    rng = np.random.default_rng(seed)
    image = rng.normal(128, 6, (64, 64, 3)).clip(0, 255).astype(np.uint8)
    x, y = (int(v) for v in rng.integers(4, 48, 2))
    image[y : y + 12, x : x + 12] = VALUES[label]
    cv2.imwrite(str(root / name), image)
    json_path = (root / name).with_suffix(".json")
    shape = Shape(label, ((x, y), (x + 12, y), (x + 12, y + 12), (x, y + 12)))
    save_document(document_for_image(root / name, json_path, [shape], height=64, width=64), json_path)


def make_project(root: Path, count: int) -> Path:
    """``count`` annotated 64x64 images, two classes in the project's table."""
    root.mkdir(parents=True)
    for i in range(count):
        annotate_image(root, f"p{i}.png", "scratch" if i % 2 else "stain", i)
    (root / ".inspector").mkdir()
    ClassTable.from_labels(["scratch", "stain"]).save(root / ".inspector" / "classes.yaml")
    return root


class GapMeter:
    """Largest and 99th-percentile gap between ticks of a 10 ms timer."""

    def __init__(self) -> None:
        self.gaps: list[float] = []
        self._last = time.perf_counter()
        self.timer = QTimer(interval=10)
        self.timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps.append((now - self._last) * 1000)
        self.at.append(now)
        self._last = now

    def start(self) -> None:
        self.at: list[float] = []
        self.gaps.clear()
        self._last = time.perf_counter()
        self.timer.start()

    def stop(self) -> tuple[float, float, int]:
        self.timer.stop()
        gaps = sorted(self.gaps)
        return gaps[-1], gaps[int(0.99 * (len(gaps) - 1))], len(gaps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--images", type=int, default=8)
    args = parser.parse_args()
    app = create_application([])
    with tempfile.TemporaryDirectory() as tmp:
        project = make_project(Path(tmp) / "project", args.images)
        window = MainWindow(operator="bench")
        window.show()
        window.open_path(project)
        window.modes.switch("training")
        mode, meter = window.training_mode, GapMeter()
        options = {"epochs": args.epochs, "batch_size": 2, "threads": 1, "log_every": 1, "warmup_epochs": 0}
        tw.fill_options(mode.options, QUICK_FINE_TUNE.with_options(**options).options)
        loop = QEventLoop()
        result: list[str] = []
        window.training.job_finished.connect(lambda *a: (result.append(a[1]), loop.quit()))
        t0 = time.perf_counter()
        meter.start()
        if mode.start() is None:
            raise SystemExit(
                "the job did not start: "
                + "; ".join(mode.problems.item(i).text() for i in range(mode.problems.count()))
            )
        loop.exec()
        job_s = time.perf_counter() - t0
        busy = meter.stop()
        points = mode.curves.point_count()
        meter.start()  # the same duration with the station idle, for comparison
        QTimer.singleShot(int(job_s * 1000), loop.quit)
        loop.exec()
        idle = meter.stop()
        window.shutdown()
        app.processEvents()
    print(f"job: {result[0] if result else '?'} after {job_s:.1f} s, {points} curve points")
    print(f"{'':24}{'max gap ms':>12}{'p99 gap ms':>12}{'ticks':>8}")
    print(f"{'idle station':24}{idle[0]:12.1f}{idle[1]:12.1f}{idle[2]:8d}")
    print(f"{'training job running':24}{busy[0]:12.1f}{busy[1]:12.1f}{busy[2]:8d}")


if __name__ == "__main__":
    main()
