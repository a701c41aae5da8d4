"""Regenerate ``docs/screenshots/live.png``: the Live mode with two video sources (offscreen).

    python docs/screenshots/make_live_screenshot.py [--model resources/models/aluminum_zhong.onnx]

Works in a temporary copy of the bundled demo; the two sources are MJPG/AVI clips made there from
the demo's images (one looped at 640x480, one at 1280x720), so no data leaves the repository.
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

import cv2  # noqa: E402
from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402

from inspector_app.app import create_application  # noqa: E402
from inspector_app.bundled import default_model_path, demo_dir  # noqa: E402
from inspector_app.main_window import MainWindow  # noqa: E402


def _settle(ms: int) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def _clip(path: Path, images: list[Path], size: tuple[int, int]) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 10.0, size)
    for name in images:
        image = cv2.imread(str(name))
        if image is not None:
            writer.write(cv2.resize(image, size))
    writer.release()
    return path


def main() -> None:
    """Write live.png."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, default=default_model_path())
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "live.png")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="di_live_"))
    try:
        project = work / "demo"
        shutil.copytree(demo_dir(), project)
        images = sorted(project.glob("*.png"))
        clips = work / "clips"
        clips.mkdir()
        first = _clip(clips / "line1.avi", images[:6], (640, 480))
        second = _clip(clips / "line2.avi", images[6:12], (1280, 720))
        create_application()
        window = MainWindow(operator="screenshot")
        window.resize(1400, 860)
        window.show()
        window.open_path(project)
        window.station.prediction.load_model(args.model)
        _settle(1500)
        window.modes.switch("live")
        live = window.live_mode.live
        for clip in (first, second):
            live.add_source(str(clip), remember=False)
        live.start()
        _settle(4000)
        window.grab().save(str(args.out))
        window.shutdown()
        print(f"written {args.out}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
