"""Issue 9's target: a quick fine-tune that adds a new defect class from 20 newly annotated
640x480 images, on this machine's CPU, within 10 minutes; the new class's IoU and the old
classes' IoU before/after on held-out images.

The "new class" is the aluminium set's abrasion (``ca_shang``) relabelled ``scuff`` in 20
training images: the bundled model has never seen a class called ``scuff``, so its head is
extended with a fresh output (``--head extend``), while ``ca_shang`` keeps its output but no
longer gets examples (its score after fine-tuning shows what relabelling costs). The whole path is
the station's: a project folder of images + LabelMe JSON, assembled by
``inspector_app.services.training`` (scan, stable split, quick preset, run folder, command line),
the trainer as a subprocess, then ``defect-train evaluate`` of the bundled model (original labels)
and of the candidate (relabelled) on the same held-out test images at native size.

    python benchmarks/finetune_new_class.py [--data ../shared/datasets/aluminum] [--images 20]
        [--heldout 40] [--replay N] [--epochs N] [--lr LR] [--out /tmp/finetune_new_class]

``--replay N`` adds N earlier annotated training images that have no abrasion, with their
original labels (what a project that already holds annotations gives the job anyway), against
forgetting.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from inspector_app.core.annotations import load_document, save_document  # noqa: E402
from inspector_app.core.classes import ClassInfo, ClassTable  # noqa: E402
from inspector_app.services.training.dataset import scan_project  # noqa: E402
from inspector_app.services.training.job import JobSpec, prepare_job  # noqa: E402
from inspector_app.services.training.presets import QUICK_FINE_TUNE  # noqa: E402
from inspector_app.services.training.runs import read_run  # noqa: E402
from inspector_app.services.training.split import class_counts, update_split  # noqa: E402

OLD, NEW = "ca_shang", "scuff"


def stems(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def has_label(data: Path, stem: str, label: str) -> bool:
    return any(s.label == label for s in load_document(data / "labelme" / f"{stem}.json").shapes)


def write_folder(data: Path, folder: Path, chosen: list[str], relabel: bool) -> None:
    """Images + LabelMe JSON beside them (``ca_shang`` -> ``scuff`` when ``relabel``)."""
    folder.mkdir(parents=True)
    for stem in chosen:
        image = data / "images" / f"{stem}.jpg"
        shutil.copy2(image, folder / image.name)
        document = load_document(data / "labelme" / f"{stem}.json")
        if relabel:
            shapes = tuple(
                s if s.label != OLD else dataclasses.replace(s, label=NEW) for s in document.shapes
            )
        else:
            shapes = document.shapes
        document = dataclasses.replace(document, shapes=shapes, image_path=image.name)
        save_document(document, folder / f"{stem}.json")


def table_with_new_class(data: Path) -> ClassTable:
    table = ClassTable.load(data / "classes.yaml")
    old = next(c for c in table if c.label == OLD)
    scuff = ClassInfo(
        table.num_classes, NEW, NEW, (255, 128, 0), line_width=old.line_width, draw_as=old.draw_as
    )
    return ClassTable((*table, scuff))


def evaluate(model: Path, data: Path, env: dict[str, str]) -> dict[str, Any]:
    out = data.parent / f"eval_{model.parent.name}_{data.name}.json"
    command = [
        sys.executable,
        "-m",
        "trainer.cli",
        "evaluate",
        "--model",
        str(model),
        "--data",
        str(data),
        "--json",
        str(out),
    ]
    subprocess.run(command, env=env, check=True, capture_output=True, text=True)
    return dict(json.loads(out.read_text(encoding="utf-8")))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "datasets" / "aluminum")
    parser.add_argument("--images", type=int, default=20)
    parser.add_argument("--heldout", type=int, default=40)
    parser.add_argument(
        "--replay", type=int, default=0, help="also train on N earlier annotated images without ca_shang"
    )
    parser.add_argument("--epochs", type=int, default=None, help="override the preset's epochs")
    parser.add_argument("--lr", type=float, default=None, help="override the preset's learning rate")
    parser.add_argument("--out", type=Path, default=Path("/tmp") / "finetune_new_class")
    args = parser.parse_args()
    if not (args.data / "labelme").is_dir():
        print(f"no aluminium dataset at {args.data}", file=sys.stderr)
        return 2
    shutil.rmtree(args.out, ignore_errors=True)
    train = [s for s in stems(args.data / "train.txt") if has_label(args.data, s, OLD)][: args.images]
    test = [s for s in stems(args.data / "test.txt")][: args.heldout]
    project = args.out / "project"
    write_folder(args.data, project, train, relabel=True)
    if args.replay:
        replay = [s for s in stems(args.data / "train.txt") if not has_label(args.data, s, OLD)][
            : args.replay
        ]
        write_folder(args.data, args.out / "replay", replay, relabel=False)
        for path in (args.out / "replay").iterdir():
            shutil.move(str(path), project / path.name)
    write_folder(args.data, args.out / "heldout_original", test, relabel=False)
    write_folder(args.data, args.out / "heldout_relabelled", test, relabel=True)
    shutil.copy2(args.data / "classes.yaml", args.out / "heldout_original" / "classes.yaml")
    table = table_with_new_class(args.data)
    table.save(args.out / "heldout_relabelled" / "classes.yaml")

    dataset = scan_project(project, table)
    split = update_split(dataset, val_fraction=0.2)
    bundled = REPO / "resources" / "models" / "aluminum_zhong.pt"
    card = json.loads(bundled.with_suffix(".json").read_text(encoding="utf-8"))
    spec = JobSpec(
        QUICK_FINE_TUNE.with_options(epochs=args.epochs, lr=args.lr),
        base_checkpoint=bundled,
        parent_model_id=str(card["model_id"]),
    )
    job = prepare_job(project, dataset, split, spec, run_id="bench-quick")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    print(
        f"{len(split.train)} train / {len(split.val)} val images; per class (train, val): "
        f"{class_counts(dataset, split)}"
    )
    print("command:", " ".join(job.command))
    start = time.perf_counter()
    done = subprocess.run(job.command, cwd=job.run_dir, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    run = read_run(job.run_dir)
    print(
        f"fine-tune: exit {done.returncode}, {elapsed:.0f} s wall ({elapsed / 60:.1f} min), "
        f"status {run.status}, "
        f"best val mIoU {run.best_metric} at epoch {run.best_epoch}, parent {run.parent_model_id}"
    )
    if done.returncode != 0:
        print(done.stderr[-3000:], file=sys.stderr)
        return 1
    before = evaluate(
        REPO / "resources" / "models" / "aluminum_zhong.onnx", args.out / "heldout_original", env
    )
    after = evaluate(job.run_dir / "model.onnx", args.out / "heldout_relabelled", env)
    per_before = before["per_class"]
    per_after = after["per_class"]
    assert isinstance(per_before, dict) and isinstance(per_after, dict)
    print(f"held-out: {args.heldout} test images at native size (defect-train evaluate)")
    print(f"{'class':<14}{'IoU before':>12}{'IoU after':>12}")
    for label in table.labels:
        b = per_before.get(label, {}).get("iou") if label in per_before else None
        a = per_after.get(label, {}).get("iou")
        fmt = lambda v: "-" if v is None else f"{100 * v:.2f}"  # noqa: E731
        print(f"{label:<14}{fmt(b):>12}{fmt(a):>12}")
    print(
        f"mIoU over present classes: before {100 * before['summary']['miou']:.2f} "
        f"after {100 * after['summary']['miou']:.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
