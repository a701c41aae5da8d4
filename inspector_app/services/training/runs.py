"""Run history: what each ``.inspector/runs/<id>/`` folder holds, read back from its events.

:func:`read_run` replays ``events.jsonl`` through :mod:`inspector_app.core.protocol` into a
frozen :class:`RunSummary` (status, epochs, curves, best metric, per-class IoU, parent model);
:func:`list_runs` does it for every run of a project. :class:`EventTail` reads the events a
running job appends, incrementally (the GUI polls it, or parses the process' stdout lines with
``protocol.from_line`` - the same events).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from inspector_app.core.protocol import (
    Event,
    Exported,
    Finished,
    Metrics,
    Progress,
    ProtocolError,
    Started,
    TrainerError,
    from_line,
    iter_events,
)
from inspector_app.services.training.job import RUNS_DIR, read_job

RunStatus = Literal["running", "ok", "cancelled", "failed", "not started", "unreadable"]


@dataclass(frozen=True)
class RunSummary:
    """One run as the history shows it."""

    run_id: str
    run_dir: Path
    status: RunStatus
    epochs: int | None = None
    epochs_done: int = 0
    best_metric: float | None = None
    best_epoch: int | None = None
    #: (epoch, mean training loss) and (epoch, validation mIoU) points.
    train_loss: tuple[tuple[int, float], ...] = ()
    val_miou: tuple[tuple[int, float], ...] = ()
    #: Validation IoU per class at the best epoch (else the last scored one); NaN when undefined.
    per_class_iou: dict[str, float] = field(default_factory=dict)
    #: Labels absent from the validation split (no ground-truth pixel).
    absent_classes: tuple[str, ...] = ()
    test_miou: float | None = None
    parent_model_id: str | None = None
    model_path: Path | None = None
    card_path: Path | None = None
    error: str | None = None
    resumed_from_epoch: int | None = None
    started: float | None = None
    finished: float | None = None


def summarize_events(run_dir: Path, events: list[Event]) -> RunSummary:
    """Fold a run's events into a :class:`RunSummary` (no ``finished``: still running or killed)."""
    status: RunStatus = "not started" if not events else "running"
    epochs = best_epoch = resumed = None
    best_metric = test_miou = started = finished = None
    done = 0
    losses: dict[int, float] = {}
    mious: dict[int, float] = {}
    per_epoch: dict[int, Metrics] = {}
    model_path = card_path = None
    error = None
    for event in events:
        if isinstance(event, Started):
            epochs, started = event.epochs, started or event.t
            resumed = event.resumed_from_epoch if event.resumed_from_epoch is not None else resumed
        elif isinstance(event, Progress):
            epochs = event.epochs
        elif isinstance(event, Metrics) and event.split == "val":
            done = max(done, event.epoch)
            per_epoch[event.epoch] = event
            if "train_loss" in event.values:
                losses[event.epoch] = event.values["train_loss"]
            mious[event.epoch] = event.values.get("miou", math.nan)
        elif isinstance(event, Metrics) and event.split == "test":
            test_miou = event.values.get("miou")
        elif isinstance(event, Exported):
            model_path, card_path = Path(event.path), Path(event.card_path)
        elif isinstance(event, TrainerError):
            error = event.message
        elif isinstance(event, Finished):
            status, finished = event.status, event.t
            best_metric, best_epoch = event.best_metric, event.best_epoch
    chosen = per_epoch.get(best_epoch or -1) or (per_epoch[max(per_epoch)] if per_epoch else None)
    per_class = {k: v.get("iou", math.nan) for k, v in chosen.per_class.items()} if chosen else {}
    absent = tuple(k for k, v in chosen.per_class.items() if v.get("absent")) if chosen else ()
    return RunSummary(
        run_id=run_dir.name,
        run_dir=run_dir,
        status=status,
        epochs=epochs,
        epochs_done=done,
        best_metric=best_metric,
        best_epoch=best_epoch,
        train_loss=tuple(sorted(losses.items())),
        val_miou=tuple(sorted(mious.items())),
        per_class_iou=per_class,
        absent_classes=absent,
        test_miou=test_miou,
        parent_model_id=_parent(run_dir),
        model_path=model_path,
        card_path=card_path,
        error=error,
        resumed_from_epoch=resumed,
        started=started,
        finished=finished,
    )


def _parent(run_dir: Path) -> str | None:
    """The parent model id: the exported card's, else the job's."""
    try:
        card = json.loads((run_dir / "model.json").read_text(encoding="utf-8"))
        if card.get("parent"):
            return str(card["parent"])
    except (OSError, ValueError, AttributeError):
        pass
    job = read_job(run_dir) or {}
    parent = job.get("parent_model_id")
    return str(parent) if parent else None


def read_run(run_dir: str | os.PathLike[str]) -> RunSummary:
    """The summary of one run folder; ``unreadable`` (with the reason) for a corrupt stream."""
    run_dir = Path(run_dir)
    path = run_dir / "events.jsonl"
    if not path.is_file():
        return RunSummary(run_dir.name, run_dir, "not started", parent_model_id=_parent(run_dir))
    try:
        return summarize_events(run_dir, list(iter_events(path)))
    except (OSError, ProtocolError) as exc:
        return RunSummary(run_dir.name, run_dir, "unreadable", error=str(exc))


def list_runs(project_root: str | os.PathLike[str]) -> tuple[RunSummary, ...]:
    """Every run of the project, newest first (run ids start with their UTC time)."""
    runs = Path(project_root) / RUNS_DIR
    if not runs.is_dir():
        return ()
    folders = sorted((p for p in runs.iterdir() if p.is_dir()), key=lambda p: p.name, reverse=True)
    return tuple(read_run(p) for p in folders)


class EventTail:
    """Reads the complete lines appended to an ``events.jsonl`` since the last :meth:`poll`."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._offset = 0
        self._partial = b""

    def poll(self) -> list[Event]:
        """New events (a torn or not yet complete last line waits for the next poll)."""
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self._offset)
                data = fh.read()
        except FileNotFoundError:
            return []
        self._offset += len(data)
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()
        events: list[Event] = []
        for line in lines:
            if line.strip():
                try:
                    events.append(from_line(line))
                except ProtocolError:
                    continue  # a fragment torn by a killed writer (protocol.iter_events skips it too)
        return events
