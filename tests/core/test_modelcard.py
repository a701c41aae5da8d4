"""Model cards: JSON round trip, validation, embedded metadata and the sidecar."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import onnx
import pytest

from inspector_app.core.classes import ClassTable
from inspector_app.core.modelcard import (
    METADATA_KEY,
    SCHEMA_VERSION,
    ModelCard,
    ModelError,
    embed_card,
    read_card,
    sidecar_path,
    write_card_sidecar,
)
from tests import onnx_factory as factory

REPO = Path(__file__).resolve().parents[2]


def _card(**changes: object) -> ModelCard:
    fields: dict[str, object] = {
        "name": "aluminium v3",
        "architecture": "zhong_unet",
        "class_table": ClassTable.from_labels(["zhe_zhou", "ca_shang"]),
        "input_channels": 3,
        "mean": (0.1633, 0.1633, 0.1633),
        "std": (0.2432, 0.2432, 0.2432),
        "training": {"dataset": "aluminum", "num_train": 280, "num_val": 120, "epochs": 200},
        "metrics": {"miou": 0.7354, "per_class": {"zhe_zhou": {"iou": 0.62}}},
        "parent": "abc123",
    }
    fields.update(changes)
    return ModelCard(**fields)  # type: ignore[arg-type]


def test_json_round_trip() -> None:
    card = _card(input_size=(480, 640), extra={"exporter": "torch 2.13"})
    text = card.to_json()
    data = json.loads(text)
    assert data["schema"] == SCHEMA_VERSION
    assert data["classes"][1]["label"] == "ca_shang"
    assert data["exporter"] == "torch 2.13"
    assert ModelCard.from_json(text) == card
    assert ModelCard.from_json(card.to_json(indent=None)) == card
    assert "\n" not in card.to_json(indent=None)


def test_defaults() -> None:
    card = _card()
    assert card.size_multiple == 32 and card.input_size is None
    assert card.output == "softmax" and card.threshold == 0.5
    assert card.num_classes == 3
    assert len(card.model_id) == 12 and card.model_id != _card().model_id
    assert card.created.endswith("+00:00")


def test_unknown_keys_are_kept_and_written_back() -> None:
    data = json.loads(_card().to_json())
    data["future_field"] = {"nested": [1, 2]}
    card = ModelCard.from_json(json.dumps(data))
    assert card.extra == {"future_field": {"nested": [1, 2]}}
    assert json.loads(card.to_json())["future_field"] == {"nested": [1, 2]}


def test_extra_never_overrides_fields() -> None:
    card = _card(extra={"name": "sneaky"})
    assert json.loads(card.to_json())["name"] == "aluminium v3"


def test_newer_schema_is_refused() -> None:
    data = json.loads(_card().to_json())
    data["schema"] = SCHEMA_VERSION + 1
    with pytest.raises(ModelError, match=r"model\.json.*schema 2 is newer"):
        ModelCard.from_json(json.dumps(data), source="model.json")


def test_missing_model_id_gets_a_stable_content_id() -> None:
    data = json.loads(_card().to_json())
    del data["model_id"]
    first = ModelCard.from_json(json.dumps(data))
    assert first.model_id == ModelCard.from_json(json.dumps(data)).model_id
    data["name"] = "other"
    assert ModelCard.from_json(json.dumps(data)).model_id != first.model_id


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"input_channels": 2, "mean": (0, 0), "std": (1, 1)}, "input_channels must be 1 or 3"),
        ({"mean": (0.5,)}, "one value per input channel"),
        ({"std": (1.0, 0.0, 1.0)}, "std values must be > 0"),
        ({"size_multiple": 0}, "size_multiple"),
        ({"output": "softmax2"}, "output must be one of"),
        ({"output": "sigmoid"}, "needs exactly 2 classes"),
        ({"threshold": 1.5}, "threshold"),
    ],
)
def test_invalid_cards_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ModelError, match=message):
        _card(**changes)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("classes"), "lacks classes"),
        (lambda d: d.update(classes=[{"index": 1, "label": "x"}]), "bad class table"),
        (lambda d: d.update(mean="abc"), "one value per input channel|bad value"),
        (lambda d: d.update(input_channels="three"), "bad value"),
    ],
)
def test_bad_json_names_the_source(mutate, message: str) -> None:
    data = json.loads(_card().to_json())
    mutate(data)
    with pytest.raises(ModelError, match=message) as info:
        ModelCard.from_json(json.dumps(data), source="/runs/a/model.json")
    assert "/runs/a/model.json" in str(info.value)


def test_not_json() -> None:
    with pytest.raises(ModelError, match="not valid JSON"):
        ModelCard.from_json("{nope")
    with pytest.raises(ModelError, match="JSON object"):
        ModelCard.from_json("[1, 2]")


def test_read_embedded_card(tmp_path: Path) -> None:
    card = factory.make_card(factory.RGB_TABLE, 3, model_id="embedded")
    path = factory.rgb4(tmp_path / "m.onnx", card=card)
    assert not sidecar_path(path).exists()
    assert read_card(path) == card


def test_sidecar_is_the_fallback_and_the_embedded_card_wins(tmp_path: Path) -> None:
    side = factory.make_card(factory.RGB_TABLE, 3, model_id="sidecar")
    path = factory.rgb4(tmp_path / "model.onnx", card=side, embed=False, sidecar=True)
    assert sidecar_path(path) == tmp_path / "model.json"
    assert read_card(path).model_id == "sidecar"
    embed_card(path, side.replace(model_id="embedded"))
    assert read_card(path).model_id == "embedded"


def test_no_card_is_an_error(tmp_path: Path) -> None:
    path = factory.rgb4(tmp_path / "bare.onnx", card=False)
    with pytest.raises(ModelError, match=r"bare\.onnx.*no model card"):
        read_card(path)


def test_broken_sidecar_names_the_sidecar(tmp_path: Path) -> None:
    path = factory.rgb4(tmp_path / "m.onnx", card=False)
    sidecar_path(path).write_text("{broken", encoding="utf-8")
    with pytest.raises(ModelError, match=r"m\.json.*not valid JSON"):
        read_card(path)


def test_missing_and_corrupt_model_files(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="no such file"):
        read_card(tmp_path / "none.onnx")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x12\x34 definitely not a model" * 10)
    with pytest.raises(ModelError, match=r"junk\.onnx.*not an ONNX model"):
        read_card(junk)
    with pytest.raises(ModelError, match=r"junk\.onnx"):
        embed_card(junk, _card())


def test_embed_replaces_the_old_card_and_keeps_other_metadata(tmp_path: Path) -> None:
    model = factory.segmentation_model([[0], [1]], [0.5, 0])
    model.metadata_props.add(key="author", value="line 3")
    path = factory.save_model(model, tmp_path / "m.onnx")
    first = factory.make_card(factory.BINARY_TABLE, 1, model_id="first")
    embed_card(path, first)
    embed_card(path, first.replace(model_id="second", parent="first"))
    props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert len(onnx.load(str(path)).metadata_props) == 2
    assert props["author"] == "line 3"
    assert json.loads(props[METADATA_KEY])["model_id"] == "second"
    card = read_card(path)
    assert (card.model_id, card.parent) == ("second", "first")
    assert not list(tmp_path.glob(".*tmp"))  # the atomic write left no temp file


def test_write_card_sidecar(tmp_path: Path) -> None:
    card = _card()
    written = write_card_sidecar(card, tmp_path / "model.onnx")
    assert written == tmp_path / "model.json"
    assert ModelCard.from_json(written.read_text(encoding="utf-8")) == card
    assert not list(tmp_path.glob(".*tmp"))


def test_core_model_modules_do_not_import_onnx_or_onnxruntime() -> None:
    code = (
        "import sys\n"
        "import inspector_app.core.modelcard, inspector_app.core.predictor\n"
        "print(','.join(m for m in ('onnx', 'onnxruntime') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == ""
