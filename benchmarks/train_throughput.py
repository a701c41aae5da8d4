"""Training throughput (images/s) of the engine's real training step, per network and CPU setting.

Times the engine's own step function, :func:`trainer.step.train_step` (uint8 batch ->
:class:`InputTransform` -> forward under the chosen :class:`Precision` -> the configured loss ->
backward -> optimiser step), on synthetic batches, so the numbers are about compute, not disk.
Modes:

* ``fp32``     - plain float32, NCHW
* ``cl``       - channels-last memory format
* ``bf16``     - bfloat16 autocast (loss in float32)
* ``cl_bf16``  - both
* ``compile``  - torch.compile (inductor) on top of fp32 (slow first step, excluded from timing)

Modes are interleaved round by round and each is reported by its best and median round, because
the project's machine is shared (other people's jobs come and go): the best round is the closest
to an idle machine, the median says what to expect under load. ``--data DIR`` also times the data
pipeline alone (decoded dataset + augmentation + collation, no network) to show it is not the
bottleneck.

Usage::

    python benchmarks/train_throughput.py                      # zhong 480x640 + anet 512x512
    python benchmarks/train_throughput.py --models zhong --modes fp32,bf16 --rounds 5
    python benchmarks/train_throughput.py --data ../shared/datasets/aluminum --models zhong
    python benchmarks/train_throughput.py --models anet,zhong,unet --binary --size 224x224 --batch 8

The relative figures measured on the project's 2-core AVX-512 Xeon (avx512_bf16; no AMX visible)
and the defaults chosen from them are in the docstring of :mod:`trainer.runtime`; rerun to
compare on another machine. Under load from other processes use ``--threads 1``: two OpenMP
threads on two busy cores lose far more to waiting than they gain.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trainer.config import TrainConfig
from trainer.losses import build_loss
from trainer.models import create_model
from trainer.runtime import InputTransform, Precision
from trainer.schedule import build_optimizer
from trainer.step import train_step


@dataclass(frozen=True)
class Workload:
    """One network as it is trained: input size, outputs, loss, optimiser."""

    model: str
    size: tuple[int, int]
    outputs: int
    loss: str
    optimizer: str
    class_weights: tuple[float, ...] | None = None


WORKLOADS = {
    # Zhong et al.: 480x640, 5 classes, weighted CE, Adam (the paper's recipe)
    "zhong": Workload("zhong", (480, 640), 5, "ce", "adam", (0.1, 0.2, 0.2, 0.2, 0.3)),
    # Chen et al. A-Net on magnetic tile: 512x512 (data README), one logit, Dice + 0.5 BCE, SGD
    "anet": Workload("anet", (512, 512), 1, "dice_bce", "sgd"),
    # the U-Net baseline of the registry at the aluminium size
    "unet": Workload("unet", (480, 640), 5, "ce", "adam"),
    "zhong_baseline": Workload("zhong_baseline", (480, 640), 5, "ce", "adam", (0.1, 0.2, 0.2, 0.2, 0.3)),
}
MODES = {
    "fp32": Precision(None, channels_last=False, grad_scaler=False),
    "cl": Precision(None, channels_last=True, grad_scaler=False),
    "bf16": Precision(torch.bfloat16, channels_last=False, grad_scaler=False),
    "cl_bf16": Precision(torch.bfloat16, channels_last=True, grad_scaler=False),
    "compile": Precision(None, channels_last=False, grad_scaler=False),
}


def make_step(work: Workload, mode: str, batch: int) -> Callable[[], None]:
    """A closure running the engine's training step (:func:`trainer.step.train_step`) in ``mode``.

    The network, optimiser, loss and input transform come from the trainer's own builders, on a
    fixed synthetic batch; ``compile`` wraps the network in ``torch.compile`` as ``compile: true``
    does in the engine.
    """
    torch.manual_seed(0)
    precision = MODES[mode]
    model = create_model(work.model, num_classes=work.outputs)
    if precision.channels_last:
        model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    config = TrainConfig(optimizer=work.optimizer, lr=1e-4)
    optimizer = build_optimizer(config, model.parameters())
    loss_fn = build_loss(work.loss, class_weights=work.class_weights)
    net: torch.nn.Module = torch.compile(model) if mode == "compile" else model  # type: ignore[assignment]
    device = torch.device("cpu")
    transform = InputTransform([0.2] * 3, [0.25] * 3, device, precision.channels_last)
    h, w = work.size
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (batch, 3, h, w), dtype=torch.uint8, generator=generator)
    masks = torch.randint(0, max(2, work.outputs), (batch, h, w), dtype=torch.uint8, generator=generator)
    net.train()

    def step() -> None:
        train_step(net, loss_fn, optimizer, transform, precision, images, masks)

    return step


def time_data_pipeline(data: Path, batches: int, batch: int) -> float:
    """Images/s of the training DataLoader alone (decoded data, recommended augmentation)."""
    from torch.utils.data import DataLoader

    from trainer.data import (
        Augmenter,
        AugmentParams,
        SegmentationDataset,
        TrainSampler,
        collate,
        prepare_data,
    )

    config = TrainConfig(data=str(data), run_dir="", hflip=0.5, vflip=0.5, brightness=0.1, contrast=0.1)
    prepared = prepare_data(config)
    dataset = SegmentationDataset(prepared.train, 3, Augmenter(AugmentParams.from_config(config)))
    sampler = TrainSampler(dataset, num_samples=batches * batch)
    loader = DataLoader(dataset, batch_size=batch, sampler=sampler, collate_fn=collate)  # 3 channels
    transform = InputTransform([0.2] * 3, [0.25] * 3, torch.device("cpu"), False)
    start = time.perf_counter()
    count = 0
    for images, _masks in loader:
        transform(images)
        count += len(images)
    return count / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", default="zhong,anet", help="comma-separated: " + ", ".join(WORKLOADS))
    parser.add_argument(
        "--modes", default="fp32,cl,bf16,cl_bf16", help="comma-separated: " + ", ".join(MODES)
    )
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--steps", type=int, default=5, help="timed steps per round")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--data", type=Path, default=None, help="also time the data pipeline on this dataset")
    parser.add_argument("--size", default=None, help="override the input size, e.g. 256x256")
    parser.add_argument(
        "--binary",
        action="store_true",
        help="every network with one logit, Dice + 0.5 BCE and AdamW (the magnetic tile recipe)",
    )
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    models = [m for m in args.models.split(",") if m]
    modes = [m for m in args.modes.split(",") if m]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch}", flush=True)
    if args.data is not None:
        rate = time_data_pipeline(args.data, batches=30, batch=args.batch)
        print(
            f"data pipeline alone ({args.data.name}, flips + brightness/contrast): {rate:.0f} images/s",
            flush=True,
        )
    for name in models:
        work = WORKLOADS[name]
        if args.size:
            h, w = (int(v) for v in args.size.lower().split("x"))
            work = dataclasses.replace(work, size=(h, w))
        if args.binary:
            work = dataclasses.replace(
                work, outputs=1, loss="dice_bce", optimizer="adamw", class_weights=None
            )
        steps = {}
        for mode in modes:
            steps[mode] = make_step(work, mode, args.batch)
            for _ in range(2):  # warm-up (oneDNN primitive creation, compilation)
                steps[mode]()
        rates: dict[str, list[float]] = {mode: [] for mode in modes}
        for _ in range(args.rounds):
            for mode in modes:
                start = time.perf_counter()
                for _ in range(args.steps):
                    steps[mode]()
                rates[mode].append(args.steps * args.batch / (time.perf_counter() - start))
        h, w = work.size
        print(f"\n{name} at {h}x{w}, loss {work.loss}, {work.optimizer}: training images/s")
        print(f"  {'mode':<9} {'best':>7} {'median':>7}   rounds")
        base = max(rates[modes[0]])
        for mode in modes:
            best, median = max(rates[mode]), statistics.median(rates[mode])
            rounds = " ".join(f"{r:.1f}" for r in rates[mode])
            print(
                f"  {mode:<9} {best:7.1f} {median:7.1f}   {rounds}   (best x{best / base:.2f} vs {modes[0]})"
            )
        winner = max(modes, key=lambda m: max(rates[m]))
        print(f"  fastest: {winner}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
