"""A large image predicts within a memory cap (``RLIMIT_AS`` in a real subprocess), and one too large
for the limit is refused up front, naming its size and the tiling option."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.onnx_factory import RGB_TABLE, make_card, save_model, segmentation_model

REPO = Path(__file__).resolve().parents[2]
# Runs predict, then prints the process's peak address space (VmPeak, kB) on stderr.
_RUNNER = (
    "import sys; from inspector_app.__main__ import main; rc = main(sys.argv[1:]); "
    "print([l for l in open('/proc/self/status') if l.startswith('VmPeak')][0], file=sys.stderr); "
    "sys.exit(rc)"
)
SIDE = 6000  # 36 Mpx: the 20000x20000 figure is in benchmarks/app_large_image.py (docs/benchmarks.md)


def _run(args: list[str], cap: int | None = None) -> tuple[subprocess.CompletedProcess[str], int]:
    def limit() -> None:
        if cap is not None:
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    run = subprocess.run(
        [sys.executable, "-c", _RUNNER, "predict", *args, "--threads", "1", "--io-threads", "1"],
        capture_output=True, text=True, cwd=REPO, timeout=300, preexec_fn=limit,
        env={**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"},
    )  # fmt: skip
    peak = [line for line in run.stderr.splitlines() if line.startswith("VmPeak")]
    return run, int(peak[0].split()[1]) * 1024 if peak else 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS and /proc are Linux's")
def test_large_image_predicts_within_a_memory_cap(tmp_path: Path) -> None:
    # A model exported at 64x64: its four logit planes are brought back to 6000x6000, which took
    # 2 x 4 planes x 4 bytes per pixel before post-processing went strip by strip.
    weights = [[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]]
    model = segmentation_model(weights, [0.5, 0, 0, 0], fixed_size=(64, 64))
    path = save_model(model, tmp_path / "fixed.onnx", make_card(RGB_TABLE, 3, model_id="fixed"))
    small, large = tmp_path / "small", tmp_path / "large"
    small.mkdir()
    large.mkdir()
    cv2.imwrite(str(small / "s.png"), np.zeros((64, 64), np.uint8))
    image = np.zeros((SIDE, SIDE), np.uint8)
    image[:, SIDE // 2 :] = 220  # right half: class 1 (red, the grey value feeds every channel)
    cv2.imwrite(str(large / "big.png"), image, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    del image

    base, base_peak = _run(["--model", str(path), "--input", str(small), "--output", str(tmp_path / "o1")])
    assert base.returncode == 0 and base_peak, base.stderr
    pixels = SIDE * SIDE
    cap = base_peak + 10 * pixels  # decoded image 1 B/px + mask 1 B/px + post-processing, with room
    run, peak = _run(["--model", str(path), "--input", str(large), "--output", str(tmp_path / "o2")], cap)
    assert run.returncode == 0, run.stderr[-2000:]
    mask = cv2.imread(str(tmp_path / "o2" / "big.png"), cv2.IMREAD_UNCHANGED)
    assert mask.shape == (SIDE, SIDE)
    assert (mask[:, : SIDE // 2 - 100] == 0).all() and (mask[:, SIDE // 2 + 100 :] == 1).all()
    assert peak - base_peak < 10 * pixels, f"{(peak - base_peak) / pixels:.1f} bytes per pixel"


def test_an_image_over_the_memory_limit_is_refused_naming_size_and_tiling(tmp_path: Path) -> None:
    model = segmentation_model([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], [0.5, 0, 0, 0], size_multiple=32)
    path = save_model(model, tmp_path / "any.onnx", make_card(RGB_TABLE, 3, model_id="any"))
    folder = tmp_path / "in"
    folder.mkdir()
    image = np.zeros((600, 800, 3), np.uint8)
    image[:, 400:] = (230, 0, 0)  # BGR: blue, class 3
    cv2.imwrite(str(folder / "wide.png"), image)
    limit = ["--memory-limit", "0.01"]  # 10 MiB: 800x600 through a full-size model needs more
    refused, _ = _run(["--model", str(path), "--input", str(folder), "--output", str(tmp_path / "o"), *limit])
    assert refused.returncode == 4, refused.stderr  # nothing done
    assert "wide.png" in refused.stderr and "800x600 px" in refused.stderr and "--tile" in refused.stderr
    tiled, _ = _run(["--model", str(path), "--input", str(folder), "--output", str(tmp_path / "o"), *limit,
                     "--tile", "128"])  # fmt: skip
    assert tiled.returncode == 0, tiled.stderr
    mask = cv2.imread(str(tmp_path / "o" / "wide.png"), cv2.IMREAD_UNCHANGED)
    expected = np.zeros((600, 800), np.uint8)
    expected[:, 400:] = 3
    np.testing.assert_array_equal(mask, expected)  # a 1x1 network: tiles join exactly


def test_a_memory_limit_that_fits_one_image_at_a_time_still_does_them_all(tmp_path: Path) -> None:
    from inspector_app.core.tiling import estimate_bytes
    from inspector_app.services.batch import BatchOptions, run_batch
    from tests.app.test_station_support import make_image, make_model

    folder = tmp_path / "in"
    for i in range(5):
        make_image(folder / f"{i}.png", shift=i)
    model = make_model(tmp_path / "m.onnx")
    one = estimate_bytes(make_card(RGB_TABLE, 3), 48, 64)
    limit = one + one // 2
    options = BatchOptions(model, folder, tmp_path / "out", masks=True, overlays=True, memory_limit=limit)
    report = run_batch(options)  # no read-ahead past the budget: one image in flight at a time
    assert (report.processed, report.failures) == (5, [])
    assert sorted(p.name for p in (tmp_path / "out").glob("*.png")) == [f"{i}.png" for i in range(5)]
