"""``defect-inspector PATH --screenshot OUT.png [--model M]`` renders the window and exits."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.app.test_station_support import make_folder, make_model

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.gui


def _run(*args: str | Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HOME=str(home), XDG_DATA_HOME=str(home / "data"))
    return subprocess.run(
        [sys.executable, "-m", "inspector_app", *map(str, args)],
        capture_output=True, text=True, cwd=REPO, env=env, timeout=300,
    )  # fmt: skip


def test_screenshot_with_model_writes_png(tmp_path: Path) -> None:
    make_folder(tmp_path / "images", 3)
    model = make_model(tmp_path / "m.onnx")
    out = tmp_path / "shot.png"
    args = ("--model", model, "--screenshot", out, "--size", "1280x800")
    run = _run(tmp_path / "images", *args, home=tmp_path)
    assert run.returncode == 0, run.stderr
    image = cv2.imread(str(out))
    assert image is not None and image.shape == (800, 1280, 3)
    assert float(np.std(image)) > 10  # a real rendering, not a blank window
    # Looking leaves no trace: no .inspector/ folder was created.
    assert not (tmp_path / "images" / ".inspector").exists()


def test_screenshot_without_model_and_bad_path(tmp_path: Path) -> None:
    make_folder(tmp_path / "images", 2)
    out = tmp_path / "plain.png"
    env_resources = tmp_path / "no-resources"
    env_resources.mkdir()
    run = subprocess.run(
        [sys.executable, "-m", "inspector_app", str(tmp_path / "images"), "--screenshot", str(out)],
        capture_output=True, text=True, cwd=REPO, timeout=300,
        env=dict(os.environ, QT_QPA_PLATFORM="offscreen", DEFECT_INSPECTOR_RESOURCES=str(env_resources)),
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert cv2.imread(str(out)) is not None
    missing = _run(tmp_path / "nowhere", "--screenshot", out, home=tmp_path)
    assert missing.returncode == 2 and "nowhere" in missing.stderr


def test_no_path_opens_a_copy_of_the_bundled_demo(tmp_path: Path) -> None:
    out = tmp_path / "demo.png"
    run = _run("--screenshot", out, home=tmp_path)
    assert run.returncode == 0, run.stderr
    copies = list((tmp_path / "data").rglob("demo/*.png"))
    assert copies, "the demo was not copied to the user's data folder"
    assert cv2.imread(str(out)) is not None
