"""``defect-train devices``: what a training job would run on, for the station's job panel.

Prints the CUDA GPUs (name, free and total memory) or the CPU (cores, the threads training would
use now), and with ``--warmup MODEL`` a short measured warm-up: a few real training steps
(forward, backward, optimiser step) of that network at ``--size``, giving seconds per image, so
that a caller can say "CPU, about N min" before starting a job. ``--json`` prints one JSON object
(the station reads it through a subprocess and never imports torch itself). Exit codes: 0 ok,
2 bad arguments (unknown model, bad size).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

from inspector_app.core.protocol import ExitCode


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``devices`` subcommand."""
    parser = subparsers.add_parser(
        "devices",
        help="list CUDA GPUs (free memory) or the CPU, optionally with a measured warm-up",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--warmup", metavar="MODEL", help="measure seconds per training image of MODEL")
    parser.add_argument("--size", default="480x640", help="warm-up input size H x W [480x640]")
    parser.add_argument("--classes", type=int, default=4, help="warm-up classes incl. background [4]")
    parser.add_argument("--batch-size", type=int, default=2, help="warm-up images per step [2]")
    parser.add_argument("--steps", type=int, default=2, help="timed warm-up steps (after one untimed) [2]")
    parser.add_argument("--device", default="auto", help="warm-up device: auto | cpu | cuda[:N] [auto]")
    parser.set_defaults(func=run)


def probe_devices() -> dict[str, Any]:
    """The machine as a training job would see it (JSON-ready)."""
    import torch

    from trainer.runtime import load_average, threads_for_load

    cores = os.cpu_count() or 1
    info: dict[str, Any] = {
        "torch": torch.__version__,
        "cuda_available": torch.cuda.is_available(),
        "cpu": {"cores": cores, "threads_now": threads_for_load(cores, load_average(), 0, 1)},
        "gpus": [],
    }
    if torch.cuda.is_available():
        for index in range(torch.cuda.device_count()):
            free, total = torch.cuda.mem_get_info(index)
            info["gpus"].append(
                {
                    "index": index,
                    "name": torch.cuda.get_device_name(index),
                    "free_bytes": int(free),
                    "total_bytes": int(total),
                }
            )
    info["default_device"] = "cuda:0" if info["gpus"] else "cpu"
    return info


def warmup(
    model_name: str, size: tuple[int, int], *, classes: int, batch_size: int, steps: int, device: str
) -> dict[str, Any]:
    """Seconds per training image of ``model_name`` at ``size``, measured over ``steps`` steps."""
    import torch

    from trainer.models import create_model
    from trainer.runtime import select_device

    dev = select_device(device)
    if dev.type == "cpu":
        from trainer.runtime import load_average, threads_for_load

        torch.set_num_threads(threads_for_load(os.cpu_count() or 1, load_average(), 0, 1))
    torch.manual_seed(0)
    model = create_model(model_name, num_classes=classes).to(dev).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-4)
    x = torch.randn(batch_size, 3, *size, device=dev)
    target = torch.randint(0, classes, (batch_size, *size), device=dev)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        loss_fn(model(x), target).backward()
        optimizer.step()

    step()  # allocation, kernel selection: not representative
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    elapsed = time.perf_counter() - start
    return {
        "model": model_name,
        "size": list(size),
        "device": str(dev),
        "threads": torch.get_num_threads(),
        "images": steps * batch_size,
        "seconds_per_image": elapsed / (steps * batch_size),
    }


def run(args: argparse.Namespace) -> int:
    """Print the probe (and warm-up); returns the exit code."""
    from trainer.config import ConfigError, _check_size, _size

    info = probe_devices()
    if args.warmup:
        from trainer.models import list_models

        try:
            size = _size(args.size)
            assert size is not None
            _check_size("--size", size)
        except (ValueError, AssertionError, ConfigError) as exc:
            print(f"defect-train devices: {exc}", file=sys.stderr)
            return ExitCode.BAD_INPUT
        if args.warmup not in list_models():
            print(
                f"defect-train devices: unknown model {args.warmup!r}; known: {', '.join(list_models())}",
                file=sys.stderr,
            )
            return ExitCode.BAD_INPUT
        if min(args.steps, args.batch_size, args.classes - 1) < 1:
            print(
                "defect-train devices: --steps and --batch-size must be >= 1, --classes >= 2", file=sys.stderr
            )
            return ExitCode.BAD_INPUT
        info["warmup"] = warmup(
            args.warmup,
            size,
            classes=args.classes,
            batch_size=args.batch_size,
            steps=args.steps,
            device=args.device,
        )
    if args.json:
        print(json.dumps(info), flush=True)
        return ExitCode.OK
    for gpu in info["gpus"]:
        print(
            f"cuda:{gpu['index']} {gpu['name']}: {gpu['free_bytes'] / 2**30:.1f} GiB free "
            f"of {gpu['total_bytes'] / 2**30:.1f} GiB"
        )
    if not info["gpus"]:
        print(
            f"CPU: {info['cpu']['cores']} core(s), training would use {info['cpu']['threads_now']} thread(s)"
        )
    if "warmup" in info:
        w = info["warmup"]
        print(
            f"warm-up {w['model']} at {w['size'][0]}x{w['size'][1]} on {w['device']}: "
            f"{w['seconds_per_image']:.3f} s per training image"
        )
    return ExitCode.OK
