"""Checks before a training job starts, and what the machine offers (device probe).

Nothing here imports torch or the trainer: whether they are installed is asked of the import
system (``importlib.util.find_spec``, which locates a package without running it), and the
devices are asked of the trainer in a short subprocess (``python -m trainer.cli devices --json``).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from inspector_app.services.training.dataset import ProjectDataset
from inspector_app.services.training.split import ProjectSplit, class_counts

INSTALL_CPU = "pip install torch --index-url https://download.pytorch.org/whl/cpu"
INSTALL_GPU = "pip install torch --index-url https://download.pytorch.org/whl/cu128"
INSTALL_TRAINER = 'pip install -e ".[train]"'


@dataclass(frozen=True)
class Problem:
    """One pre-flight finding; ``error`` blocks the start, ``warning`` is shown."""

    severity: Literal["error", "warning"]
    code: str
    message: str


@dataclass(frozen=True)
class TrainerStatus:
    """Whether this Python can run the trainer."""

    torch: bool
    trainer: bool

    @property
    def ready(self) -> bool:
        """True when both are importable."""
        return self.torch and self.trainer


def trainer_status() -> TrainerStatus:
    """Locate torch and the trainer package without importing them."""
    return TrainerStatus(
        torch=importlib.util.find_spec("torch") is not None,
        trainer=importlib.util.find_spec("trainer") is not None,
    )


def preflight(
    dataset: ProjectDataset,
    split: ProjectSplit,
    status: TrainerStatus | None = None,
    *,
    parent_classes: Sequence[str] = (),
) -> tuple[Problem, ...]:
    """Everything that would make the job fail or mislead, with messages for people.

    ``parent_classes``: the base model's labels when fine-tuning (``--head extend`` keeps them
    all); one of them without a training example is a warning, not an error.
    """
    problems: list[Problem] = []
    status = status or trainer_status()
    if not status.torch:
        problems.append(
            Problem(
                "error",
                "torch_missing",
                "PyTorch is not installed in this Python, so the trainer cannot run. With an NVIDIA GPU: "
                f"`{INSTALL_GPU}`; on a CPU-only machine: `{INSTALL_CPU}`; then `{INSTALL_TRAINER}`.",
            )
        )
    elif not status.trainer:
        problems.append(
            Problem("error", "trainer_missing", f"The trainer package is not installed: `{INSTALL_TRAINER}`.")
        )
    if not dataset.images:
        hint = (
            f" {len(dataset.unconfirmed)} image(s) hold unconfirmed predictions: confirm them or "
            "include predictions."
            if dataset.unconfirmed
            else ""
        )
        problems.append(
            Problem(
                "error",
                "no_annotations",
                f"No annotated image in {dataset.root}: annotate some images first.{hint}",
            )
        )
    else:
        if not split.train:
            problems.append(Problem("error", "empty_train", "The training split is empty."))
        if not split.val:
            problems.append(
                Problem(
                    "error",
                    "empty_val",
                    "The validation split is empty: at least one image is needed to "
                    "choose the best epoch (annotate a second image or move one).",
                )
            )
        for label, (train, _val) in class_counts(dataset, split).items():
            if train == 0 and label in parent_classes:
                problems.append(
                    Problem(
                        "warning",
                        "parent_class_without_example",
                        f"Class {label!r} of the base model has no example in the training split: the model "
                        "keeps its output, but fine-tuning without examples may make it forget the class.",
                    )
                )
            elif train == 0:
                problems.append(
                    Problem(
                        "error",
                        "class_without_example",
                        f"Class {label!r} has no example in the training split: annotate it on an image "
                        "or move an image that has it into the training split"
                        + (
                            " (or remove the class from the table)."
                            if label not in dataset.new_classes
                            else "."
                        ),
                    )
                )
    for name, reason in dataset.unreadable:
        problems.append(Problem("warning", "unreadable", f"{name} is left out: {reason}"))
    if dataset.unconfirmed and not dataset.include_predictions:
        problems.append(
            Problem(
                "warning",
                "unconfirmed_excluded",
                f"{len(dataset.unconfirmed)} image(s) with unconfirmed predictions are "
                "left out (confirm them, or choose to include predictions).",
            )
        )
    if dataset.new_classes:
        problems.append(
            Problem(
                "warning",
                "new_classes",
                f"New class(es) not in the class table: {', '.join(dataset.new_classes)} "
                "(they are added to the model).",
            )
        )
    return tuple(problems)


@dataclass(frozen=True)
class GpuInfo:
    """One CUDA device."""

    index: int
    name: str
    free_bytes: int
    total_bytes: int


@dataclass(frozen=True)
class DeviceInfo:
    """What ``defect-train devices --json`` reported."""

    gpus: tuple[GpuInfo, ...]
    cpu_cores: int
    cpu_threads: int
    seconds_per_image: float | None = None
    warmup_device: str | None = None

    def describe(self) -> str:
        """``NVIDIA H200, 131.2 GiB free`` or ``CPU (2 cores)``."""
        if self.gpus:
            g = self.gpus[0]
            more = f" (+{len(self.gpus) - 1} more GPU(s))" if len(self.gpus) > 1 else ""
            return f"{g.name}, {g.free_bytes / 2**30:.1f} GiB free{more}"
        return f"CPU ({self.cpu_cores} core(s))"

    def estimate_seconds(self, train_images: int, epochs: int, val_images: int = 0) -> float | None:
        """Rough duration: training steps plus validation (about a third of a training step)."""
        if self.seconds_per_image is None:
            return None
        return self.seconds_per_image * epochs * (train_images + val_images / 3.0)


class ProbeError(RuntimeError):
    """The device probe failed (the message says how)."""


def probe_devices(
    *,
    warmup_model: str | None = None,
    size: tuple[int, int] = (480, 640),
    python: str | None = None,
    timeout: float = 120.0,
    extra_args: Sequence[str] = (),
) -> DeviceInfo:
    """Run ``python -m trainer.cli devices --json`` (optionally with a warm-up) and parse it.

    Blocking (seconds; a warm-up at 480x640 on a busy 2-core CPU takes ~10-30 s): call it from a
    worker thread. Raises :class:`ProbeError` with the trainer's message on failure.
    """
    command = [python or sys.executable, "-m", "trainer.cli", "devices", "--json", *extra_args]
    if warmup_model:
        command += ["--warmup", warmup_model, "--size", f"{size[0]}x{size[1]}"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ProbeError(f"device probe failed: {exc}") from None
    if done.returncode != 0:
        raise ProbeError(f"device probe failed (exit {done.returncode}): {done.stderr.strip()[-500:]}")
    try:
        data = json.loads(done.stdout.strip().splitlines()[-1])
        warm = data.get("warmup") or {}
        return DeviceInfo(
            gpus=tuple(
                GpuInfo(int(g["index"]), str(g["name"]), int(g["free_bytes"]), int(g["total_bytes"]))
                for g in data.get("gpus", [])
            ),
            cpu_cores=int(data["cpu"]["cores"]),
            cpu_threads=int(data["cpu"]["threads_now"]),
            seconds_per_image=float(warm["seconds_per_image"]) if warm else None,
            warmup_device=str(warm["device"]) if warm else None,
        )
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise ProbeError(
            f"device probe printed something unexpected ({exc}): {done.stdout[:200]!r}"
        ) from None
