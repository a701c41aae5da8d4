"""Preparing a training job: the run folder, the dataset snapshot and the command line.

A job runs ``python -m trainer.cli train`` in ``.inspector/runs/<id>/``:

* ``data/`` - the snapshot the trainer reads: each usable image (hard link, else a copy), its
  LabelMe JSON rewritten beside it (image path = the file name; with unconfirmed predictions
  excluded there is nothing to filter), ``classes.yaml`` (the project's table + new classes),
  ``train.txt`` / ``val.txt`` from the project's stable split;
* ``job.json`` - what was asked: preset, options, base model, parent model id, data summary;
* what the trainer writes: ``config.yaml``, ``events.jsonl``, ``train.log``, ``split.json``,
  ``last.pt``/``best.pt``, ``model.onnx`` + ``model.json``.

The app never imports torch or the trainer: it knows the trainer as this command line, the run
folder and the JSON-lines events (:mod:`inspector_app.core.protocol`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from inspector_app.core.annotations import load_document, save_document
from inspector_app.core.fileio import atomic_write_text
from inspector_app.services.training.dataset import ProjectDataset
from inspector_app.services.training.presets import Preset, command_arguments
from inspector_app.services.training.split import ProjectSplit, class_counts

RUNS_DIR = Path(".inspector") / "runs"
JOB_FILE = "job.json"


@dataclass(frozen=True)
class JobSpec:
    """What to train: a preset (+ edits), and the base - a checkpoint to fine-tune or a network."""

    preset: Preset
    #: ``.pt`` checkpoint (or run folder) to fine-tune from; None trains ``model`` from scratch.
    base_checkpoint: Path | None = None
    #: Registry network name for a fresh network (``defect-train models``).
    model: str = "zhong"
    #: The base model's id (its card's ``model_id``), recorded as the parent.
    parent_model_id: str | None = None
    extra_options: Mapping[str, Any] = field(default_factory=dict)
    #: Training processes: 1, or one per GPU through ``torchrun`` (DDP, see docs/trainer.md).
    processes: int = 1

    def options(self) -> dict[str, Any]:
        """The trainer options of this job (preset, then extra options)."""
        return {**self.preset.options, **self.extra_options}


@dataclass(frozen=True)
class PreparedJob:
    """A run folder ready to start: run ``command`` with ``cwd`` = ``run_dir``."""

    run_id: str
    run_dir: Path
    data_dir: Path
    command: tuple[str, ...]
    spec: JobSpec


def new_run_id(preset: Preset, now: datetime | None = None) -> str:
    """``20261203-064700-quick`` (UTC; sortable)."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{preset.key}"


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:  # another file system, or links not allowed: a copy is as good
        shutil.copy2(src, dst)


def build_command(spec: JobSpec, run_dir: Path, data_dir: Path, python: str | None = None) -> list[str]:
    """The trainer command line of ``spec`` (``python -m trainer.cli train ...``)."""
    launcher = [python or sys.executable]
    if spec.processes > 1:  # all GPUs: one process each; rank 0 writes the events and files
        launcher += ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(spec.processes)]
    args = [*launcher, "-m", "trainer.cli", "train", "--data", str(data_dir), "--run-dir", str(run_dir)]
    if spec.base_checkpoint is not None:
        args += ["--init", str(spec.base_checkpoint)]
    else:
        args += ["--model", spec.model]
    return args + command_arguments(spec.options())


def prepare_job(
    project_root: str | os.PathLike[str],
    dataset: ProjectDataset,
    split: ProjectSplit,
    spec: JobSpec,
    *,
    run_id: str | None = None,
    python: str | None = None,
) -> PreparedJob:
    """Create the run folder with its data snapshot and ``job.json``; returns the job to start.

    Raises FileExistsError when the run folder exists, OSError when writing fails.
    """
    root = Path(project_root)
    run_id = run_id or new_run_id(spec.preset)
    run_dir = root / RUNS_DIR / run_id
    data_dir = run_dir / "data"
    data_dir.mkdir(parents=True, exist_ok=False)
    names = set(split.train) | set(split.val)
    for image in dataset.images:
        if image.name not in names:
            continue
        _link_or_copy(dataset.root / image.name, data_dir / image.name)
        document = load_document(dataset.root / image.json_name)
        document = dataclasses.replace(document, image_path=image.name, image_data=None)
        save_document(document, data_dir / image.json_name)
    dataset.training_table().save(data_dir / "classes.yaml")
    atomic_write_text(data_dir / "train.txt", "".join(f"{n}\n" for n in split.train if n in names))
    atomic_write_text(data_dir / "val.txt", "".join(f"{n}\n" for n in split.val if n in names))
    command = build_command(spec, run_dir, data_dir, python)
    job = {
        "run_id": run_id,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "preset": spec.preset.key,
        "options": spec.options(),
        "base_checkpoint": str(spec.base_checkpoint) if spec.base_checkpoint else None,
        "model": None if spec.base_checkpoint else spec.model,
        "parent_model_id": spec.parent_model_id,
        "data": {
            "train": len(split.train),
            "val": len(split.val),
            "classes": list(dataset.training_table().labels),
            "new_classes": list(dataset.new_classes),
            "class_counts": {k: list(v) for k, v in class_counts(dataset, split).items()},
            "include_predictions": dataset.include_predictions,
        },
        "command": command,
    }
    atomic_write_text(run_dir / JOB_FILE, json.dumps(job, indent=1) + "\n")
    return PreparedJob(run_id, run_dir, data_dir, tuple(command), spec)


def read_job(run_dir: str | os.PathLike[str]) -> dict[str, Any] | None:
    """A run folder's ``job.json`` (None when absent or unreadable: runs started by hand)."""
    try:
        data = json.loads((Path(run_dir) / JOB_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
