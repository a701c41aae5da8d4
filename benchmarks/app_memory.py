"""Benchmark: resident memory growth over 1,000 image switches (with predictions) in the station.

1,000 distinct 640x480 JPEGs are stepped through one by one (each switch waits for its overlay),
RSS is sampled from ``/proc/self/status``. Reported: RSS after the first image, after 100 switches
(caches filled) and after 1,000; the growth is what an 8-hour shift would keep accumulating.

    python benchmarks/app_memory.py [--switches 1000]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import cv2
import numpy as np
from app_common import rss_mb, zhong_model
from app_next_image import _wait_signal

from inspector_app.app import create_application
from inspector_app.main_window import MainWindow


def jpeg_folder(root: Path, count: int) -> Path:
    """``count`` distinct 640x480 JPEGs (fast to write, about 40 kB each)."""
    root.mkdir(parents=True, exist_ok=True)
    if len(list(root.glob("*.jpg"))) >= count:
        return root
    rng = np.random.default_rng(1)
    base = cv2.GaussianBlur(rng.integers(80, 180, (480, 640), dtype=np.uint8), (0, 0), 2)
    for i in range(count):
        image = np.roll(base, (i * 13) % 640, axis=1).copy()
        cv2.circle(image, (int(rng.integers(40, 600)), int(rng.integers(40, 440))), 12, 20, -1)
        cv2.imwrite(str(root / f"frame_{i:05d}.jpg"), cv2.merge([image] * 3), [cv2.IMWRITE_JPEG_QUALITY, 85])
    return root


def main() -> None:
    """Print RSS figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--switches", type=int, default=1000)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "di_bench_memory")
    args = parser.parse_args()
    create_application()
    model, description = zhong_model(args.work / "models")
    folder = jpeg_folder(args.work / "images", args.switches + 1)
    print(f"model: {description}")
    window = MainWindow(operator="bench")
    window.resize(1400, 860)
    window.show()
    window.station.prediction.load_model(model)
    window.open_path(folder)
    _wait_signal(window.prediction_shown)
    samples = {0: rss_mb()}
    for i in range(1, args.switches + 1):
        window.step(1)
        if window.station.prediction.mask is None:
            _wait_signal(window.prediction_shown)
        if i in (100, args.switches // 2, args.switches):
            samples[i] = rss_mb()
    window.shutdown()
    window.close()
    for n, mb in samples.items():
        print(f"after {n:5d} switches: RSS {mb:7.1f} MiB")
    grow_all = samples[args.switches] - samples[0]
    grow_steady = samples[args.switches] - samples[100]
    print(
        f"growth over {args.switches} switches: {grow_all:+.1f} MiB (target < 50); "
        f"after the caches filled (100 -> {args.switches}): {grow_steady:+.1f} MiB"
    )


if __name__ == "__main__":
    main()
