"""Benchmark: peak memory of ``defect-inspector predict`` on one huge image, strip-wise post-processing
beside the whole-plane post-processing of before.

Each row is a separate ``predict`` process (``--threads 1 --io-threads 1``, masks only) on one RGB
PNG of SIDE x SIDE pixels; reported: peak resident memory (VmHWM), its growth over the same
command on a 64x64 image (the interpreter, onnxruntime and OpenCV), that growth per image pixel, and
the wall time. Models are the test factory's 1x1-convolution four-class network (its activations
are negligible, so the figures are those of decoding, post-processing and writing):

* ``fixed 64x64``: exported at one input size; its four logit planes are brought back to the
  image's size (the path that took 43 bytes per pixel);
* ``any size, --tile 2048``: a network of any input size, predicted in 2048 px tiles (whole, its
  input and output tensors alone would need 28 bytes per pixel: refused over ``--memory-limit``).

``--before`` adds rows with the whole-plane post-processing of before, run under an address-space
cap (``--cap`` GiB, default 12) so that it fails instead of exhausting the machine.

    python benchmarks/app_large_image.py [--sides 10000 20000] [--before]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from app_common import REPO

sys.path.insert(0, str(REPO))
from tests.onnx_factory import RGB_TABLE, make_card, save_model, segmentation_model

_WEIGHTS = [[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]]
_REPORT = (
    "print([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0], file=sys.stderr)"
)
_NEW = (
    "import sys; from inspector_app.__main__ import main; rc = main(sys.argv[1:]); "
    f"{_REPORT}; sys.exit(rc)"
)
# The post-processing of before: every logit plane resized to the image, stacked, then argmax.
_OLD = (
    "import sys, cv2, numpy as np; import inspector_app.core.predictor as P\n"
    "def old(raw, size, *, target=None, cut=None):\n"
    "    h, w = size\n"
    "    if target is not None:\n"
    "        size = (target[1], target[0])\n"
    "        raw = np.stack([cv2.resize(p, size, interpolation=cv2.INTER_LINEAR) for p in raw])\n"
    "    return P._argmax(raw[:, :h, :w])[0]\n"
    "P.mask_from_logits = old\n"
    f"from inspector_app.__main__ import main; rc = main(sys.argv[1:]); {_REPORT}; sys.exit(rc)"
)


def _image(folder: Path, side: int) -> Path:
    path = folder / f"{side}" / "big.png"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        image = np.full((side, side, 3), 40, np.uint8)
        image[:, side // 2 :, 2] = 220  # right half red (BGR), a disk of green
        cv2.circle(image, (side // 4, side // 4), side // 8, (0, 220, 0), -1)
        cv2.imwrite(str(path), image, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    return path.parent


def _run(code: str, args: list[str], cap_gib: float | None) -> tuple[int, float, float, str]:
    def limit() -> None:
        if cap_gib is not None:
            cap = int(cap_gib * 2**30)
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    start = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-c", code, "predict", *args, "--threads", "1", "--io-threads", "1", "--quiet"],
        capture_output=True, text=True, cwd=REPO, preexec_fn=limit,
        env={**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"},
    )  # fmt: skip
    wall = time.perf_counter() - start
    peak = [line for line in run.stderr.splitlines() if line.startswith("VmHWM")]
    rss = int(peak[0].split()[1]) * 1024 if peak else 0
    last = [line for line in run.stderr.splitlines() if line.startswith("predict:")]
    return run.returncode, rss, wall, (last[-1] if last else run.stderr[-200:]).strip()


def main() -> None:
    """Print one row per (side, model, post-processing)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sides", type=int, nargs="*", default=[10000, 20000])
    parser.add_argument("--before", action="store_true", help="also run the post-processing of before")
    parser.add_argument("--cap", type=float, default=12.0, help="GiB address-space cap of --before runs")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "di_bench_large")
    args = parser.parse_args()
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    fixed = save_model(segmentation_model(_WEIGHTS, [0.5, 0, 0, 0], fixed_size=(64, 64)), work / "fixed.onnx",
                       make_card(RGB_TABLE, 3, model_id="fixed-64"))  # fmt: skip
    anysize = save_model(segmentation_model(_WEIGHTS, [0.5, 0, 0, 0], size_multiple=32), work / "any.onnx",
                         make_card(RGB_TABLE, 3, model_id="any-size"))  # fmt: skip
    small = _image(work, 64)
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print(f"{'image':>13}  {'model':<22} {'post-processing':<16} {'exit':>4} {'peak RSS':>10} "
          f"{'growth':>10} {'B/px':>6} {'wall s':>7}")  # fmt: skip
    rows = [("fixed 64x64", fixed, [], "strips", _NEW), ("any size, --tile 2048", anysize, ["--tile", "2048"],
            "strips", _NEW)]  # fmt: skip
    if args.before:
        rows.insert(1, ("fixed 64x64", fixed, [], "whole (before)", _OLD))
    for label, model, extra, post, code in rows:
        _rc, base, _wall, _ = _run(code, ["--model", str(model), "--input", str(small), "--output",
                                          str(work / "o-small"), "--force", *extra], None)  # fmt: skip
        for side in args.sides:
            folder = _image(work, side)
            cap = args.cap if post != "strips" else None
            rc, rss, wall, last = _run(code, ["--model", str(model), "--input", str(folder), "--output",
                                              str(work / "o"), "--force", *extra], cap)  # fmt: skip
            growth = rss - base
            print(f"{side:>6}x{side:<6}  {label:<22} {post:<16} {rc:>4} {rss / 2**30:>8.2f} G "
                  f"{growth / 2**30:>8.2f} G {growth / side / side:>6.1f} {wall:>7.1f}", flush=True)
            if rc != 0:
                print(f"    {last}")


if __name__ == "__main__":
    main()
