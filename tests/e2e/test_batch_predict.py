"""``defect-inspector predict``: headless batch prediction through the real command line."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from inspector_app.core.annotations import load_document
from inspector_app.core.masks import rasterize
from inspector_app.services.file_entries import PREDICTION_KEY
from tests.app.test_station_support import expected_mask, make_image, make_model
from tests.onnx_factory import RGB_TABLE

REPO = Path(__file__).resolve().parents[2]

# Runs the CLI's main() and fails if anything imported Qt: batch mode must work without a display.
_RUNNER = (
    "import sys; from inspector_app.__main__ import main; rc = main(sys.argv[1:]); "
    "bad = [m for m in sys.modules if m.startswith(('PySide6', 'shiboken6', 'pyqtgraph'))]; "
    "print('QT-IMPORTED', bad, file=sys.stderr) if bad else None; sys.exit(rc if not bad else 99)"
)


def _predict(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.pop("QT_QPA_PLATFORM", None)
    return subprocess.run(
        [sys.executable, "-c", _RUNNER, "predict", *map(str, args)],
        capture_output=True, text=True, cwd=REPO, env=env, timeout=300,
    )  # fmt: skip


@pytest.fixture
def data(tmp_path: Path) -> tuple[Path, Path, dict[str, np.ndarray]]:
    images = tmp_path / "in"
    expected = {}
    for i in range(4):
        expected[f"{i}.png"] = expected_mask(make_image(images / f"{i}.png", shift=i))
    expected["sub/4.png"] = expected_mask(make_image(images / "sub" / "4.png", shift=2))
    (images / "broken.png").write_bytes(b"definitely not a png")
    return images, make_model(tmp_path / "m.onnx"), expected


def test_writes_masks_labelme_overlays_csv_and_skips_done(tmp_path: Path, data) -> None:  # type: ignore[no-untyped-def]
    images, model, expected = data
    out = tmp_path / "out"
    summary = tmp_path / "summary.csv"
    run = _predict("--model", model, "--input", images, "--output", out,
                   "--masks", "--labelme", "--overlays", "--csv", summary)  # fmt: skip
    assert run.returncode == 1, run.stderr  # some input failed: a script must be able to tell
    assert "broken.png" in run.stderr  # bad images are named ...
    assert "5 predicted" in run.stderr and "1 failed (1 unreadable)" in run.stderr  # ... and skipped
    assert "predict: " in run.stderr and "img/s" in run.stderr  # progress on stderr

    for name, mask in expected.items():
        stem = os.path.splitext(name)[0]
        written = cv2.imread(str(out / f"{stem}.png"), cv2.IMREAD_UNCHANGED)
        np.testing.assert_array_equal(written, mask)
        document = load_document(out / f"{stem}.json")
        assert document.extra[PREDICTION_KEY]["source"] == "prediction"
        assert document.extra[PREDICTION_KEY]["model_id"] == "rgb4-a"
        image_file = (out / f"{stem}.json").parent / document.image_path
        assert image_file.resolve() == (images / name).resolve()
        np.testing.assert_array_equal(rasterize(document, RGB_TABLE, mask.shape), mask)
        overlay = cv2.imread(str(out / "overlays" / f"{stem}.jpg"))
        assert overlay.shape == (48, 64, 3)
    assert not (out / "broken.png").exists()

    with open(summary, newline="", encoding="utf-8") as fh:
        rows = {r["image"]: r for r in csv.DictReader(fh)}
    assert set(rows) == {*expected, "broken.png"}
    assert rows["0.png"]["status"] == "predicted"
    assert rows["0.png"]["red_px"] == "375" and rows["0.png"]["red_regions"] == "1"
    assert rows["0.png"]["green_px"] == "200" and rows["0.png"]["blue_px"] == "0"
    assert rows["broken.png"]["status"] == "unreadable" and rows["broken.png"]["error"]

    # Second run: everything already done is skipped (files untouched), statistics still in the CSV.
    stamp = (out / "0.png").stat().st_mtime_ns
    again = _predict("--model", model, "--input", images, "--output", out,
                     "--masks", "--labelme", "--overlays", "--csv", summary)  # fmt: skip
    assert again.returncode == 1, again.stderr  # broken.png still fails
    assert "0 predicted, 5 already done" in again.stderr
    assert (out / "0.png").stat().st_mtime_ns == stamp
    with open(summary, newline="", encoding="utf-8") as fh:
        rows = {r["image"]: r for r in csv.DictReader(fh)}
    assert rows["0.png"]["status"] == "skipped" and rows["0.png"]["red_px"] == "375"
    assert rows["0.png"]["error"] == ""

    # A mask file this command did not write is never overwritten: the image is refused and named.
    cv2.imwrite(str(out / "1.png"), np.full((8, 8), 200, np.uint8))
    refused = _predict("--model", model, "--input", images, "--output", out,
                       "--masks", "--labelme", "--overlays", "--csv", summary)  # fmt: skip
    with open(summary, newline="", encoding="utf-8") as fh:
        rows = {r["image"]: r for r in csv.DictReader(fh)}
    assert rows["1.png"]["status"] == "refused"
    assert "1.png" in rows["1.png"]["error"] and "not written by defect-inspector" in rows["1.png"]["error"]
    assert refused.returncode == 1 and "1.png" in refused.stderr

    # --force redoes them; a new output kind makes only that kind missing -> redone.
    forced = _predict("--model", model, "--input", images, "--output", out, "--masks", "--force")
    assert "5 predicted" in forced.stderr


def test_bad_arguments_and_bad_model(tmp_path: Path, data) -> None:  # type: ignore[no-untyped-def]
    images, _model, _ = data
    bad_model = tmp_path / "bad.onnx"
    bad_model.write_bytes(b"junk")
    run = _predict("--model", bad_model, "--input", images, "--output", tmp_path / "o")
    assert run.returncode == 2 and "bad.onnx" in run.stderr
    missing = _predict("--model", bad_model, "--input", tmp_path / "nowhere", "--output", tmp_path / "o")
    assert missing.returncode == 2 and "nowhere" in missing.stderr
    usage = _predict("--input", images)
    assert usage.returncode == 2 and "--model" in usage.stderr


def test_default_output_is_masks(tmp_path: Path, data) -> None:  # type: ignore[no-untyped-def]
    images, model, _ = data
    run = _predict("--model", model, "--input", images, "--output", tmp_path / "o", "--quiet")
    assert run.returncode == 1  # broken.png
    assert (tmp_path / "o" / "0.png").is_file() and not (tmp_path / "o" / "0.json").exists()
    assert "predict: 0/" not in run.stderr  # --quiet: no progress lines, only the summary
