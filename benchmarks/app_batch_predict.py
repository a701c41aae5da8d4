"""Benchmark: headless batch prediction, images/s end to end (decode -> model -> encode -> write).

Input: the real 400-image aluminium set (640x480 JPEG) when ``../shared/datasets`` is there, else
synthetic 640x480 PNGs. Model: see ``app_common.zhong_model``. Each configuration runs on a fresh
output folder (nothing skipped); the first run is preceded by a warm-up of the model.

    python benchmarks/app_batch_predict.py [--outputs masks | all] [--threads N] [--io-threads N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

from app_common import REPO, synthetic_folder, zhong_model

from inspector_app.batch import BatchOptions, run_batch
from inspector_app.core.predictor import Predictor

DATASET = Path(os.environ.get("DEFECT_INSPECTOR_DATASETS", REPO.parent / "shared" / "datasets")) / "aluminum"


def main() -> None:
    """Print images/s per configuration."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--outputs", choices=("masks", "all"), default="masks")
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
    for threads in args.threads:
        predictor = Predictor(model, threads=threads)
        predictor.warmup(480, 640)
        for io_threads in args.io_threads:
            out = args.work / "out"
            shutil.rmtree(out, ignore_errors=True)
            everything = args.outputs == "all"
            options = BatchOptions(
                model=model,
                input_dir=images,
                output_dir=out,
                masks=True,
                labelme=everything,
                overlays=everything,
                csv=out / "summary.csv" if everything else None,
                io_threads=io_threads,
            )
            cpu_before = os.times()
            report = run_batch(options, predictor=predictor)
            cpu_after = os.times()
            cpu_s = (cpu_after.user - cpu_before.user) + (cpu_after.system - cpu_before.system)
            cpu_ms = 1e3 * cpu_s / max(1, report.processed)
            print(
                f"threads {threads} io-threads {io_threads}: {report.processed} images in "
                f"{report.elapsed_s:.2f} s = {report.images_per_s:.1f} images/s (target >= 80); "
                f"CPU {cpu_ms:.1f} ms/image -> at most {2000 / cpu_ms:.0f} images/s on 2 free cores"
            )


if __name__ == "__main__":
    main()
