"""Model files record dataset and run names, never the paths of the machine they were made on."""

from __future__ import annotations

from pathlib import Path

import torch

from inspector_app.core.modelcard import embed_card, read_card, sidecar_path, write_card_sidecar
from inspector_app.core.predictor import Predictor
from tests.trainer.test_export import make_checkpoint
from trainer.export import export_checkpoint
from trainer.portable import main, make_portable


def _machine_config(tmp_path: Path) -> dict[str, str]:
    return {
        "data": str(tmp_path / "sets" / "aluminum"),
        "run_dir": str(tmp_path / "runs" / "al_zhong"),
        "init": str(tmp_path / "runs" / "al_phase1" / "last.pt"),
        "classes": str(tmp_path / "sets" / "aluminum" / "classes.yaml"),
    }


def _holds(path: Path, text: str) -> bool:
    return text.encode() in path.read_bytes()


def test_export_records_names(tmp_path: Path) -> None:
    pt = make_checkpoint(tmp_path / "best.pt", "zhong", num_classes=5, config=_machine_config(tmp_path))
    result = export_checkpoint(pt, tmp_path / "model.onnx", exporter="torchscript")
    config = result.card.training["config"]
    assert (config["data"], config["run_dir"]) == ("aluminum", "al_zhong")
    assert (config["init"], config["classes"]) == ("al_phase1/last.pt", "aluminum/classes.yaml")
    assert not _holds(result.onnx_path, str(tmp_path)) and not _holds(result.card_path, str(tmp_path))


def test_make_portable_rewrites_card_sidecar_and_checkpoint(tmp_path: Path) -> None:
    folder = tmp_path / "models"
    pt = make_checkpoint(folder / "m.pt", "zhong", num_classes=5)
    onnx_path = export_checkpoint(pt, folder / "m.onnx", exporter="torchscript").onnx_path
    # a model made before the trainer recorded names: absolute paths in card and checkpoint
    old = read_card(onnx_path)
    aged = old.replace(training={**old.training, "config": _machine_config(tmp_path), "data": str(tmp_path)})
    embed_card(onnx_path, aged)
    write_card_sidecar(aged, onnx_path)
    checkpoint = torch.load(pt, weights_only=True)
    torch.save({**checkpoint, "config": _machine_config(tmp_path), "data": str(tmp_path / "sets" / "x")}, pt)
    assert all(_holds(p, str(tmp_path)) for p in (onnx_path, sidecar_path(onnx_path), pt))

    assert main([str(onnx_path)]) == 0
    for path in (onnx_path, sidecar_path(onnx_path), pt):
        assert not _holds(path, str(tmp_path)), path
    card = read_card(onnx_path)
    assert card.model_id == old.model_id  # graph untouched: same id, same review history
    assert card.training["config"]["data"] == "aluminum" and card.training["data"] == tmp_path.name
    rewritten = torch.load(pt, weights_only=True)
    assert rewritten["config"]["init"] == "al_phase1/last.pt" and rewritten["data"] == "x"
    key = "enc1.down.weight"
    assert torch.equal(rewritten["state_dict"][key], checkpoint["state_dict"][key])
    assert Predictor(onnx_path, threads=1).model_id == old.model_id
    assert make_portable(onnx_path)[1] == sidecar_path(onnx_path)  # idempotent


def test_unreadable_model_is_bad_input(tmp_path: Path) -> None:
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    assert main([str(broken)]) == 2
