"""Screenshots of the Training mode after a finished run (offscreen, real trainer processes).

A small project of 64x64 annotated images is made in a temporary folder; a first tiny job trains a
fresh network and is promoted (the station's current model), then a second job fine-tunes it and
adds the new class ``dent``. Saved: ``training.png`` (Results tab: comparison, overlays, lineage)
and ``training_job.png`` (Job tab: presets, device, curves, log).

    python docs/screenshots/make_training_screenshot.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "benchmarks"))

from app_training_stall import annotate_image, make_project  # noqa: E402
from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402

from inspector_app.app import create_application  # noqa: E402
from inspector_app.main_window import MainWindow  # noqa: E402
from inspector_app.services.training.presets import QUICK_FINE_TUNE  # noqa: E402
from inspector_app.widgets import training_widgets as tw  # noqa: E402


def wait(signal: object, timeout_s: float = 300) -> list[object]:
    loop, got = QEventLoop(), []
    signal.connect(lambda *a: (got.extend(a), loop.quit()))  # type: ignore[attr-defined]
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    loop.exec()
    return got


def until(condition: Callable[[], bool], timeout_s: float = 120) -> None:
    """Run the event loop until ``condition()`` holds (or the timeout)."""
    deadline = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < deadline:
        loop = QEventLoop()
        QTimer.singleShot(50, loop.quit)
        loop.exec()


def main() -> None:
    app = create_application([])
    with tempfile.TemporaryDirectory() as tmp:
        project = make_project(Path(tmp) / "project", 10)
        window = MainWindow(operator="docs")
        window.resize(1500, 980)
        window.show()
        window.open_path(project)
        window.modes.switch("training")
        mode, training = window.training_mode, window.training
        tiny = {"epochs": 4, "batch_size": 2, "threads": 1, "log_every": 1, "warmup_epochs": 0}
        tw.fill_options(mode.options, QUICK_FINE_TUNE.with_options(**tiny).options)
        mode.start()
        wait(training.job_finished)
        mode.promote()
        wait(window.station.prediction.model_loaded)
        for i in range(3):
            annotate_image(project, f"n{i}.png", "dent", 40 + i)
        mode.refresh()
        mode.base.setCurrentIndex(0)  # the promoted model's checkpoint
        tw.fill_options(mode.options, QUICK_FINE_TUNE.with_options(**{**tiny, "epochs": 6}).options)
        mode.start()
        wait(training.job_finished)
        mode.tabs.setCurrentIndex(1)
        app.processEvents()
        window.grab().save(str(HERE / "training_job.png"))
        until(lambda: mode.comparison.table.rowCount() > 0)
        mode.comparison.images_table.setCurrentCell(0, 0)
        until(mode.comparison.overlays.has_images)
        mode.tabs.setCurrentIndex(2)
        app.processEvents()
        window.grab().save(str(HERE / "training.png"))
        window.shutdown()


if __name__ == "__main__":
    main()
