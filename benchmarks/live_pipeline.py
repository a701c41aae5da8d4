"""Live pipeline throughput, latency and memory, through the real ``defect-inspector live`` command.

Sources are MJPG/AVI clips played at 30 FPS (paced like a camera) made from the aluminum dataset's
640x480 images (synthetic frames when the dataset is absent; the output says which), and the
model is the bundled ``resources/models/aluminum_zhong.onnx``. Scenarios, each a fresh process:

1. one 640x480 source at 30 FPS for ``--duration`` s: results/s, capture-to-result latency
   p50/p95/p99, RSS at start and end (``--duration 600`` is the 10-minute soak);
2. two 640x480 sources at once (``--short`` s): results/s of each;
3. one 1920x1080 source at 30 FPS in each size mode (full / downscale / tiles; ``--short`` s).

Usage: ``python benchmarks/live_pipeline.py [--duration 60] [--short 15] [--only 1,2,3]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
MODEL = REPO / "resources" / "models" / "aluminum_zhong.onnx"
DATASET = REPO.parent / "shared" / "datasets" / "aluminum" / "images"


def frames(count: int) -> tuple[list[np.ndarray], str]:
    """``count`` 640x480 BGR frames: dataset images when available, else synthetic texture."""
    if DATASET.is_dir():
        names = sorted(DATASET.glob("*.jpg"))[:count]
        read = [cv2.imread(str(n)) for n in names]
        images = [cv2.resize(im, (640, 480)) for im in read if im is not None]
        if images:
            return images, f"aluminum dataset images ({len(images)} looped)"
    rng = np.random.default_rng(0)
    return [rng.integers(60, 200, (480, 640, 3), dtype=np.uint8) for _ in range(count)], "synthetic frames"


def write_clip(path: Path, images: list[np.ndarray], size: tuple[int, int]) -> Path:
    """An MJPG/AVI at 30 FPS of ``images`` resized to ``size`` (w, h)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 30.0, size)
    for image in images:
        writer.write(image if image.shape[1::-1] == size else cv2.resize(image, size))
    writer.release()
    return path


def run(sources: list[Path], duration: float, report: Path, *extra: str) -> dict:
    """One ``defect-inspector live`` process; its JSON report."""
    command = [
        sys.executable,
        "-m",
        "inspector_app",
        "live",
        "--model",
        str(MODEL),
        "--loop",
        "--quiet",
        "--duration",
        str(duration),
        "--report",
        str(report),
        *extra,
    ]
    for s in sources:
        command += ["--source", str(s)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run(command, cwd=REPO, env=env, check=True, timeout=duration + 120)
    return json.loads(report.read_text(encoding="utf-8"))


def _row(name: str, data: dict, per_source: bool = False) -> str:
    lat = data["latency_ms"]
    rates = (
        " + ".join(f"{s['infer_fps']:.1f}" for s in data["sources"])
        if per_source
        else f"{data['infer_fps']:.1f}"
    )
    return (
        f"{name:<34} {rates:>13} {data['capture_fps']:>8.1f} {lat['p50']:>7} {lat['p95']:>7} {lat['p99']:>7} "
        f"{data['infer_ms']['p50']:>8} {data['dropped']:>7} {data['rss_mb_start']:>7} {data['rss_mb_end']:>7}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of scenario 1")
    parser.add_argument("--short", type=float, default=15.0, help="seconds of scenarios 2 and 3")
    parser.add_argument("--only", default="1,2,3", help="scenarios to run")
    args = parser.parse_args()
    only = {int(x) for x in args.only.split(",")}
    images, what = frames(60)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"model: {MODEL.name}; frames: {what}; cpus: {os.cpu_count()}; load average at start {load:.2f}")
    print(
        f"{'scenario':<34} {'results/s':>13} {'cap/s':>8} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} "
        f"{'inf p50':>8} {'dropped':>7} {'rss0 MB':>7} {'rss1 MB':>7}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        vga = write_clip(folder / "vga.avi", images, (640, 480))
        if 1 in only:
            data = run([vga], args.duration, folder / "r1.json")
            print(_row(f"640x480@30, {args.duration:g} s", data), flush=True)
            series = ", ".join(f"{t:g}s {mb}" for t, mb in data["rss_mb_every_10s"])
            print(f"    RSS MB every 10 s (after the model loaded): {series}", flush=True)
        if 2 in only:
            vga2 = write_clip(folder / "vga2.avi", images[::-1], (640, 480))
            data = run([vga, vga2], args.short, folder / "r2.json")
            print(_row(f"2 x 640x480@30, {args.short:g} s", data, per_source=True), flush=True)
        if 3 in only:
            hd = write_clip(folder / "hd.avi", images[:20], (1920, 1080))
            for mode in ("full", "downscale", "tiles"):
                data = run([hd], args.short, folder / f"r3{mode}.json", "--size-mode", mode)
                print(_row(f"1920x1080@30 {mode}, {args.short:g} s", data), flush=True)
    if hasattr(os, "getloadavg"):
        print(f"load average at end {os.getloadavg()[0]:.2f} (other processes share these cores)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
