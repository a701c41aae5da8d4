"""Regenerate the screenshots of docs/screenshots (offscreen; needs no display).

    python docs/screenshots/make_screenshots.py [--model resources/models/aluminum_zhong.onnx]

Works on a temporary copy of the bundled demo, so the repository is never written to:

* ``station.png``  the station as it opens: first image, prediction overlay, legend, verdict bar;
* ``review.png``   after a few verdicts: NG filter, summary counts and the per-class chart;
* ``annotate.png`` a prediction accepted as polygons (annotation layer), unsaved marker, the
  Shapes dock listing them;
* ``defects.png``  the Defects dock (region navigator) and the canvas zoomed to the largest
  region of the image (what G does).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402

from inspector_app.app import create_application  # noqa: E402
from inspector_app.bundled import default_model_path, demo_dir  # noqa: E402
from inspector_app.main_window import MainWindow  # noqa: E402


def _settle(ms: int = 250) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def _wait(signal: object, timeout_ms: int = 30_000) -> None:
    loop = QEventLoop()
    signal.connect(loop.quit)  # type: ignore[attr-defined]
    QTimer.singleShot(timeout_ms, loop.quit)
    loop.exec()
    signal.disconnect(loop.quit)  # type: ignore[attr-defined]


def _goto(window: MainWindow, row: int) -> None:
    window.file_panel.select_row(row)
    if window.station.prediction.mask is None:
        _wait(window.prediction_shown)


def main() -> None:
    """Write the four PNGs."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, default=default_model_path())
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    args = parser.parse_args()
    if not args.model.is_file():
        raise SystemExit(f"model {args.model} not found")
    work = Path(tempfile.mkdtemp(prefix="di_shots_"))
    project = work / "demo"
    shutil.copytree(demo_dir(), project)
    create_application()
    window = MainWindow(operator="kim")
    window.resize(1440, 880)
    window.show()
    window.station.prediction.load_model(args.model)
    window.open_path(project)
    _wait(window.prediction_shown)
    window.canvas.setFocus()
    _settle(400)
    window.grab().save(str(args.out / "station.png"))

    verdicts = ["NG", "OK", "NG", "NG", "OK", "NG", "OK"]
    categories = ["contamination", "", "abrasion", "pinhole", "", "wrinkling", ""]
    for row, (verdict, category) in enumerate(zip(verdicts, categories, strict=True)):
        _goto(window, row)
        window.review_mode.verdict_bar.category.setEditText(category)
        window.review_mode.record_verdict(verdict)
    _goto(window, 5)
    window.file_panel.set_filter("ng")
    _settle(400)
    window.grab().save(str(args.out / "review.png"))

    window.file_panel.set_filter("all")
    _goto(window, 8)
    window.modes.switch("annotate")
    window.station.accept_prediction(None)
    window.legend.set_layer_mode("annotation")
    window.notice.dismiss()
    _settle(400)
    window.grab().save(str(args.out / "annotate.png"))

    window.legend.set_layer_mode("both")
    window.docks.defects_dock.raise_()
    window.navigator.next_region()
    _settle(400)
    window.grab().save(str(args.out / "defects.png"))
    window.shutdown()
    window.close()
    shutil.rmtree(work, ignore_errors=True)
    print(f"screenshots written to {args.out}")


if __name__ == "__main__":
    main()
