"""The training-job service end to end with the real trainer in a subprocess.

A project annotated in the test (LabelMe files through the app's writer, a class table without
the new class ``dent``) -> dataset + stable split -> pre-flight -> a fresh tiny job, promoted ->
a fine-tune of the promoted model adding ``dent`` -> events read back through the service, run
history, promote (lineage) and rollback. Tiny images and budgets: well under a minute.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from inspector_app.core.annotations import Shape, document_for_image, save_document
from inspector_app.core.classes import ClassTable
from inspector_app.core.protocol import Metrics, Started
from inspector_app.services.training.dataset import scan_project
from inspector_app.services.training.job import JobSpec, prepare_job
from inspector_app.services.training.preflight import preflight, trainer_status
from inspector_app.services.training.presets import QUICK_FINE_TUNE
from inspector_app.services.training.registry import ModelRegistry
from inspector_app.services.training.runs import EventTail, list_runs, read_run
from inspector_app.services.training.split import save_split, update_split

REPO = Path(__file__).resolve().parents[2]
TINY = {"epochs": 1, "batch_size": 2, "threads": 1, "log_every": 1, "warmup_epochs": 0, "class_weights": None}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not trainer_status().ready, reason="the trainer (torch) is not installed"),
]


def annotate(root: Path, name: str, labels: list[str], seed: int) -> None:
    """A 64x64 grey image with the defects drawn in, and its LabelMe file."""
    rng = np.random.default_rng(seed)
    image = rng.normal(128, 6, (64, 64, 3)).clip(0, 255).astype(np.uint8)
    shapes = []
    for i, label in enumerate(labels):
        x, y = 6 + 20 * i, int(rng.integers(6, 40))
        value = {"scratch": 250, "stain": 20, "dent": 180}[label]
        image[y : y + 12, x : x + 12] = value
        shapes.append(Shape(label, ((x, y), (x + 12, y), (x + 12, y + 12), (x, y + 12))))
    cv2.imwrite(str(root / name), image)
    json_path = (root / name).with_suffix(".json")
    save_document(document_for_image(root / name, json_path, shapes, height=64, width=64), json_path)


def run_job(command: tuple[str, ...], run_dir: Path) -> int:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        command, cwd=run_dir, env=env, capture_output=True, text=True, timeout=180, check=False
    )
    return done.returncode


def test_annotate_train_promote_finetune_rollback(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    for i in range(6):
        annotate(project, f"a{i}.png", ["scratch"] if i % 2 else ["stain"], i)
    table = ClassTable.from_labels(["scratch", "stain"])

    # --- first job: a fresh network on the project's two classes ---------------------------------
    data = scan_project(project, table)
    split = update_split(data, val_fraction=0.34)
    save_split(project, split)
    assert not [p for p in preflight(data, split) if p.severity == "error"]
    first = prepare_job(
        project,
        data,
        split,
        JobSpec(QUICK_FINE_TUNE.with_options(**TINY), model="zhong"),
        run_id="20260101-000000-quick",
    )
    assert run_job(first.command, first.run_dir) == 0
    registry = ModelRegistry(project)
    base = registry.promote(read_run(first.run_dir))
    assert base.checkpoint_path is not None

    # --- a person annotates a new defect class; the second job fine-tunes the promoted model -------
    for i in range(4):
        annotate(project, f"d{i}.png", ["dent", "scratch"] if i % 2 else ["dent"], 10 + i)
    data = scan_project(project, table)
    assert data.new_classes == ("dent",)
    split = update_split(data, split)
    assert set(split.val) >= set(update_split(scan_project(project, table), split).val)
    spec = JobSpec(
        QUICK_FINE_TUNE.with_options(**TINY),
        base_checkpoint=base.checkpoint_path,
        parent_model_id=base.model_id,
    )
    job = prepare_job(project, data, split, spec, run_id="20260102-000000-quick")
    assert run_job(job.command, job.run_dir) == 0

    events = EventTail(job.run_dir / "events.jsonl").poll()
    started = next(e for e in events if isinstance(e, Started))
    assert started.resumed_from_epoch is None and started.num_train == len(split.train)
    assert any(isinstance(e, Metrics) and "dent" in e.per_class for e in events)
    runs = list_runs(project)
    assert [r.run_id for r in runs] == ["20260102-000000-quick", "20260101-000000-quick"]
    child = runs[0]
    assert child.status == "ok" and child.epochs_done == 1 and "dent" in child.per_class_iou
    assert child.parent_model_id == base.model_id  # the card's lineage, read back
    # the candidate beside the current model, on the same validation images, through onnxruntime
    from inspector_app.core.predictor import Predictor
    from inspector_app.services.training.compare import compare_models

    current, candidate = Predictor(base.onnx_path), Predictor(job.run_dir / "model.onnx")
    table_now, table_new = current.card.class_table, candidate.card.class_table
    comparison = compare_models(project, split.val, current, table_now, candidate, table_new)
    assert comparison.labels[-1] == "dent" and len(comparison.images) == len(split.val)
    assert comparison.iou_current["dent"] in (None, 0.0)  # the current model has no dent output
    disagreement = [r.disagreement for r in comparison.images]
    assert disagreement == sorted(disagreement, reverse=True)
    promoted = registry.promote(child)
    assert registry.current() == promoted and registry.lineage(promoted.model_id) == (
        promoted.model_id,
        base.model_id,
    )
    assert registry.rollback() == base and registry.current() == base
    assert promoted.onnx_path.is_file()  # kept for a later promote


def test_device_probe_through_the_trainer_subprocess() -> None:
    from inspector_app.services.training.preflight import probe_devices

    info = probe_devices(
        warmup_model="zhong", size=(64, 64), extra_args=["--steps", "1", "--batch-size", "1"]
    )
    assert info.cpu_cores >= 1 and info.seconds_per_image is not None and info.seconds_per_image > 0
    assert info.describe().startswith("CPU") == (not info.gpus)
    estimate = info.estimate_seconds(train_images=20, epochs=10, val_images=6)
    assert estimate is not None and estimate > 0
