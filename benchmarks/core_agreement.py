"""Agreement and speed of inspector_app.core.masks / .polygons / .regions on the real datasets.

1. Rasterisation: our ``rasterize`` of the aluminium LabelMe files vs the authors' own masks
   (per-image IoU of defect pixels, foreground vs foreground and exact class; per-class IoU).
2. Round trip: ``mask_to_shapes`` -> ``rasterize`` on every mask of both datasets (per-image IoU of
   defect pixels with exact class match; empty vs empty counts 1.0), at the default tolerance and
   at tolerance 0.
3. Timings per image, and on a synthetic 8000x6000 mask.
4. ``region_stats`` (the legend's figures, computed per frame) at 640x480 on noisy masks such as
   weak models give, and on the aluminium masks, next to the former ``findContours`` count.

Usage: python benchmarks/core_agreement.py [--data ../shared/datasets] [--json out.json]
       python benchmarks/core_agreement.py --region-stats-only   (section 4 alone)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from inspector_app.core.annotations import load_document  # noqa: E402
from inspector_app.core.classes import ClassTable  # noqa: E402
from inspector_app.core.masks import rasterize, rasterize_shapes  # noqa: E402
from inspector_app.core.polygons import DEFAULT_MIN_AREA, DEFAULT_TOLERANCE, mask_to_shapes  # noqa: E402
from inspector_app.core.regions import RegionStats, class_iou, defect_iou, region_stats  # noqa: E402


def read_mask(path: Path) -> np.ndarray:
    mask = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if mask is None or mask.ndim != 2:
        raise SystemExit(f"{path}: not a single-channel mask")
    return mask


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn()
    return out, (time.perf_counter() - start) * 1000.0


def summary(values: list[float]) -> dict[str, float]:
    return {"mean": statistics.fmean(values), "worst": min(values), "n": len(values)}


def rasterisation_agreement(aluminum: Path) -> dict[str, Any]:
    table = ClassTable.load(aluminum / "classes.yaml")
    fg, exact, ms = [], [], []
    per_class: dict[str, list[float]] = {c.label: [] for c in table.classes[1:]}
    identical, worst = 0, ("", 2.0)
    for json_path in sorted((aluminum / "labelme").glob("*.json"), key=lambda p: int(p.stem)):
        truth = read_mask(aluminum / "masks" / f"{json_path.stem}.png")
        document = load_document(json_path)
        ours, elapsed = timed(partial(rasterize, document, table, truth.shape))
        ms.append(elapsed)
        fg.append(defect_iou(ours, truth, exact_class=False))
        exact.append(defect_iou(ours, truth))
        identical += bool(np.array_equal(ours, truth))
        worst = min(worst, (json_path.stem, exact[-1]), key=lambda item: item[1])
        for info in table.classes[1:]:
            value = class_iou(ours, truth, info.index)
            if value is not None:
                per_class[info.label].append(value)
    return {
        "foreground_iou": summary(fg),
        "exact_class_iou": summary(exact),
        "per_class_iou": {k: summary(v) for k, v in per_class.items()},
        "identical_images": identical,
        "images": len(fg),
        "worst_image": worst[0],
        "rasterize_ms_per_image": statistics.fmean(ms),
    }


def round_trip(folder: Path, tolerance: float) -> dict[str, Any]:
    table = ClassTable.load(folder / "classes.yaml")
    ious, to_shapes_ms, back_ms = [], [], []
    identical, shapes, vertices, worst = 0, 0, 0, ("", 2.0)
    for path in sorted((folder / "masks").glob("*.png")):
        truth = read_mask(path)
        found, t1 = timed(partial(mask_to_shapes, truth, table, tolerance=tolerance))
        back, t2 = timed(partial(rasterize_shapes, found, table, truth.shape))
        to_shapes_ms.append(t1)
        back_ms.append(t2)
        ious.append(defect_iou(back, truth))
        identical += bool(np.array_equal(back, truth))
        shapes += len(found)
        vertices += sum(len(s.points) for s in found)
        worst = min(worst, (path.stem, ious[-1]), key=lambda item: item[1])
    return {
        "tolerance": tolerance,
        "iou": summary(ious),
        "worst_image": worst[0],
        "identical_images": identical,
        "shapes": shapes,
        "vertices": vertices,
        "mask_to_shapes_ms_per_image": statistics.fmean(to_shapes_ms),
        "rasterize_ms_per_image": statistics.fmean(back_ms),
    }


def synthetic_large(seed: int = 0) -> dict[str, Any]:
    """8000x6000 mask: 300 ellipses of 4 classes, 200 holes, 0.05 % single-pixel noise."""
    rng = np.random.default_rng(seed)
    height, width = 6000, 8000
    mask = np.zeros((height, width), np.uint8)
    for _ in range(300):
        centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        axes = (int(rng.integers(5, 400)), int(rng.integers(5, 300)))
        cv2.ellipse(mask, centre, axes, float(rng.uniform(0, 180)), 0, 360, int(rng.integers(1, 5)), -1)
    mask[rng.random((height, width)) < 0.0005] = 1
    for _ in range(200):
        centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        cv2.circle(mask, centre, int(rng.integers(2, 30)), 0, -1)
    table = ClassTable.from_labels(["a", "b", "c", "d"])
    stats, t_stats = timed(lambda: region_stats(mask, len(table)))
    _, t_contours = timed(lambda: contour_region_stats(mask, len(table)))
    found, t_shapes = timed(lambda: mask_to_shapes(mask, table))
    back, t_back = timed(lambda: rasterize_shapes(found, table, mask.shape))
    return {
        "regions": sum(s.regions for s in stats),
        "shapes": len(found),
        "vertices": sum(len(s.points) for s in found),
        "iou": defect_iou(back, mask),
        "region_stats_ms": t_stats,
        "region_stats_find_contours_ms": t_contours,
        "mask_to_shapes_ms": t_shapes,
        "rasterize_ms": t_back,
    }


def contour_region_stats(mask: np.ndarray, num_classes: int) -> list[RegionStats]:
    """The former ``region_stats``: outer borders of ``cv2.findContours`` per class (the baseline)."""
    hist = cv2.calcHist([mask], [0], None, [256], [0, 256]).ravel().astype(np.int64)
    out = [RegionStats(int(hist[0]), 0)]
    for c in range(1, num_classes):
        regions = 0
        if hist[c]:
            binary = (mask == c).view(np.uint8)
            x, y, w, h = cv2.boundingRect(binary)
            crop = binary[y : y + h, x : x + w]
            _, hierarchy = cv2.findContours(crop, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
            regions = 0 if hierarchy is None else int(np.count_nonzero(hierarchy.reshape(-1, 4)[:, 3] < 0))
        out.append(RegionStats(int(hist[c]), regions))
    return out


def noisy_masks(seed: int = 0, height: int = 480, width: int = 640) -> dict[str, np.ndarray]:
    """640x480 masks of 5 classes as an untrained or weak model paints them."""
    rng = np.random.default_rng(seed)
    speckle = np.where(rng.random((height, width)) < 0.3, rng.integers(1, 5, (height, width)), 0)
    # Weak model: argmax of lightly smoothed random logits, background favoured (~19k regions).
    logits = rng.standard_normal((5, height, width)).astype(np.float32)
    logits[0] += 1.0
    weak = np.stack([cv2.GaussianBlur(plane, (0, 0), 0.7) for plane in logits]).argmax(axis=0)
    return {
        "speckle 30% (4 classes)": speckle.astype(np.uint8),
        "uniform random (5 classes)": rng.integers(0, 5, (height, width)).astype(np.uint8),
        "weak model (blurred logits)": weak.astype(np.uint8),
    }


def best_and_median(fn: Callable[[], Any], repeats: int) -> tuple[float, float, float]:
    """Best and median wall ms, and best process CPU ms (steadier than wall time on a shared machine)."""
    wall, cpu = [], []
    for _ in range(repeats):
        start = time.process_time()
        wall.append(timed(fn)[1])
        cpu.append((time.process_time() - start) * 1000.0)
    wall.sort()
    return wall[0], wall[len(wall) // 2], min(cpu)


def region_stats_timing(aluminum: Path | None, repeats: int = 50) -> dict[str, Any]:
    """ms per call (best wall, median wall, best CPU of ``repeats``): region_stats and the baseline."""
    results: dict[str, Any] = {}
    cases = list(noisy_masks().items())
    if aluminum is not None:
        files = sorted((aluminum / "masks").glob("*.png"))
        cases += [("aluminium ground truth (mean over masks)", np.stack([read_mask(f) for f in files]))]
    for name, masks in cases:
        stack = masks if masks.ndim == 3 else masks[None]
        new = [best_and_median(partial(region_stats, m, 5), repeats // len(stack) + 3) for m in stack]
        old = [best_and_median(partial(contour_region_stats, m, 5), repeats // len(stack) + 3) for m in stack]
        if any(region_stats(m, 5) != contour_region_stats(m, 5) for m in stack):
            raise SystemExit(f"region_stats disagrees with the findContours count on {name}")
        results[name] = {
            "regions": int(statistics.fmean(sum(s.regions for s in region_stats(m, 5)) for m in stack)),
            "masks": len(stack),
            "region_stats_ms": [statistics.fmean(t[i] for t in new) for i in range(3)],
            "find_contours_ms": [statistics.fmean(t[i] for t in old) for i in range(3)],
        }
    return results


def print_region_stats_timing(timings: dict[str, Any]) -> None:
    print("region_stats at 640x480, ms per call: best wall / median wall / best CPU")
    print("  (baseline: the former count of findContours outer borders; the results are checked equal)")
    for name, r in timings.items():
        (nb, nm, nc), (ob, om, oc) = r["region_stats_ms"], r["find_contours_ms"]
        print(
            f"  {name:<42} {r['regions']:>6} regions: {nb:6.2f} / {nm:6.2f} / {nc:6.2f}"
            f"   baseline {ob:7.2f} / {om:7.2f} / {oc:7.2f}   x{oc / nc:.1f} less CPU"
        )


def main(argv: list[str] | None = None) -> int:
    default = Path(os.environ.get("DEFECT_INSPECTOR_DATASETS", REPO.parent / "shared" / "datasets"))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=default, help=f"datasets folder (default {default})")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--no-large", action="store_true", help="skip the 8000x6000 synthetic timing")
    parser.add_argument("--region-stats-only", action="store_true", help="only time region_stats at 640x480")
    args = parser.parse_args(argv)
    aluminum, tiles = args.data / "aluminum", args.data / "magnetic_tile"
    if args.region_stats_only:
        print_region_stats_timing(region_stats_timing(aluminum if aluminum.is_dir() else None))
        return 0
    for folder in (aluminum, tiles):
        if not folder.is_dir():
            print(f"missing {folder}", file=sys.stderr)
            return 2
    results: dict[str, Any] = {
        "default_tolerance": DEFAULT_TOLERANCE,
        "default_min_area": DEFAULT_MIN_AREA,
        "cpu_count": os.cpu_count(),
    }

    r = results["rasterisation_aluminum"] = rasterisation_agreement(aluminum)
    print(f"Rasterisation vs the authors' aluminium masks ({r['images']} images)")
    fg, ex = r["foreground_iou"], r["exact_class_iou"]
    print(f"  foreground IoU  mean {fg['mean']:.7f}  worst {fg['worst']:.7f}")
    print(f"  exact-class IoU mean {ex['mean']:.7f}  worst {ex['worst']:.7f}  (image {r['worst_image']})")
    for label, s in r["per_class_iou"].items():
        print(f"  {label:<10} IoU mean {s['mean']:.7f}  worst {s['worst']:.7f}  over {s['n']} images")
    print(f"  pixel-identical images: {r['identical_images']}/{r['images']}")
    print(f"  rasterize: {r['rasterize_ms_per_image']:.2f} ms/image")

    results["round_trip"] = {}
    for name, folder in (("aluminum", aluminum), ("magnetic_tile", tiles)):
        for tolerance in (DEFAULT_TOLERANCE, 0.0):
            rt = round_trip(folder, tolerance)
            results["round_trip"][f"{name}@{tolerance:g}"] = rt
            print(
                f"Round trip {name}, tolerance {tolerance:g}: IoU mean {rt['iou']['mean']:.6f}"
                f"  worst {rt['iou']['worst']:.6f} ({rt['worst_image']})"
                f"  identical {rt['identical_images']}/{rt['iou']['n']}"
                f"  {rt['shapes']} shapes, {rt['vertices']} vertices;"
                f"  mask_to_shapes {rt['mask_to_shapes_ms_per_image']:.2f} ms/image,"
                f"  rasterize {rt['rasterize_ms_per_image']:.2f} ms/image"
            )

    if not args.no_large:
        big = results["synthetic_8000x6000"] = synthetic_large()
        print(
            f"Synthetic 8000x6000 ({big['regions']} regions): region_stats {big['region_stats_ms']:.0f} ms"
            f" (findContours baseline {big['region_stats_find_contours_ms']:.0f} ms),"
            f" mask_to_shapes {big['mask_to_shapes_ms']:.0f} ms ({big['shapes']} shapes,"
            f" {big['vertices']} vertices), rasterize {big['rasterize_ms']:.0f} ms, IoU {big['iou']:.5f}"
        )
    timings = results["region_stats_640x480"] = region_stats_timing(aluminum)
    print_region_stats_timing(timings)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
