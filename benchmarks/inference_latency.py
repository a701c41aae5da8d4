"""Batch-1 CPU latency of the networks: torch eager vs onnxruntime fp32 vs onnxruntime int8.

    python benchmarks/inference_latency.py                      # random weights, all cases
    python benchmarks/inference_latency.py --cases zhong@480x640 --runs 100
    python benchmarks/inference_latency.py --cases zhong@480x640 \
        --onnx zhong=runs/x/model.onnx --data ../shared/datasets/aluminum/images

All variants of one case are timed **interleaved** (round-robin, rotating the order each round),
so a colleague's job slowing the shared CPU slows all of them alike; median and p90 of
``--runs`` timed calls after ``--warmup`` calls each. Variants:

* torch eager fp32 (NCHW and channels_last), torch bf16 autocast with ``--bf16``;
* onnxruntime fp32 on the plain network exported by the trainer's exporter
  (:func:`trainer.export.to_onnx`: dynamo, opset 18, dynamic batch/H/W);
* onnxruntime fp32 on ``optimize_for_inference`` exports (``trainer/models/inference.py``):
  "optimised" = BN folded into the transposed convs, few-channel conv + 1x1 conv pairs merged,
  1x1 transposed convs as convs (what ``defect-train export`` writes); "sub-pixel" = the same
  plus stride-2 transposed convs as conv + DepthToSpace (an option of the same function);
* onnxruntime int8 of each export through the trainer's quantiser
  (:func:`trainer.quantize.quantize_model`: QDQ, per-channel int8 weights, uint8 activations,
  MinMax calibration on ``--calib`` images run through the app's pre-processing: random images,
  or real ones from ``--data``).

Every model file is written as ``defect-train export`` writes it (card embedded), so the
benchmark measures the shipped export and quantisation, not copies of them.

The session options (threads, graph optimisation level, execution mode, thread spinning) are
first searched on the fp32 export with short interleaved runs; the best set is used for all
onnxruntime rows. "x bound" = median / (model FLOPs / measured fp32 GEMM peak), the factor above
the pure compute bound; "cpu ms" = process CPU time per call (all threads), which for a
single-threaded session approximates its latency on an idle machine. Weights are random
(BatchNorm statistics taken from one random batch so that activations have realistic scale)
unless ``--onnx`` gives trained exports.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import onnxruntime as ort
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gemm_peak import measure_bandwidth, measure_gemm_flops

from inspector_app.core.classes import ClassTable
from inspector_app.core.images import IMAGE_SUFFIXES
from inspector_app.core.modelcard import ModelCard, read_card
from trainer.export import to_onnx
from trainer.flops import count_cost
from trainer.models import create_model
from trainer.models.inference import optimize_for_inference
from trainer.onnxfile import model_content_id, write_model_atomic
from trainer.quantize import quantize_model

DEFAULT_CASES = ("zhong@480x640", "anet@224x224", "anet@512x512")
Runner = Callable[[], Any]


def parse_case(text: str) -> tuple[str, tuple[int, int]]:
    """``zhong@480x640`` -> ("zhong", (480, 640))."""
    name, _, size = text.partition("@")
    height, _, width = size.partition("x")
    return name, (int(height), int(width))


def calibrate_batchnorm(model: nn.Module, size: int = 256) -> nn.Module:
    """BN running statistics from one random batch (random init BNs are identities), eval mode."""
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None
    model.train()
    with torch.no_grad():
        model(torch.randn(4, 3, size, size, generator=torch.Generator().manual_seed(1)))
    return model.eval()


#: Input normalisation of the synthetic cards (the aluminium set's statistics).
MEAN, STD = 0.1633, 0.2432


def bench_card(name: str, outputs: int) -> ModelCard:
    """A model card for a random-weight network with ``outputs`` logits."""
    table = ClassTable.from_labels([f"class_{i}" for i in range(1, max(2, outputs))])
    return ModelCard(
        name=name,
        architecture=name,
        class_table=table,
        input_channels=3,
        mean=(MEAN,) * 3,
        std=(STD,) * 3,
        output="sigmoid" if outputs == 1 else "softmax",
    )


def export(model: nn.Module, path: Path, card: ModelCard) -> Path:
    """``model`` through the trainer's exporter, written with its card as the trainer writes it."""
    proto = to_onnx(model, input_channels=3)
    final = card.replace(model_id=model_content_id(proto))
    write_model_atomic(proto, path, lambda _checked: final, lambda _path: None)
    return path


def calibration_files(folder: Path | None, count: int, size: tuple[int, int], target: Path) -> list[Path]:
    """``count`` image files for int8 calibration: real ones from ``folder``, or random PNGs."""
    if folder is not None:
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise SystemExit(f"no images in {folder}")
        return files[:count]
    target.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    paths = []
    for index in range(count):
        path = target / f"calib_{index:02d}.png"
        cv2.imwrite(str(path), rng.integers(0, 256, (*size, 3), dtype=np.uint8))
        paths.append(path)
    return paths


def load_image(folder: Path | None, size: tuple[int, int], card: ModelCard) -> np.ndarray:
    """One network input (1x3xHxW float32) normalised with ``card``'s mean/std: the first image
    of ``folder`` resized to ``size``, or uniform random pixels."""
    mean = np.asarray(card.mean, np.float32).reshape(1, -1, 1, 1)
    std = np.asarray(card.std, np.float32).reshape(1, -1, 1, 1)
    if folder is None:
        pixels = np.random.default_rng(0).random((1, 3, *size), dtype=np.float32)
        return np.ascontiguousarray((pixels - mean) / std)
    from inspector_app.core.images import read_image

    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise SystemExit(f"no images in {folder}")
    image = read_image(files[0])
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    image = cv2.resize(image[..., :3], (size[1], size[0]), interpolation=cv2.INTER_AREA)
    scale = 65535.0 if image.dtype == np.uint16 else 255.0
    pixels = image.astype(np.float32).transpose(2, 0, 1)[None] / scale
    return np.ascontiguousarray((pixels - mean) / std)


@dataclass(frozen=True)
class SessionConfig:
    """onnxruntime session options that matter on a small CPU."""

    threads: int
    level: str  # BASIC | EXTENDED | ALL
    parallel: bool
    spinning: bool

    def label(self) -> str:
        return (
            f"threads={self.threads} opt={self.level} "
            f"{'parallel' if self.parallel else 'sequential'} spin={'on' if self.spinning else 'off'}"
        )

    def options(self) -> ort.SessionOptions:
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 2 if self.parallel else 1
        options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, f"ORT_ENABLE_{self.level}")
        options.execution_mode = (
            ort.ExecutionMode.ORT_PARALLEL if self.parallel else ort.ExecutionMode.ORT_SEQUENTIAL
        )
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if self.spinning else "0")
        return options


def session_runner(path: Path, config: SessionConfig, image: np.ndarray) -> Runner:
    session = ort.InferenceSession(str(path), config.options(), providers=["CPUExecutionProvider"])
    return lambda: session.run(None, {"image": image})[0]


def torch_runner(
    model: nn.Module, image: np.ndarray, *, channels_last: bool = False, bf16: bool = False
) -> Runner:
    x = torch.from_numpy(image)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        x = x.contiguous(memory_format=torch.channels_last)

    def run() -> np.ndarray:
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            return model(x).float().contiguous().numpy()

    return run


def time_interleaved(
    runners: dict[str, Runner], runs: int, warmup: int, cpu: dict[str, list[float]] | None = None
) -> dict[str, np.ndarray]:
    """Wall seconds per call of each runner, measured round-robin with a rotating order.

    ``cpu`` (optional) receives the process CPU seconds of each call (all threads): for a
    single-threaded session that is close to its latency on an idle machine.
    """
    names = list(runners)
    for name in names:
        for _ in range(warmup):
            runners[name]()
    times: dict[str, list[float]] = {name: [] for name in names}
    for i in range(runs):
        order = names[i % len(names) :] + names[: i % len(names)]
        for name in order:
            start, start_cpu = time.perf_counter(), time.process_time()
            runners[name]()
            times[name].append(time.perf_counter() - start)
            if cpu is not None:
                cpu.setdefault(name, []).append(time.process_time() - start_cpu)
    return {name: np.asarray(values) for name, values in times.items()}


def search_session_options(
    path: Path, image: np.ndarray, threads: int, runs: int
) -> list[tuple[SessionConfig, float]]:
    """Median seconds of a small grid of session options, best first."""
    configs = [
        SessionConfig(t, level, False, spin)
        for t in sorted({1, threads})
        for level in ("BASIC", "ALL")
        for spin in (True, False)
    ]
    configs.append(SessionConfig(threads, "ALL", True, True))
    configs.append(SessionConfig(threads, "EXTENDED", False, True))
    runners = {c.label(): session_runner(path, c, image) for c in configs}
    times = time_interleaved(runners, runs, warmup=3)
    ranked = sorted(((c, float(np.median(times[c.label()]))) for c in configs), key=lambda r: r[1])
    return ranked


def top_ops(
    path: Path, config: SessionConfig, image: np.ndarray, count: int = 6
) -> list[tuple[str, str, float]]:
    """The slowest nodes of one session (median microseconds over 20 runs)."""
    options = config.options()
    options.enable_profiling = True
    with tempfile.TemporaryDirectory() as folder:
        options.profile_file_prefix = str(Path(folder) / "profile")
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        for _ in range(20):
            session.run(None, {"image": image})
        events = json.loads(Path(session.end_profiling()).read_text())
    per_node: dict[tuple[str, str], list[float]] = {}
    for event in events:
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            key = (event["name"][: -len("_kernel_time")], event["args"].get("op_name", "?"))
            per_node.setdefault(key, []).append(float(event["dur"]))
    rows = sorted(
        ((name, op, float(np.median(v))) for (name, op), v in per_node.items()), key=lambda r: -r[2]
    )
    return rows[:count]


def agreement(reference: np.ndarray, output: np.ndarray) -> str:
    """Max |diff| and per-pixel decision agreement (argmax, or sign for one class)."""
    diff = float(np.abs(reference - output).max())
    if reference.shape[1] == 1:
        same = float(np.mean((reference > 0) == (output > 0)))
    else:
        same = float(np.mean(reference.argmax(1) == output.argmax(1)))
    return f"{diff:9.2e} {100 * same:7.2f}%"


def run_case(
    name: str,
    size: tuple[int, int],
    args: argparse.Namespace,
    folder: Path,
    peak: float,
    bandwidth: float,
    cache: dict[str, dict[str, Path]],
) -> None:
    """Measure and print one (model, size) case."""
    onnx_given: Path | None = args.onnx.get(name)
    model: nn.Module | None = None
    if onnx_given is None:
        torch.manual_seed(0)
        model = calibrate_batchnorm(create_model(name))
        card = bench_card(name, int(getattr(model, "num_classes", 1)))
    else:
        card = read_card(onnx_given)
    image = load_image(args.data, size, card)
    if name not in cache:  # exports have dynamic H/W: once per network
        paths: dict[str, Path] = {}
        if onnx_given is not None:
            paths["fp32"] = onnx_given
        else:
            assert model is not None
            paths["fp32"] = export(model, folder / f"{name}.onnx", card)
            paths["fp32 optimised"] = export(optimize_for_inference(model), folder / f"{name}_opt.onnx", card)
            paths["fp32 sub-pixel"] = export(
                optimize_for_inference(model, subpixel=True), folder / f"{name}_subpixel.onnx", card
            )
        if not args.no_int8:
            calib = calibration_files(args.data, args.calib, size, folder / f"calib_{name}")
            for key in list(paths):
                target = folder / f"{paths[key].stem}_int8.onnx"
                quantize_model(paths[key], target, calib)
                paths[key.replace("fp32", "int8 QDQ")] = target
        cache[name] = paths
    paths = cache[name]

    ranked = search_session_options(paths["fp32"], image, args.threads, args.search_runs)
    best = ranked[0][0]
    print(
        f"\n## {name} @ {size[0]}x{size[1]}  (session options searched on the fp32 export, "
        f"{args.search_runs} interleaved runs each)"
    )
    for config, seconds in ranked:
        print(f"   {config.label():<48}{seconds * 1e3:9.2f} ms")

    variants: dict[str, Runner] = {}
    if model is not None:
        # same thread count as the best onnxruntime set unless told: on a loaded machine a
        # 2-thread OpenMP region waits for its descheduled thread at every barrier
        torch.set_num_threads(args.torch_threads or best.threads)
        suffix = f" ({torch.get_num_threads()} thr)"
        variants["torch eager fp32" + suffix] = torch_runner(model, image)
        variants["torch fp32 channels_last" + suffix] = torch_runner(_copy(model), image, channels_last=True)
        if args.bf16:
            variants["torch bf16 autocast" + suffix] = torch_runner(_copy(model), image, bf16=True)
    for key, path in paths.items():
        variants[f"ort {key}"] = session_runner(path, best, image)
    cpu: dict[str, list[float]] = {}
    times = time_interleaved(variants, args.runs, args.warmup, cpu)

    cost = count_cost(create_model(name), size) if model is not None else None
    flops = cost.flops if cost is not None else None
    bound = flops / peak if flops is not None else None
    reference = next(iter(variants.values()))()  # torch eager fp32, or ort fp32 with --onnx
    print(f"   best options: {best.label()}; load average {os.getloadavg()[0]:.2f}")
    if cost is not None and bound is not None:
        traffic = sum(
            4 * (int(np.prod(layer.input_shape)) + int(np.prod(layer.output_shape))) for layer in cost.layers
        )
        print(
            f"   cost {cost.macs / 1e9:.3f} GMAC = {cost.flops / 1e9:.3f} GFLOP -> compute bound "
            f"{bound * 1e3:.2f} ms "
            f"at {peak / 1e9:.0f} GFLOP/s; conv in+out traffic {traffic / 1e6:.0f} MB -> "
            f"{traffic / bandwidth * 1e3:.2f} ms at {bandwidth / 1e9:.0f} GB/s"
        )
    print(
        f"   {'variant':<32}{'median ms':>10}{'p90 ms':>8}{'min ms':>8}{'cpu ms':>8}{'x bound':>8}"
        f"{'max|diff|':>10}{'agree':>9}"
    )
    for label, samples in times.items():
        median, p90 = float(np.median(samples)), float(np.percentile(samples, 90))
        cpu_median = float(np.median(cpu[label]))
        ratio = f"{median / bound:8.1f}" if bound else f"{'-':>8}"
        match = agreement(reference, variants[label]())
        print(
            f"   {label:<32}{median * 1e3:10.2f}{p90 * 1e3:8.2f}{samples.min() * 1e3:8.2f}"
            f"{cpu_median * 1e3:8.2f}{ratio} {match}"
        )
    if args.profile:
        for path_key in [k for k in ("fp32", "fp32 optimised", "fp32 sub-pixel") if k in paths]:
            print(f"   slowest nodes, ort {path_key} ({best.label()}):")
            for node, op, micros in top_ops(paths[path_key], best, image):
                print(f"      {micros / 1e3:7.2f} ms  {op:<16} {node}")


def _copy(model: nn.Module) -> nn.Module:
    import copy

    return copy.deepcopy(model).eval()


def main(argv: list[str] | None = None) -> int:
    """Run the cases and print the tables."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", default=",".join(DEFAULT_CASES), help="comma list of name@HxW")
    parser.add_argument("--runs", type=int, default=50, help="timed calls per variant (default 50)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed calls per variant first")
    parser.add_argument("--search-runs", type=int, default=15, help="timed calls per session-option set")
    parser.add_argument("--threads", type=int, default=2, help="most threads to try (default 2)")
    parser.add_argument(
        "--torch-threads", type=int, default=0, help="torch threads (default: the best onnxruntime count)"
    )
    parser.add_argument("--calib", type=int, default=8, help="calibration images for int8")
    parser.add_argument("--data", type=Path, default=None, help="folder of real images (calibration + input)")
    parser.add_argument(
        "--onnx",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="use this trained export for network NAME (repeatable)",
    )
    parser.add_argument("--no-int8", action="store_true", help="skip the int8 variants")
    parser.add_argument(
        "--bf16", action="store_true", help="add torch bf16 autocast (no AMX here: slower than fp32)"
    )
    parser.add_argument("--profile", action="store_true", help="print the slowest onnxruntime nodes")
    parser.add_argument(
        "--peak", type=float, default=None, help="fp32 GEMM peak in GFLOP/s (default: measure now)"
    )
    args = parser.parse_args(argv)
    args.onnx = {k: Path(v) for k, _, v in (item.partition("=") for item in args.onnx)}
    torch.set_num_threads(args.threads)
    ort.set_default_logger_severity(3)

    # best-of over many short products: on a shared machine some run uncontended
    peak = args.peak * 1e9 if args.peak else max(measure_gemm_flops(2048, 10), measure_gemm_flops(1024, 40))
    bandwidth = measure_bandwidth()
    print(
        f"# {args.threads} threads; measured fp32 GEMM peak {peak / 1e9:.0f} GFLOP/s, copy bandwidth "
        f"{bandwidth / 1e9:.1f} GB/s; load average {os.getloadavg()[0]:.2f}; "
        f"{args.runs} interleaved runs per variant; weights {'trained' if args.onnx else 'random'}; "
        f"inputs {'from ' + str(args.data) if args.data else 'random'}"
    )
    cache: dict[str, dict[str, Path]] = {}
    with tempfile.TemporaryDirectory() as folder:
        for case in args.cases.split(","):
            name, size = parse_case(case.strip())
            run_case(name, size, args, Path(folder), peak, bandwidth, cache)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
