"""Issue 11: a URL given where a path is expected is named as typed (``rtsp://``, not ``rtsp:/``)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from inspector_app.core.cli_paths import is_url, path_arg

REPO = Path(__file__).resolve().parents[2]


def test_urls_are_recognised_and_paths_pass() -> None:
    assert is_url("rtsp://127.0.0.1:8554/cam") and is_url("http://host/x.onnx")
    assert not is_url("C:\\data\\images") and not is_url("images/a.png") and not is_url("a:b")
    assert path_arg("images/a.png") == Path("images/a.png")
    with pytest.raises(argparse.ArgumentTypeError, match=r"rtsp://127\.0\.0\.1/cam is a URL"):
        path_arg("rtsp://127.0.0.1/cam")


def test_predict_cli_names_the_url_as_typed(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "inspector_app", "predict", "--model", "m.onnx",
         "--input", "rtsp://127.0.0.1:8554/cam", "--output", str(tmp_path / "out")],
        capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path,
    )
    assert done.returncode == 2
    assert "rtsp://127.0.0.1:8554/cam is a URL" in done.stderr
    assert "rtsp:/127" not in done.stderr
