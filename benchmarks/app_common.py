"""Shared helpers of the app benchmarks: a Zhong-structure ONNX model and synthetic image folders.

The model is, in order of preference: ``$DEFECT_INSPECTOR_BENCH_MODEL``,
``resources/models/aluminum_zhong.onnx`` (the trained one),
else a random-weight export of the trainer's ``zhong`` network (same graph and cost, so the speed is
the real one; needs torch), else the tiny conv1x1 test model (then the figures are NOT the Zhong
net's: the benchmark says so).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from inspector_app.core.classes import ClassTable  # noqa: E402
from inspector_app.core.modelcard import METADATA_KEY, ModelCard  # noqa: E402

TRAINED = REPO / "resources" / "models" / "aluminum_zhong.onnx"


def zhong_model(cache_dir: Path) -> tuple[Path, str]:
    """(path, description) of a model with the Zhong structure (see the module docstring).

    ``$DEFECT_INSPECTOR_BENCH_MODEL`` names another ONNX file to use instead.
    """
    override = os.environ.get("DEFECT_INSPECTOR_BENCH_MODEL")
    if override:
        return Path(override), f"{override} (from DEFECT_INSPECTOR_BENCH_MODEL)"
    if TRAINED.is_file():
        return TRAINED, "trained aluminum_zhong.onnx"
    target = cache_dir / "zhong_random.onnx"
    if target.is_file():
        return target, "random-weight export of trainer 'zhong' (same graph as the trained one)"
    try:
        import onnx
        import torch

        from trainer.export import to_onnx
        from trainer.models.registry import create_model
    except ImportError:
        from tests import onnx_factory

        path = onnx_factory.rgb4(cache_dir / "conv1x1.onnx")
        return path, "conv1x1 test model (torch absent: NOT the Zhong network)"
    torch.manual_seed(0)
    net = create_model("zhong", num_classes=5)
    proto = to_onnx(net, input_channels=3)
    table = ClassTable.load(REPO / "resources" / "demo" / "classes.yaml")
    card = ModelCard(
        name="Zhong (random weights, benchmark)",
        architecture="zhong",
        class_table=table,
        input_channels=3,
        mean=(0.1633,) * 3,
        std=(0.2432,) * 3,
        model_id="bench-zhong-random",
    )
    proto.metadata_props.add(key=METADATA_KEY, value=card.to_json(indent=None))
    cache_dir.mkdir(parents=True, exist_ok=True)
    onnx.save(proto, str(target))
    return target, "random-weight export of trainer 'zhong' (same graph as the trained one)"


def synthetic_folder(root: Path, count: int, size: tuple[int, int] = (480, 640), *, seed: int = 0) -> Path:
    """``count`` PNG images of ``size`` (H, W) with texture and blobs; reuses an existing folder."""
    root.mkdir(parents=True, exist_ok=True)
    existing = len([n for n in os.listdir(root) if n.endswith(".png")])
    if existing >= count:
        return root
    rng = np.random.default_rng(seed)
    h, w = size
    base = cv2.GaussianBlur(rng.integers(90, 170, (h, w), dtype=np.uint8), (0, 0), 3)
    for i in range(existing, count):
        image = np.roll(base, i * 7, axis=1).copy()
        for _ in range(3):
            cy, cx = int(rng.integers(20, h - 20)), int(rng.integers(20, w - 20))
            cv2.circle(image, (cx, cy), int(rng.integers(3, 15)), int(rng.integers(0, 60)), -1)
        rgb = cv2.merge([image, image, image])
        cv2.imwrite(str(root / f"img_{i:05d}.png"), rgb, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    return root


def rss_mb() -> float:
    """Resident memory of this process in MiB (Linux /proc; psutil is not a dependency)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def median(values: list[float]) -> float:
    """Median of a non-empty list."""
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def now() -> float:
    """Monotonic seconds."""
    return time.perf_counter()
