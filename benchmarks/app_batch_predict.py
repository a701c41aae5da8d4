"""Benchmark: headless batch prediction, images/s end to end (decode -> model -> encode -> write).

Input: the real 400-image aluminium set (640x480 JPEG) when ``../shared/datasets`` is there, else
synthetic 640x480 PNGs. Model: see ``app_common.zhong_model``. Each configuration runs on a fresh
output folder (nothing skipped); the first run is preceded by a warm-up of the model.

    python benchmarks/app_batch_predict.py [--outputs masks | overlays | all] [--threads N] [--io-threads N]
        [--fsync off | on | both] [--repeat R]

``--fsync both`` alternates runs without and with an fsync per output file (``BatchOptions.durable``),
``--repeat`` times, so that a busy machine slows both alike; the median of each is printed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
from pathlib import Path

from app_common import REPO, synthetic_folder, zhong_model

from inspector_app.core.predictor import Predictor
from inspector_app.services.batch import BatchOptions, run_batch

DATASET = Path(os.environ.get("DEFECT_INSPECTOR_DATASETS", REPO.parent / "shared" / "datasets")) / "aluminum"


def main() -> None:
    """Print images/s per configuration."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--outputs", choices=("masks", "overlays", "all"), default="masks")
    parser.add_argument("--fsync", choices=("off", "on", "both"), default="off")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--threads", type=int, nargs="*", default=[2], help="onnxruntime intra-op threads")
    parser.add_argument("--io-threads", type=int, nargs="*", default=[2])
    parser.add_argument("--count", type=int, default=400, help="synthetic images when the dataset is absent")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "di_bench_batch")
    args = parser.parse_args()
    model, description = zhong_model(args.work / "models")
    if (DATASET / "images").is_dir():
        images, source = DATASET / "images", f"aluminium set ({len(os.listdir(DATASET / 'images'))} JPEG)"
    else:
        images = synthetic_folder(args.work / "images", args.count)
        source = f"{args.count} synthetic PNG"
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print(f"model: {description}\ninput: {source}, 640x480\noutputs: {args.outputs}")
    fsync_modes = {"off": [False], "on": [True], "both": [False, True]}[args.fsync]
    for threads in args.threads:
        predictor = Predictor(model, threads=threads)
        predictor.warmup(480, 640)
        for io_threads in args.io_threads:
            rates: dict[bool, list[float]] = {durable: [] for durable in fsync_modes}
            for _ in range(max(1, args.repeat)):
                for durable in fsync_modes:
                    out = args.work / "out"
                    shutil.rmtree(out, ignore_errors=True)
                    options = BatchOptions(
                        model=model,
                        input_dir=images,
                        output_dir=out,
                        masks=True,
                        labelme=args.outputs == "all",
                        overlays=args.outputs != "masks",
                        csv=out / "summary.csv" if args.outputs == "all" else None,
                        io_threads=io_threads,
                        durable=durable,
                    )
                    cpu_before = os.times()
                    report = run_batch(options, predictor=predictor)
                    cpu_after = os.times()
                    cpu_s = (cpu_after.user - cpu_before.user) + (cpu_after.system - cpu_before.system)
                    cpu_ms = 1e3 * cpu_s / max(1, report.processed)
                    rates[durable].append(report.images_per_s)
                    print(
                        f"threads {threads} io-threads {io_threads} fsync {'on' if durable else 'off'}: "
                        f"{report.processed} images in {report.elapsed_s:.2f} s = "
                        f"{report.images_per_s:.1f} images/s (target >= 80); CPU {cpu_ms:.1f} ms/image "
                        f"-> at most {2000 / cpu_ms:.0f} images/s on 2 free cores",
                        flush=True,
                    )
            if len(rates) == 2 and args.repeat > 1:
                off, on = (statistics.median(rates[d]) for d in (False, True))
                change = 100 * (on / off - 1)
                print(f"median: fsync off {off:.1f} images/s, on {on:.1f} images/s ({change:+.0f} %)")


if __name__ == "__main__":
    main()
