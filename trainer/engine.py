"""The training loop: data -> model -> optimiser -> epochs -> checkpoints -> export.

:func:`run_training` is the whole ``defect-train train`` command after argument parsing. It never
raises: it returns the exit code (0 ok, 2 bad input/config, 3 cancelled, 1 crash) after an
``error`` event and a ``finished`` event, and the last checkpoint written stays on disk.

Cancellation: a ``STOP`` file in the run folder or SIGTERM/SIGINT ends the run at the next step
(under torchrun all ranks agree through an all-reduce), after saving ``last.pt`` with the weights
of that moment; its ``epoch`` is the last *completed* epoch, so ``--resume`` repeats the
interrupted one.

Validation scores the validation split at the training size (``input_size``); for images of
other sizes (magnetic tile) the paper-comparable number is ``defect-train evaluate``, which scores
at each image's native size.

Distributed (torchrun): :class:`~trainer.data.TrainSampler` is a DistributedSampler that shards
the draws, the model is wrapped in DDP (gloo on CPU, nccl on CUDA), validation shards the images
and all-reduces the confusion matrix, and only rank 0 writes files and events.
"""

from __future__ import annotations

import copy
import importlib.util
import math
import os
import signal
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from inspector_app.core.classes import BACKGROUND_LABEL, ClassTable
from inspector_app.core.protocol import Checkpoint, ExitCode, Finished, Metrics, Progress, Started
from trainer import distributed as dist
from trainer.checkpoint import (
    BEST,
    LAST,
    CheckpointError,
    build_model,
    load_sources,
    refuse_used_run_folder,
    save_checkpoint,
)
from trainer.config import ConfigError, TrainConfig, portable_config, portable_path, save_yaml, to_dict
from trainer.data import (
    DataError,
    PreparedData,
    TrainSampler,
    build_loaders,
    channel_stats,
    describe_table,
    prepare_data,
    save_split,
)
from trainer.events import EventSink, setup_logging
from trainer.losses import build_loss, median_frequency_weights
from trainer.metrics import absent_classes, evaluate, summarize
from trainer.runtime import (
    InputTransform,
    Precision,
    choose_precision,
    load_average,
    select_device,
    threads_for_load,
)
from trainer.schedule import build_optimizer, lr_factor
from trainer.step import NonFiniteLoss, train_step

STOP_FILE = "STOP"
#: Metrics where lower is better (everything else: higher is better).
LOWER_IS_BETTER = ("loss",)
METRIC_KEYS = ("miou", "macc", "mdice", "mprecision", "pixel_acc", "binary_iou", "loss")


class Cancelled(Exception):
    """A STOP file or a signal asked the run to end."""


@dataclass
class RunState:
    """What ``last.pt`` remembers besides weights: completed epochs, steps, best score."""

    epoch: int = 0
    step: int = 0
    best_metric: float | None = None
    best_epoch: int | None = None
    metrics: dict[str, Any] = field(default_factory=dict)


class StopWatch:
    """Cancellation requests: the STOP file and SIGTERM/SIGINT (handlers restored on exit)."""

    def __init__(self, run_dir: Path) -> None:
        self.stop_file = run_dir / STOP_FILE
        self.signalled: str | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopWatch:
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                self._previous[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread (an embedding application): STOP file only
                break
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        self.signalled = signal.Signals(signum).name

    def requested(self) -> str | None:
        """Why the run should stop now, or None."""
        if self.signalled:
            return self.signalled
        if self.stop_file.exists():
            return f"{STOP_FILE} file"
        return None


@dataclass
class Session:
    """Everything the epoch loop uses, built by :meth:`Trainer.setup`."""

    model: nn.Module  # the bare network (what checkpoints store)
    net: nn.Module  # what the training step calls (DDP and/or compiled wrapper)
    optimizer: torch.optim.Optimizer
    loss_fn: nn.Module
    precision: Precision
    transform: InputTransform
    scaler: torch.amp.GradScaler | None
    train_loader: DataLoader[Any]
    val_loader: DataLoader[Any]
    sampler: TrainSampler
    steps_per_epoch: int
    total_steps: int
    best_key: str
    labels: tuple[str, ...]
    first_validated: int = 0


class Trainer:
    """One training run: :meth:`setup`, then :meth:`run` (which calls setup)."""

    def __init__(self, config: TrainConfig, events: EventSink) -> None:
        # A copy: setup() fills in what the run resolves (model options of the checkpoint, the
        # input size, mean/std) and the caller's config must stay what it asked for.
        self.config = copy.deepcopy(config)
        self.events = events
        self.run_dir = Path(config.run_dir)
        self.rank = dist.rank()
        self.world = dist.world_size()
        self.main = self.rank == 0
        self.log = events.log
        self.state = RunState()
        self.parent: str | None = None
        self.device = torch.device("cpu")
        self.threads = 1
        self._threads_checked = 0.0
        self.mean: list[float] = []
        self.std: list[float] = []
        self.data: PreparedData | None = None
        self.normalization = "measured"
        self.model_options: dict[str, Any] = {}

    # --- setup -------------------------------------------------------------------------------
    def _load_sources(self) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """(the resumed run's last.pt, the fine-tuning parent checkpoint)."""
        resumed, parent, path, self.parent = load_sources(self.config, self.run_dir)
        if resumed is not None:  # the lineage of a resumed run is the one it started with
            self.parent = resumed.get("parent")
            self.log.info(f"resuming {self.run_dir} after epoch {int(resumed.get('epoch', 0))}")
        if parent is not None:
            self.log.info(f"fine-tuning from {path} ({parent['model']}, epoch {parent.get('epoch')})")
        return resumed, parent

    def _build_model(self, table: ClassTable, source: dict[str, Any] | None, resumed: bool) -> nn.Module:
        model, self.model_options, grown = build_model(self.config, table, source, resumed)
        if grown and self.config.head == "replace" and not resumed:
            self.log.info(
                f"head replace: everything but the classifier transferred; fresh tensors: {', '.join(grown)}"
            )
        elif grown:
            self.log.info(f"class head grown for new class(es): {', '.join(grown)}")
        return model

    def _resolve_stats(self, data: PreparedData, source: dict[str, Any] | None, resumed: bool) -> None:
        """Input mean/std: the config's, else the parent's (``normalization: inherit``, and always on
        resume), else measured on the training split."""
        config = self.config
        mean, std = config.mean, config.std
        self.normalization = "given" if mean is not None and std is not None else "measured"
        inherit = source is not None and (resumed or config.normalization == "inherit")
        if inherit and source is not None and source.get("mean") is not None:
            if mean is None or std is None:
                self.normalization = (
                    str(source.get("normalization") or "inherited")
                    if resumed
                    else "inherited from the parent model"
                )
            mean = mean if mean is not None else list(source["mean"])
            std = std if std is not None else list(source["std"])
        if mean is None or std is None:
            measured = channel_stats(data.train, config.input_channels)
            mean = mean if mean is not None else measured[0]
            std = std if std is not None else measured[1]
        channels = config.input_channels
        self.mean = [float(v) for v in (mean * channels if len(mean) == 1 else mean)]
        self.std = [float(v) for v in (std * channels if len(std) == 1 else std)]
        self.log.info(
            f"input normalisation ({self.normalization}): mean {[round(v, 4) for v in self.mean]} "
            f"std {[round(v, 4) for v in self.std]}"
        )

    def _class_weights(self, data: PreparedData) -> list[float] | None:
        config = self.config
        expected = 2 if config.binary else data.table.num_classes
        if config.class_weights == "auto":
            pixels = np.stack([s.class_pixels for s in data.train])
            if config.binary:
                pixels = np.stack([pixels[:, 0], pixels[:, 1:].sum(axis=1)], axis=1)
            weights = median_frequency_weights(pixels, pixels.sum(axis=1))
            self.log.info(f"class weights (median frequency, square root): {weights}")
            return weights
        if isinstance(config.class_weights, list):
            if len(config.class_weights) != expected:
                raise ConfigError(
                    f"class_weights has {len(config.class_weights)} values but the run has {expected} classes"
                )
            return list(config.class_weights)
        return None

    def setup(self) -> Session:
        """Device, sources, data, model, optimiser, loaders; writes split.json and config.yaml."""
        config = self.config
        self.device = select_device(config.device)
        dist.init(self.device)
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
        self._adapt_threads(initial=True)
        torch.manual_seed(config.seed)
        resumed, parent = self._load_sources()
        source = resumed or parent
        if not config.model and source is None:
            raise ConfigError("--model is required (or --init a checkpoint to fine-tune)")
        if source is not None and config.model in ("", source["model"]):
            # The same network as the checkpoint's, with its constructor options unless overridden.
            config.model = str(source["model"])
            config.model_options = {**dict(source.get("model_options") or {}), **config.model_options}
        base_table = ClassTable.from_dict(source["class_table"]) if source is not None else None
        self.data = data = prepare_data(
            config,
            base_table=base_table,
            split_file=self.run_dir / "split.json" if resumed is not None else None,
            warn=self.events.warning,
            log=self.log.info,
            threads=self.threads,
            fine_tuning=parent is not None,
        )
        if resumed is not None and base_table is not None and data.table.labels != base_table.labels:
            raise DataError(
                f"the class table changed since this run started ({list(base_table.labels)} -> "
                f"{list(data.table.labels)}); start a new run with --init instead of --resume"
            )
        self.log.info(f"classes ({data.table_source}): {describe_table(data.table)}")
        self._resolve_stats(data, source, resumed is not None)
        config.input_size = data.size
        config.mean, config.std = list(self.mean), list(self.std)
        class_weights = self._class_weights(data)
        best_key = (
            ("binary_iou" if config.binary else "miou")
            if config.best_metric == "auto"
            else config.best_metric
        )
        if best_key not in METRIC_KEYS or (best_key == "binary_iou" and not config.binary):
            raise ConfigError(f"best_metric {config.best_metric!r} is not one of {list(METRIC_KEYS)}")
        if self.main:
            save_split(data.split, self.run_dir / "split.json")
            save_yaml(config, self.run_dir / "config.yaml")

        model = self._build_model(data.table, source, resumed is not None).to(self.device)
        precision = choose_precision(config, self.device)
        if precision.channels_last:
            model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        loss_fn = build_loss(
            config.loss,
            class_weights=class_weights,
            focal_gamma=config.focal_gamma,
            bce_weight=config.bce_weight,
            dice_per_image=config.dice_per_image,
        ).to(self.device)
        optimizer = build_optimizer(config, model.parameters())
        if resumed is not None:
            self._restore_optimizer(optimizer, resumed)
            same_key = resumed.get("best_key", best_key) == best_key
            if not same_key:
                self.events.warning(
                    f"best_metric changed from {resumed.get('best_key')!r} to {best_key!r} on resume: "
                    "the best checkpoint is chosen afresh"
                )
            self.state = RunState(
                epoch=int(resumed.get("epoch", 0)),
                step=int((resumed.get("scheduler") or {}).get("step", 0)),
                best_metric=resumed.get("best_metric") if same_key else None,
                best_epoch=resumed.get("best_epoch") if same_key else None,
                metrics=dict(resumed.get("metrics") or {}),
            )
        net: nn.Module = model
        if dist.is_distributed():
            ids = [self.device.index] if self.device.type == "cuda" else None
            net = nn.parallel.DistributedDataParallel(model, device_ids=ids)
        if config.compile:
            net = torch.compile(net)  # type: ignore[assignment]
        loaders = build_loaders(data, config, self.device, self.rank, self.world)
        steps = len(loaders.train)
        if resumed is not None:
            # A run stopped mid-epoch saved the steps of the partial epoch too, but resuming
            # repeats that epoch from its start: keep the schedule where the epoch begins.
            self.state.step = self.state.epoch * steps
        labels = (BACKGROUND_LABEL, "defect") if config.binary else data.table.labels
        return Session(
            model=model,
            net=net,
            optimizer=optimizer,
            loss_fn=loss_fn,
            precision=precision,
            transform=InputTransform(self.mean, self.std, self.device, precision.channels_last),
            scaler=torch.amp.GradScaler("cuda") if precision.grad_scaler else None,
            train_loader=loaders.train,
            val_loader=loaders.val,
            sampler=loaders.sampler,
            steps_per_epoch=steps,
            total_steps=steps * config.epochs,
            best_key=best_key,
            labels=tuple(labels),
        )

    def _restore_optimizer(self, optimizer: torch.optim.Optimizer, resumed: dict[str, Any]) -> None:
        """Load the resumed optimiser state, unless the optimiser was changed on the command line."""
        before = (resumed.get("config") or {}).get("optimizer", self.config.optimizer)
        if before != self.config.optimizer:
            self.events.warning(
                f"optimizer changed from {before} to {self.config.optimizer}: its state starts afresh"
            )
            return
        try:
            optimizer.load_state_dict(resumed["optimizer"])
        except (KeyError, ValueError) as exc:
            self.events.warning(f"the saved optimizer state does not fit ({exc}): it starts afresh")

    def _adapt_threads(self, initial: bool = False) -> None:
        """Set torch's CPU threads once: ``--threads N``, else torch's default; ``auto`` adapts.

        A fixed count is the default because re-deciding it mid-run makes epoch times (and the
        GUI's ETA) jump with other people's load. ``--threads auto`` opts in to following the
        1-minute load average (:func:`trainer.runtime.threads_for_load`), re-decided at most once
        a minute at epoch starts, for a machine shared with other work.
        """
        threads = self.config.threads
        if threads != "auto":
            if initial:
                self.threads = int(threads) if threads is not None else torch.get_num_threads()
                torch.set_num_threads(self.threads)
            return
        now = time.monotonic()
        if not initial and now - self._threads_checked < 60.0:
            return
        self._threads_checked = now
        own = 0 if initial else self.threads
        load = load_average()
        chosen = threads_for_load(os.cpu_count() or 1, load, own, self.world)
        if chosen != self.threads or initial:
            if not initial:
                self.log.info(f"CPU threads {self.threads} -> {chosen} (1-minute load average {load})")
            self.threads = chosen
            torch.set_num_threads(chosen)

    # --- checkpoints -------------------------------------------------------------------------
    def _payload(self, s: Session) -> dict[str, Any]:
        assert self.data is not None
        state = {k: v.detach().cpu().clone() for k, v in s.model.state_dict().items()}
        return {
            "model": self.config.model,
            "model_options": dict(self.model_options),
            "num_classes": 1 if self.config.binary else self.data.table.num_classes,
            "state_dict": state,
            "class_table": self.data.table.to_dict(),
            "input_channels": self.config.input_channels,
            "mean": list(self.mean),
            "std": list(self.std),
            "input_size": list(self.data.size),
            "binary": self.config.binary,
            "epoch": self.state.epoch,
            "optimizer": s.optimizer.state_dict(),
            "scheduler": {"name": self.config.scheduler, "step": self.state.step},
            "best_metric": self.state.best_metric,
            "best_key": s.best_key,
            "best_epoch": self.state.best_epoch,
            "metrics": dict(self.state.metrics),
            "config": portable_config(to_dict(self.config)),
            "num_train": len(self.data.train),
            "num_val": len(self.data.val),
            "data": portable_path(self.config.data, keep=1),
            "parent": self.parent,
            "normalization": self.normalization,
            "head": self.config.head if self.config.init else None,
        }

    def _save(self, s: Session, best: bool) -> None:
        if not self.main:
            return
        payload = self._payload(s)
        path = save_checkpoint(payload, self.run_dir / LAST)
        self.events.emit(Checkpoint(path=str(path), epoch=self.state.epoch, kind="last"))
        if best:
            path = save_checkpoint(payload, self.run_dir / BEST)
            self.events.emit(Checkpoint(path=str(path), epoch=self.state.epoch, kind="best"))

    # --- the loop ----------------------------------------------------------------------------
    def _step(self, s: Session, images: torch.Tensor, masks: torch.Tensor, epoch: int) -> float:
        """One optimiser step at the scheduled learning rate (:func:`trainer.step.train_step`)."""
        config = self.config
        factor = lr_factor(config, self.state.step, s.steps_per_epoch, s.total_steps)
        for group in s.optimizer.param_groups:
            group["lr"] = config.lr * factor
        try:
            loss = train_step(
                s.net, s.loss_fn, s.optimizer, s.transform, s.precision, images, masks,
                scaler=s.scaler, grad_clip=config.grad_clip,
            )  # fmt: skip
        except NonFiniteLoss as exc:
            raise FloatingPointError(
                f"the loss became {exc.value} at epoch {epoch}: lower the learning rate "
                f"(lr {config.lr}) or check the data"
            ) from None
        self.state.step += 1
        return loss

    def train_epoch(self, s: Session, epoch: int, stop: StopWatch, clock: dict[str, float]) -> float:
        """One epoch of training steps (progress events every ``log_every``); returns the mean loss."""
        config = self.config
        s.sampler.set_epoch(epoch)
        s.net.train()
        losses: list[float] = []
        window_start, window_images = time.perf_counter(), 0
        bar = self._progress_bar(epoch, s.steps_per_epoch)
        for step, (images, masks) in enumerate(s.train_loader, start=1):
            reason = stop.requested()
            if dist.any_true(reason is not None, self.device):
                self._save(s, best=False)
                raise Cancelled(reason or "another process was stopped")
            losses.append(self._step(s, images, masks, epoch))
            window_images += len(images) * self.world
            clock["steps"] += 1
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{losses[-1]:.4f}")
            if step % config.log_every == 0 or step == s.steps_per_epoch:
                now = time.perf_counter()
                per_step = (now - clock["start"]) / clock["steps"]
                self.events.emit(
                    Progress(
                        epoch=epoch,
                        epochs=config.epochs,
                        step=step,
                        steps=s.steps_per_epoch,
                        loss=float(np.mean(losses[-config.log_every :])),
                        lr=float(s.optimizer.param_groups[0]["lr"]),
                        images_per_s=round(window_images / max(now - window_start, 1e-9), 2),
                        eta_s=round(per_step * (s.total_steps - self.state.step), 1),
                    )
                )
                window_start, window_images = now, 0
        if bar is not None:
            bar.close()
        # DDP syncs BatchNorm statistics only at the start of a forward: after the last step each
        # rank holds its own batch's. Rank 0's go everywhere before validating and saving.
        dist.broadcast_buffers(s.model)
        return float(np.mean(losses)) if losses else float("nan")

    def validate(self, s: Session, epoch: int, train_loss: float) -> bool:
        """Score the validation split, emit ``metrics``; returns True for a new best."""
        start = time.perf_counter()
        s.first_validated = s.first_validated or epoch
        matrix, val_loss = evaluate(
            s.model, s.val_loader, s.transform, s.precision, num_classes=len(s.labels), loss_fn=s.loss_fn
        )
        summary, per_class = summarize(matrix, s.labels, binary=self.config.binary)
        summary["loss"] = val_loss
        summary["train_loss"] = train_loss
        self.state.metrics = {"epoch": epoch, **summary}
        self.events.emit(Metrics(epoch=epoch, split="val", values=summary, per_class=per_class))
        value = summary[s.best_key]
        best = self.state.best_metric
        lower = s.best_key in LOWER_IS_BETTER
        improved = math.isfinite(value) and (best is None or (value < best if lower else value > best))
        if improved:
            self.state.best_metric, self.state.best_epoch = float(value), epoch
        self.log.info(
            f"epoch {epoch}/{self.config.epochs} train loss {train_loss:.4f} | val {s.best_key} {value:.4f} "
            f"mIoU {summary['miou']:.4f} mAcc {summary['macc']:.4f} mDice {summary['mdice']:.4f} "
            f"({time.perf_counter() - start:.1f} s)" + (" *best*" if improved else "")
        )
        absent = absent_classes(per_class)
        if absent and epoch == s.first_validated:
            self.log.info(f"class(es) {absent} have no pixel in the validation split: left out of the means")
        return improved

    def run(self, stop: StopWatch) -> int:
        """Set up and train; returns the exit code. Raises for bad input, cancellation and crashes."""
        s = self.setup()
        if stop.requested():
            raise Cancelled(f"{stop.requested()} before the first step")
        config = self.config
        assert self.data is not None
        self.log.info(
            f"{config.model} ({sum(p.numel() for p in s.model.parameters()):,} parameters) on {self.device} "
            f"[{s.precision.describe()}, {self.threads} thread(s), {self.world} process(es)]; "
            f"{len(self.data.train)} train / {len(self.data.val)} val images at "
            f"{self.data.size[0]}x{self.data.size[1]}, "
            f"{s.steps_per_epoch} steps/epoch x {config.epochs} epochs"
            + (f"; resumed after epoch {self.state.epoch}" if config.resume else "")
        )
        self.events.emit(
            Started(
                run_dir=str(self.run_dir),
                model=config.model,
                device=str(self.device),
                epochs=config.epochs,
                num_train=len(self.data.train),
                num_val=len(self.data.val),
                config=to_dict(config),
                resumed_from_epoch=self.state.epoch if config.resume else None,
            )
        )
        clock = {"start": time.perf_counter(), "steps": 0.0}
        for epoch in range(self.state.epoch + 1, config.epochs + 1):
            if self.device.type == "cpu":
                self._adapt_threads()
            train_loss = self.train_epoch(s, epoch, stop, clock)
            self.state.epoch = epoch
            best = False
            if epoch % config.eval_every == 0 or epoch == config.epochs:
                best = self.validate(s, epoch, train_loss)
            else:
                self.log.info(f"epoch {epoch}/{config.epochs} train loss {train_loss:.4f}")
            self._save(s, best=best)
        self._report_test(s)
        if self.main and config.export:
            self._export()
        return ExitCode.OK

    def _report_test(self, s: Session) -> None:
        """Score ``best.pt`` once on the test split (``test.txt``), for the report only: emits a
        ``metrics`` event with ``split: "test"``; model selection never sees these images."""
        assert self.data is not None
        if not self.data.test:
            return
        if dist.is_distributed():
            self.log.info("test split: score it with `defect-train evaluate` (not done under torchrun)")
            return
        from trainer.checkpoint import load_checkpoint
        from trainer.data.dataset import SegmentationDataset

        best = self.run_dir / BEST
        if best.is_file():
            s.model.load_state_dict(load_checkpoint(best)["state_dict"])
        loader: DataLoader[Any] = DataLoader(
            SegmentationDataset(self.data.test, self.config.input_channels),
            batch_size=self.config.val_batch_size or self.config.batch_size,
            collate_fn=s.val_loader.collate_fn,
        )
        matrix, _ = evaluate(s.model, loader, s.transform, s.precision, num_classes=len(s.labels))
        summary, per_class = summarize(matrix, s.labels, binary=self.config.binary)
        epoch = self.state.best_epoch or self.state.epoch
        self.events.emit(Metrics(epoch=epoch, split="test", values=summary, per_class=per_class))
        self.log.info(
            f"test split ({len(self.data.test)} image(s), best.pt of epoch {epoch}, report only): "
            f"mIoU {summary['miou']:.4f} mAcc {summary['macc']:.4f} mDice {summary['mdice']:.4f}"
        )

    def _progress_bar(self, epoch: int, steps: int) -> Any:
        """A tqdm bar on stderr when it is a terminal (the GUI reads events, not bars)."""
        if not (self.config.progress and self.main) or not sys.stderr.isatty():
            return None
        from tqdm import tqdm

        return tqdm(total=steps, desc=f"epoch {epoch}/{self.config.epochs}", file=sys.stderr, leave=False)

    def _export(self) -> None:
        """Write model.onnx + model.json through the export module (which emits ``exported``)."""
        if importlib.util.find_spec("trainer.export") is None:
            self.events.warning("trainer.export is not available: the run was not exported to ONNX")
            return
        from trainer import export

        self.log.info("exporting the best checkpoint to ONNX")
        export.export_run(self.run_dir, emit=self.events.emit)


def run_training(config: TrainConfig, *, events: EventSink | None = None) -> int:
    """Run ``config`` end to end; returns the exit code (see the module docstring). Never raises."""
    run_dir = Path(config.run_dir)
    main = dist.rank() == 0
    events = events or EventSink(None, enabled=main)
    trainer: Trainer | None = None
    together = False  # every rank finished training normally: they can meet before shutting down
    # Signals are caught from the start, so that a cancel during data loading also exits with 3.
    stop = StopWatch(run_dir)
    stop.__enter__()
    try:
        if main:
            try:
                run_dir.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigError(f"cannot create run folder {run_dir}: {exc.strerror or exc}") from None
            refuse_used_run_folder(config, run_dir)  # before attaching: the old run's files stay as they are
            (run_dir / STOP_FILE).unlink(missing_ok=True)  # a stale request from an earlier run
            events.attach(run_dir)
        setup_logging(run_dir if main else None, rank=dist.rank(), world=dist.world_size())
        trainer = Trainer(config, events)
        code = trainer.run(stop)
        state = trainer.state
        events.emit(
            Finished(status="ok", exit_code=code, best_metric=state.best_metric, best_epoch=state.best_epoch)
        )
        together = code == ExitCode.OK
        return code
    except Cancelled as exc:
        events.log.warning(f"cancelled ({exc}); last.pt holds the weights at the moment of the request")
        state = trainer.state if trainer is not None else RunState()
        events.emit(
            Finished(
                status="cancelled",
                exit_code=ExitCode.CANCELLED,
                best_metric=state.best_metric,
                best_epoch=state.best_epoch,
            )
        )
        return ExitCode.CANCELLED
    except (ConfigError, DataError, CheckpointError) as exc:
        events.error(str(exc), "bad_config" if isinstance(exc, ConfigError) else "bad_input")
        events.emit(Finished(status="failed", exit_code=ExitCode.BAD_INPUT))
        return ExitCode.BAD_INPUT
    except Exception as exc:  # a crash: report it, keep the checkpoints
        events.log.error("training crashed:\n" + traceback.format_exc())
        oom = isinstance(exc, torch.OutOfMemoryError) or "out of memory" in str(exc).lower()
        events.error(f"{type(exc).__name__}: {exc}", "out_of_memory" if oom else "crash")
        events.emit(Finished(status="failed", exit_code=ExitCode.CRASH))
        return ExitCode.CRASH
    finally:
        stop.__exit__()
        dist.shutdown(together=together)
