"""ONNX export of trainer checkpoints: parity with PyTorch, dynamic sizes, the embedded card.

Checkpoints are built here following docs/api-contract.md, from the real registered networks
with random weights whose BatchNorm statistics are set from a real batch (fresh BNs are
identities and make deep random nets output almost nothing, which would make a parity check
vacuous). The default (dynamo) exporter is used for the zhong and anet exports; the faster
TorchScript exporter only where the test is about the run folder or the CLI.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
import torch

from inspector_app.core.classes import ClassInfo, ClassTable
from inspector_app.core.modelcard import ModelCard, read_card, sidecar_path
from inspector_app.core.predictor import Predictor
from inspector_app.core.protocol import Event, Exported, from_line, read_events
from tests import onnx_factory as factory
from trainer import cmd_export
from trainer.checkpoint import model_from_checkpoint
from trainer.export import (
    PARITY_TOLERANCE,
    ExportError,
    ExportResult,
    check_dynamic_input,
    check_parity,
    export_checkpoint,
    export_run,
)
from trainer.models import create_model
from trainer.onnxfile import model_content_id

FIVE_CLASSES = ClassTable(
    (
        ClassInfo(0, "_background_", "background", (0, 0, 0)),
        ClassInfo(1, "zhe_zhou", "wrinkling", (230, 25, 75)),
        ClassInfo(2, "ca_shang", "abrasion", (60, 180, 75), line_width=10, draw_as="polyline"),
        ClassInfo(3, "zang_wu", "contamination", (255, 225, 25)),
        ClassInfo(4, "zhen_kong", "pinhole", (67, 99, 216)),
    )
)
MT_CLASSES = ClassTable.from_labels(["blowhole", "break", "crack", "fray", "uneven"])


def calibrate_batchnorm(model: torch.nn.Module, sample: torch.Tensor) -> torch.nn.Module:
    """Set every BN's running statistics to those of ``sample`` (one cumulative pass), then eval."""
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None
    model.train()
    with torch.no_grad():
        model(sample)
    return model.eval()


def make_checkpoint(
    path: Path,
    name: str,
    *,
    num_classes: int,
    in_channels: int = 3,
    table: ClassTable | None = None,
    config: dict[str, Any] | None = None,
    seed: int = 0,
) -> Path:
    """A checkpoint dict as the engine writes it (docs/api-contract.md), saved with torch.save."""
    torch.manual_seed(seed)
    options = {"in_channels": in_channels} if in_channels != 3 else {}
    model = create_model(name, num_classes=num_classes, **options)
    calibrate_batchnorm(model, torch.randn(4, in_channels, 64, 96))  # like normalised images
    if table is None:
        table = FIVE_CLASSES if num_classes == 5 else MT_CLASSES
    checkpoint = {
        "model": name,
        "model_options": options,
        "num_classes": num_classes,
        "state_dict": model.state_dict(),
        "class_table": table.to_dict(),
        "input_channels": in_channels,
        "mean": [0.1633] * in_channels,
        "std": [0.2432] * in_channels,
        "epoch": 7,
        "optimizer": {},
        "scheduler": {},
        "best_metric": 0.61,
        "config": {"model": name, "name": f"test {name}", "epochs": 7, **(config or {})},
        "metrics": {"miou": 0.61, "macc": 0.7},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint, path)
    return path


@pytest.fixture(scope="module")
def zhong(tmp_path_factory: pytest.TempPathFactory) -> tuple[ExportResult, list[Event], Path]:
    folder = tmp_path_factory.mktemp("zhong")
    pt = make_checkpoint(folder / "best.pt", "zhong", num_classes=5)
    events: list[Event] = []
    result = export_checkpoint(pt, folder / "model.onnx", parent="abc123abc123", emit=events.append)
    return result, events, pt


@pytest.fixture(scope="module")
def anet(tmp_path_factory: pytest.TempPathFactory) -> tuple[ExportResult, Path]:
    """A-Net, one logit, grey input (the magnetic tile set's setting), trained on a 6-class table."""
    folder = tmp_path_factory.mktemp("anet")
    pt = make_checkpoint(
        folder / "best.pt", "anet", num_classes=1, in_channels=1, config={"input_size": [512, 512]}
    )
    return export_checkpoint(pt, folder / "model.onnx"), pt


def test_zhong_parity_at_two_sizes(zhong: tuple[ExportResult, list[Event], Path]) -> None:
    result, _, _ = zhong
    assert len(result.parity) == 2
    assert len({p.shape for p in result.parity}) == 2  # two sizes, neither the traced one
    for p in result.parity:
        assert p.max_abs_diff <= PARITY_TOLERANCE  # zhong is shallow: well inside the tolerance
        assert p.float64_error is None  # so the float64 fallback was not needed
        assert p.logit_std > 1e-2  # the logits carry signal, so the comparison means something


def test_zhong_graph_is_dynamic_small_and_clean(zhong: tuple[ExportResult, list[Event], Path]) -> None:
    result, _, pt = zhong
    proto = onnx.load(str(result.onnx_path))
    onnx.checker.check_model(proto)
    assert max(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")) >= 17
    dims = [d.dim_param or d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["batch", 3, "height", "width"]
    assert not any(n.metadata_props for n in proto.graph.node)  # no stack traces with local paths
    params = sum(p.numel() for p in model_from_checkpoint(torch.load(pt, weights_only=True)).parameters())
    assert params == 114_001  # docs/design.md
    # weights (float32) plus a small graph: no optimizer state or other training-only baggage
    assert result.onnx_path.stat().st_size < params * 4 * 1.1 + 100_000


def test_zhong_runs_at_sizes_other_than_the_parity_ones(
    zhong: tuple[ExportResult, list[Event], Path],
) -> None:
    result, _, pt = zhong
    model = model_from_checkpoint(torch.load(pt, weights_only=True))
    parity = check_parity(model, result.onnx_path, input_channels=3, shapes=[(1, 32, 32), (2, 480, 640)])
    assert all(p.max_abs_diff <= PARITY_TOLERANCE for p in parity)


def test_card_embedded_and_beside(zhong: tuple[ExportResult, list[Event], Path]) -> None:
    result, _, _ = zhong
    embedded = read_card(result.onnx_path)
    beside = ModelCard.from_json(sidecar_path(result.onnx_path).read_text())
    assert embedded == beside == result.card
    card = embedded
    assert card.architecture == "zhong"
    assert card.name == "test zhong"
    assert card.class_table == FIVE_CLASSES
    assert card.input_channels == 3
    assert card.mean == (0.1633,) * 3 and card.std == (0.2432,) * 3
    assert card.size_multiple == 32 and card.input_size is None
    assert card.output == "softmax"
    assert card.training["epoch"] == 7 and card.training["config"]["epochs"] == 7
    assert card.metrics == {"miou": 0.61, "macc": 0.7}
    assert card.parent == "abc123abc123"
    assert card.created
    assert card.model_id == model_content_id(onnx.load(str(result.onnx_path)))
    assert card.extra["export"]["parity_max_abs_diff"] <= PARITY_TOLERANCE


def test_predictor_runs_the_export(zhong: tuple[ExportResult, list[Event], Path]) -> None:
    result, _, _ = zhong
    predictor = Predictor(result.onnx_path, threads=1)
    assert predictor.model_id == result.card.model_id
    image = np.random.default_rng(3).integers(0, 256, size=(45, 77, 3), dtype=np.uint8)
    prediction = predictor.predict(image)
    assert prediction.mask.shape == (45, 77)
    assert int(prediction.mask.max()) < 5


def test_exported_event(zhong: tuple[ExportResult, list[Event], Path]) -> None:
    result, events, _ = zhong
    assert len(events) == 1 and isinstance(events[0], Exported)
    assert events[0].path == str(result.onnx_path)
    assert events[0].card_path == str(sidecar_path(result.onnx_path))


def test_parity_check_fails_loudly(zhong: tuple[ExportResult, list[Event], Path]) -> None:
    result, _, pt = zhong
    other = model_from_checkpoint(torch.load(pt, weights_only=True))
    with torch.no_grad():
        next(iter(other.parameters())).mul_(1.01)  # a 1 % change in the first convolution
    with pytest.raises(ExportError, match="disagree"):
        check_parity(other, result.onnx_path, input_channels=3)


def test_anet_binary_grey(anet: tuple[ExportResult, Path]) -> None:
    result, _ = anet
    for p in result.parity:
        assert p.logit_std > 1e-2
        # within the tolerance, or (deep net, float32 noise of the same order) as exact as PyTorch
        if p.max_abs_diff > PARITY_TOLERANCE:
            assert p.float64_error is not None and p.float32_noise is not None
            assert p.float64_error <= 2 * p.float32_noise
            assert p.max_abs_diff < 1e-3
    card = read_card(result.onnx_path)
    assert card.architecture == "anet"
    assert card.output == "sigmoid"
    assert card.class_table.labels == ("_background_", "defect")  # collapsed from the 6-class table
    assert card.input_channels == 1
    assert card.input_size == (512, 512)  # trained on resized images: the app resizes the same way
    predictor = Predictor(result.onnx_path, threads=1)
    mask = predictor.predict(np.random.default_rng(0).integers(0, 256, (222, 103), dtype=np.uint8)).mask
    assert mask.shape == (222, 103) and set(np.unique(mask)) <= {0, 1}


def test_model_id_depends_on_weights_not_on_the_card(tmp_path: Path) -> None:
    pt = make_checkpoint(tmp_path / "a.pt", "zhong", num_classes=5)
    first = export_checkpoint(pt, tmp_path / "a.onnx", exporter="torchscript")
    again = export_checkpoint(pt, tmp_path / "b.onnx", exporter="torchscript", name="renamed")
    assert first.card.model_id == again.card.model_id
    other = make_checkpoint(tmp_path / "c.pt", "zhong", num_classes=5, seed=1)
    assert (
        export_checkpoint(other, tmp_path / "c.onnx", exporter="torchscript").card.model_id
        != first.card.model_id
    )


def test_fixed_size_graph_is_rejected() -> None:
    fixed = factory.segmentation_model([[1.0]], [0.0], fixed_size=(64, 64))
    with pytest.raises(ExportError, match="fixed"):
        check_dynamic_input(fixed)
    check_dynamic_input(factory.segmentation_model([[1.0]], [0.0]))


def test_export_run_prefers_best_then_last(tmp_path: Path) -> None:
    run = tmp_path / "run"
    make_checkpoint(run / "last.pt", "zhong", num_classes=5)
    path = export_run(run, exporter="torchscript")
    assert path == run / "model.onnx"
    assert read_card(path).extra["export"]["source_checkpoint"] == "last.pt"
    make_checkpoint(run / "best.pt", "zhong", num_classes=5, seed=3)
    assert (
        read_card(export_run(run, exporter="torchscript")).extra["export"]["source_checkpoint"] == "best.pt"
    )


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    cmd_export.register(parser.add_subparsers())
    args = parser.parse_args(argv)
    return int(args.func(args))


def test_cli_missing_run_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli(["export", "--run-dir", str(tmp_path / "nope")]) == 2
    out, err = capsys.readouterr()
    assert "does not exist" in err
    event = from_line(out.strip().splitlines()[-1])
    assert event.type == "error"


def test_cli_run_without_checkpoint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "run").mkdir()
    assert _cli(["export", "--run-dir", str(tmp_path / "run")]) == 2
    assert "no checkpoint (neither best.pt nor last.pt)" in capsys.readouterr().err


def test_cli_unreadable_checkpoint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "best.pt").write_bytes(b"not a checkpoint")
    assert _cli(["export", "--run-dir", str(run)]) == 2
    assert "cannot read checkpoint" in capsys.readouterr().err
    assert not (run / "model.onnx").exists()


def test_cli_exports_and_records_the_event(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    make_checkpoint(run / "best.pt", "zhong", num_classes=5)
    out_path = tmp_path / "elsewhere" / "mine.onnx"
    assert _cli(["export", "--run-dir", str(run), "--out", str(out_path), "--exporter", "torchscript"]) == 0
    stdout = capsys.readouterr().out
    lines = [json.loads(line) for line in stdout.splitlines()]  # stdout carries only protocol lines
    assert [line["type"] for line in lines] == ["exported"]
    assert lines[0]["path"] == str(out_path)
    assert [e.type for e in read_events(run / "events.jsonl")] == ["exported"]
    assert read_card(out_path).architecture == "zhong"


def test_export_in_a_fresh_process_prints_no_torchvision_notices(tmp_path: Path) -> None:
    """torch's ONNX registry logs "torchvision is not installed" per torchvision op on the first
    export of a process (without torchvision); the exporter drops exactly those lines."""
    import os
    import subprocess
    import sys

    run = tmp_path / "run"
    make_checkpoint(run / "best.pt", "zhong", num_classes=5)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    command = [sys.executable, "-m", "trainer.cli", "export", "--run-dir", str(run)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert "torchvision is not installed" not in done.stderr
