"""Benchmark: accuracy of ONNX models on the papers' full test splits, beside the papers' numbers.

* Zhong et al. on the aluminium set: the 120 images of ``aluminum/test.txt`` at native 640x480;
  per-class IoU/Acc/Dice and their means (background included, as the paper averages), beside the
  paper's numbers quoted in docs/design.md (per-class IoU of the full model, and mIoU /
  mAcc / mDice; the paper's per-class Acc is not quoted there, so that column says n/a).
  Ours are computed over the whole split; the authors' released metric code scored only the last
  batch, so the published numbers are not strictly comparable.
* Chen et al. A-Net on the magnetic tile set: binary IoU (defect = mask > 0) on the 51 tiles of
  ``magnetic_tile/test.txt`` (paper: 69.18; our split reproduces the counts, not the authors'
  file list), and the share of the 952 defect-free tiles (``free.txt``) with any false-positive
  pixel (the paper does not report this).

Every model runs through the app's predictor (``trainer.evaluate``), so the figures are what the
app shows. Several models per set give one column each (e.g. fp32 and int8)::

    python benchmarks/accuracy.py --zhong runs/al/model.onnx runs/al/model.int8.onnx \\
        --anet runs/mt/model.onnx [--data ../shared/datasets] [--json results.json] [--limit N]

Without ``--zhong``/``--anet`` the bundled ``resources/models/aluminum_zhong.onnx`` and
``resources/models/magnetic_tile_anet.onnx`` are used when present.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = Path(os.environ.get("DEFECT_INSPECTOR_DATASETS", REPO.parent / "shared" / "datasets"))
DEFAULT_ZHONG = REPO / "resources" / "models" / "aluminum_zhong.onnx"
DEFAULT_ANET = REPO / "resources" / "models" / "magnetic_tile_anet.onnx"

#: Zhong et al., full model, 120-image validation split (docs/design.md), in %.
ZHONG_PAPER_IOU = {
    "_background_": 98.47,
    "zhe_zhou": 62.29,
    "ca_shang": 46.10,
    "zang_wu": 94.78,
    "zhen_kong": 66.04,
}
ZHONG_PAPER_MEANS = {"miou": 73.54, "macc": 82.52, "mdice": 83.20}
#: Chen et al. A-Net, magnetic tile, binary IoU in % (docs/design.md).
ANET_PAPER_IOU = 69.18


def _pct(value: Any, width: int = 8) -> str:
    text = "n/a" if value is None else f"{100.0 * float(value):.2f}"
    return f"{text:>{width}}"


def _paper(value: float | None, width: int = 8) -> str:
    return f"{'n/a' if value is None else f'{value:.2f}':>{width}}"


def _names(path: Path, limit: int | None) -> list[str]:
    from trainer.evaluate import read_name_list

    names = read_name_list(path)
    return names[:limit] if limit else names


def binary_iou(confusion: list[list[int]]) -> float:
    """Defect-vs-background IoU of a multi-class confusion matrix (any defect class counts)."""
    tp = sum(sum(row[1:]) for row in confusion[1:])
    fp = sum(confusion[0][1:])
    fn = sum(row[0] for row in confusion[1:])
    return tp / (tp + fp + fn) if tp + fp + fn else float("nan")


def zhong_table(models: list[Path], data: Path, limit: int | None) -> tuple[str, list[dict[str, Any]]]:
    """Evaluate each model on the aluminium test split; the table and the raw results."""
    from trainer.data.samples import find_class_table
    from trainer.evaluate import OnnxPredictor, evaluate_model, select_samples, stderr_progress

    root = data / "aluminum"
    samples = select_samples(root, _names(root / "test.txt", limit))
    table, _ = find_class_table(root)
    results = []
    for path in models:
        start = time.perf_counter()
        result = evaluate_model(OnnxPredictor(path), samples, data_table=table, progress=stderr_progress(40))
        result["model"], result["seconds"] = str(path), round(time.perf_counter() - start, 1)
        results.append(result)
    head = f"{'class':<14}{'paper IoU':>10}" + "".join(f"{'IoU':>8}{'Acc':>8}{'Dice':>8}" for _ in results)
    lines = [
        f"Zhong et al. on aluminium test ({len(samples)} images, native 640x480), values in %",
        "models: "
        + ", ".join(
            f"[{i + 1}] {r['model']} ({r['architecture']}, id {r['model_id']})" for i, r in enumerate(results)
        ),
        head,
        "-" * len(head),
    ]
    for label, paper in ZHONG_PAPER_IOU.items():
        row = f"{label:<14}{_paper(paper, 10)}"
        for r in results:
            m = r["per_class"].get(label, {})
            row += _pct(m.get("iou")) + _pct(m.get("acc")) + _pct(m.get("dice"))
        lines.append(row)
    row = f"{'mean':<14}{_paper(ZHONG_PAPER_MEANS['miou'], 10)}"
    for r in results:
        s = r["summary"]
        row += _pct(s["miou"]) + _pct(s["macc"]) + _pct(s["mdice"])
    lines.append(row)
    lines.append(
        f"paper means: mIoU {ZHONG_PAPER_MEANS['miou']:.2f}, mAcc {ZHONG_PAPER_MEANS['macc']:.2f}, "
        f"mDice {ZHONG_PAPER_MEANS['mdice']:.2f} (per-class Acc/Dice not quoted in docs/design.md)"
    )
    return "\n".join(lines), results


def anet_table(models: list[Path], data: Path, limit: int | None) -> tuple[str, list[dict[str, Any]]]:
    """Evaluate each model on the magnetic tile test split and the defect-free tiles."""
    from trainer.data.samples import find_class_table
    from trainer.evaluate import OnnxPredictor, evaluate_model, free_samples, select_samples, stderr_progress

    root = data / "magnetic_tile"
    samples = select_samples(root, _names(root / "test.txt", limit))
    free = free_samples(root, _names(root / "free.txt", limit))
    table, _ = find_class_table(root)
    results = []
    for path in models:
        start = time.perf_counter()
        result = evaluate_model(
            OnnxPredictor(path), samples, data_table=table, free=free, progress=stderr_progress(100)
        )
        result["model"], result["seconds"] = str(path), round(time.perf_counter() - start, 1)
        results.append(result)
    lines = [
        f"A-Net on magnetic tile: binary IoU on {len(samples)} test tiles (defect = mask > 0), "
        f"false positives on {len(free)} defect-free tiles",
        f"{'model':<50}{'IoU %':>8}{'paper':>8}{'free tiles with FP':>22}",
    ]
    for r in results:
        s, f = r["summary"], r["free"]
        iou = s.get("binary_iou", binary_iou(r["confusion"]))
        fp = f"{f['with_false_positives']}/{f['num_images']} ({100 * f['share_with_false_positives']:.1f} %)"
        name = Path(r["model"]).name + f" [{r['scoring']}]"
        lines.append(f"{name:<50}{_pct(iou)}{_paper(ANET_PAPER_IOU)}{fp:>22}")
    return "\n".join(lines), results


def main() -> int:
    """Print the tables; exit 2 when a dataset or model is missing."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--zhong", type=Path, nargs="*", default=None, help="ONNX models for the aluminium set"
    )
    parser.add_argument(
        "--anet", type=Path, nargs="*", default=None, help="ONNX models for the magnetic tiles"
    )
    parser.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help="folder holding aluminum/ and magnetic_tile/"
    )
    parser.add_argument("--json", type=Path, default=None, help="write all results (with confusion matrices)")
    parser.add_argument("--limit", type=int, default=None, help="first N images of each list (a quick look)")
    args = parser.parse_args()
    zhong = args.zhong if args.zhong is not None else [p for p in (DEFAULT_ZHONG,) if p.is_file()]
    anet = args.anet if args.anet is not None else [p for p in (DEFAULT_ANET,) if p.is_file()]
    if not zhong and not anet:
        print(
            "accuracy: no model given (--zhong / --anet) and none bundled in resources/models",
            file=sys.stderr,
        )
        return 2
    for path in [*zhong, *anet]:
        if not path.is_file():
            print(f"accuracy: model {path} does not exist", file=sys.stderr)
            return 2
    needed = (["aluminum"] if zhong else []) + (["magnetic_tile"] if anet else [])
    for name in needed:
        if not (args.data / name).is_dir():
            print(f"accuracy: dataset {args.data / name} is absent (see --data)", file=sys.stderr)
            return 2
    everything: dict[str, Any] = {}
    if zhong:
        text, everything["zhong_aluminum"] = zhong_table(zhong, args.data, args.limit)
        print(text + "\n", flush=True)
    if anet:
        text, everything["anet_magnetic_tile"] = anet_table(anet, args.data, args.limit)
        print(text + "\n", flush=True)
    if args.json:
        from trainer.evaluate import write_json

        write_json(everything, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
