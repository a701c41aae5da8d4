"""Model cards: everything the app needs, besides the ONNX graph, to run and show a model.

A card travels inside the ONNX file as the metadata entry :data:`METADATA_KEY` (a JSON string)
and is mirrored in a ``.json`` beside it (``model.onnx`` -> ``model.json``). Readers prefer the
embedded card (it cannot get separated from its graph) and fall back to the sidecar.

JSON layout (flat; one key per field, the class table as a ``classes`` list)::

    {"schema": 1, "model_id": "...", "name": "...", "architecture": "zhong_unet",
     "classes": [{"index": 0, "label": "_background_", ...}, ...],
     "input_channels": 3, "mean": [..], "std": [..], "size_multiple": 32, "input_size": null,
     "output": "softmax", "threshold": 0.5, "training": {..}, "metrics": {..},
     "created": "2025-01-01T12:00:00+00:00", "parent": null,
     "decision": {"threshold": 0.5, "min_area_px": 40}}

``decision`` (optional, :class:`~inspector_app.core.decision.DecisionRule`) is the image-level
OK/NG rule chosen on the validation split; it is written only when set, so cards without it are
byte-for-byte what older versions wrote, and older apps keep it as an unknown key.

Unknown keys are kept in ``extra`` and written back, so an older app never drops what a newer
trainer wrote. A card whose ``schema`` is newer than :data:`SCHEMA_VERSION` is refused.

Reading needs onnxruntime (imported lazily); :func:`embed_card` needs the ``onnx`` package, which
is part of the ``[train]`` extra only, and imports it lazily too.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from inspector_app.core.classes import ClassTable, ClassTableError
from inspector_app.core.decision import DecisionRule
from inspector_app.core.fileio import atomic_write_bytes, atomic_write_text

#: Key of the ONNX metadata entry that holds the card JSON.
METADATA_KEY = "defect_inspector.model_card"
#: Card schema written by this version; readers accept this and older ones.
SCHEMA_VERSION = 1
#: Output activations: ``softmax`` = C logits, argmax; ``sigmoid`` = one logit, threshold.
OUTPUTS = ("softmax", "sigmoid")

PathLike = str | os.PathLike[str]


class ModelError(ValueError):
    """A model file or its card is unusable; the message names the file and the reason."""

    def __init__(self, path: PathLike | None, reason: str) -> None:
        prefix = f"model {os.fspath(path)}: " if path is not None else "model card: "
        super().__init__(prefix + reason)
        self.path = Path(path) if path is not None else None
        self.reason = reason


def new_model_id() -> str:
    """A fresh random model id (12 hex digits: short enough for review records, unique enough)."""
    return uuid.uuid4().hex[:12]


def _content_id(data: Mapping[str, Any]) -> str:
    """A deterministic id for a hand-written card without ``model_id`` (same card, same id)."""
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:12]


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class ModelCard:
    """Description of one trained model (see the module docstring for the JSON layout).

    ``mean``/``std`` are per input channel and apply to pixels scaled to 0..1 (uint8 / 255,
    uint16 / 65535): ``x = (pixel - mean) / std``. ``size_multiple`` is the factor the network
    needs the input height and width to be a multiple of (the predictor pads); ``input_size``
    (H, W) is set only for graphs exported at one fixed resolution (the predictor resizes).
    ``output`` is ``softmax`` (one logit per class, argmax) or ``sigmoid`` (one logit for a
    two-class table, ``p > threshold`` is class 1). ``training`` summarises the training data and
    settings, ``metrics`` the validation results, ``parent`` is the model id fine-tuned from.
    """

    name: str
    architecture: str
    class_table: ClassTable
    input_channels: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    size_multiple: int = 32
    input_size: tuple[int, int] | None = None
    output: str = "softmax"
    threshold: float = 0.5
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    created: str = field(default_factory=_now_iso)
    parent: str | None = None
    model_id: str = field(default_factory=new_model_id)
    extra: dict[str, Any] = field(default_factory=dict)
    decision: DecisionRule | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "mean", tuple(float(v) for v in self.mean))
        object.__setattr__(self, "std", tuple(float(v) for v in self.std))
        if self.input_size is not None:
            object.__setattr__(self, "input_size", (int(self.input_size[0]), int(self.input_size[1])))
        problems = []
        if self.input_channels not in (1, 3):
            problems.append(f"input_channels must be 1 or 3, got {self.input_channels!r}")
        if len(self.mean) != self.input_channels or len(self.std) != self.input_channels:
            problems.append(
                f"mean and std need one value per input channel ({self.input_channels}), "
                f"got {len(self.mean)} and {len(self.std)}"
            )
        if any(not s > 0 for s in self.std):
            problems.append(f"std values must be > 0, got {self.std}")
        if not isinstance(self.size_multiple, int) or self.size_multiple < 1:
            problems.append(f"size_multiple must be an integer >= 1, got {self.size_multiple!r}")
        if self.input_size is not None and min(self.input_size) < 1:
            problems.append(f"input_size must be positive, got {self.input_size}")
        if self.output not in OUTPUTS:
            problems.append(f"output must be one of {OUTPUTS}, got {self.output!r}")
        elif self.output == "sigmoid" and self.class_table.num_classes != 2:
            problems.append(
                f"a sigmoid (one-logit) model needs exactly 2 classes, "
                f"the class table has {self.class_table.num_classes}"
            )
        if not 0.0 < self.threshold < 1.0:
            problems.append(f"threshold must be between 0 and 1, got {self.threshold!r}")
        if not self.model_id:
            problems.append("model_id must not be empty")
        if problems:
            raise ModelError(None, "; ".join(problems))

    @property
    def num_classes(self) -> int:
        """Number of classes including the background."""
        return self.class_table.num_classes

    def replace(self, **changes: Any) -> ModelCard:
        """A copy with some fields changed (``dataclasses.replace``)."""
        return dataclasses.replace(self, **changes)

    # --- (de)serialisation ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready mapping (``extra`` keys merged at the top level, never overriding fields)."""
        out: dict[str, Any] = dict(self.extra)
        out.update(
            {
                "schema": SCHEMA_VERSION,
                "model_id": self.model_id,
                "name": self.name,
                "architecture": self.architecture,
                "classes": self.class_table.to_dict()["classes"],
                "input_channels": self.input_channels,
                "mean": list(self.mean),
                "std": list(self.std),
                "size_multiple": self.size_multiple,
                "input_size": list(self.input_size) if self.input_size is not None else None,
                "output": self.output,
                "threshold": self.threshold,
                "training": self.training,
                "metrics": self.metrics,
                "created": self.created,
                "parent": self.parent,
            }
        )
        if self.decision is not None:
            out["decision"] = self.decision.to_dict()
        return out

    def decision_rule(self) -> DecisionRule:
        """The card's image-level rule, or the default one (its threshold, any defect pixel)."""
        return self.decision if self.decision is not None else DecisionRule.default(self.threshold)

    def to_json(self, *, indent: int | None = 2) -> str:
        """Card as JSON text (``indent=None`` for the compact form embedded in ONNX metadata)."""
        separators = (",", ":") if indent is None else None
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, separators=separators)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: PathLike | None = None) -> ModelCard:
        """Inverse of :meth:`to_dict`. Raises :class:`ModelError` naming ``source`` when invalid."""
        if not isinstance(data, Mapping):
            raise ModelError(source, f"the model card must be a JSON object, got {type(data).__name__}")
        schema = data.get("schema", 1)
        if not isinstance(schema, int) or isinstance(schema, bool):
            raise ModelError(source, f"model card 'schema' must be an integer, got {schema!r}")
        if schema > SCHEMA_VERSION:
            raise ModelError(
                source,
                f"model card schema {schema} is newer than this version understands "
                f"({SCHEMA_VERSION}); update Defect Inspector",
            )
        required = ("name", "architecture", "classes", "input_channels", "mean", "std")
        missing = [k for k in required if k not in data]
        if missing:
            raise ModelError(source, f"model card lacks {', '.join(missing)}")
        try:
            table = ClassTable.from_dict({"classes": data["classes"]})
        except ClassTableError as exc:
            raise ModelError(source, f"bad class table in the model card: {exc}") from None
        known = {f.name for f in dataclasses.fields(cls)} | {"schema", "classes"}
        try:
            input_size = data.get("input_size")
            decision = data.get("decision")
            return cls(
                name=str(data["name"]),
                architecture=str(data["architecture"]),
                class_table=table,
                input_channels=int(data["input_channels"]),
                mean=tuple(float(v) for v in data["mean"]),
                std=tuple(float(v) for v in data["std"]),
                size_multiple=int(data.get("size_multiple", 32)),
                input_size=(int(input_size[0]), int(input_size[1])) if input_size is not None else None,
                output=str(data.get("output", "softmax")),
                threshold=float(data.get("threshold", 0.5)),
                training=dict(data.get("training") or {}),
                metrics=dict(data.get("metrics") or {}),
                created=str(data.get("created", "")),
                parent=None if data.get("parent") is None else str(data["parent"]),
                model_id=str(data.get("model_id") or _content_id(data)),
                extra={k: v for k, v in data.items() if k not in known and k != "class_table"},
                decision=DecisionRule.from_dict(decision) if decision is not None else None,
            )
        except ModelError as exc:
            raise ModelError(source, exc.reason) from None
        except (TypeError, ValueError, IndexError, KeyError) as exc:
            raise ModelError(source, f"bad value in the model card: {exc}") from None

    @classmethod
    def from_json(cls, text: str | bytes, *, source: PathLike | None = None) -> ModelCard:
        """Parse card JSON text (see :meth:`from_dict`)."""
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ModelError(source, f"the model card is not valid JSON ({exc})") from None
        return cls.from_dict(data, source=source)


# --- files ---------------------------------------------------------------------------------------


def sidecar_path(onnx_path: PathLike) -> Path:
    """The card mirror beside a model: ``model.onnx`` -> ``model.json``."""
    return Path(onnx_path).with_suffix(".json")


def write_card_sidecar(card: ModelCard, onnx_path: PathLike) -> Path:
    """Write ``card`` as the ``.json`` beside ``onnx_path`` (atomically); returns its path."""
    path = sidecar_path(onnx_path)
    atomic_write_text(path, card.to_json() + "\n")
    return path


def card_from_metadata(metadata: Mapping[str, str], onnx_path: PathLike) -> ModelCard | None:
    """The card from an ONNX metadata map, else from the sidecar, else None.

    ``metadata`` is ``session.get_modelmeta().custom_metadata_map`` of an open session; the
    predictor passes its own so that the model is parsed only once.
    """
    text = metadata.get(METADATA_KEY)
    if text:
        return ModelCard.from_json(text, source=onnx_path)
    side = sidecar_path(onnx_path)
    if side.is_file():
        try:
            return ModelCard.from_json(side.read_bytes(), source=side)
        except OSError as exc:
            raise ModelError(side, f"cannot read the model card ({exc})") from None
    return None


def open_session_error(path: PathLike, exc: BaseException) -> ModelError:
    """Turn an onnxruntime load failure into a :class:`ModelError` with a readable reason."""
    text = str(exc)
    lowered = text.lower()
    corrupt_markers = ("protobuf parsing failed", "no graph was found", "invalid_protobuf")
    if any(marker in lowered for marker in corrupt_markers):
        reason = "not an ONNX model, or the file is corrupt"
    else:
        reason = f"onnxruntime cannot load it ({text.strip().splitlines()[0] if text.strip() else exc!r})"
    return ModelError(path, reason)


def read_metadata(onnx_path: PathLike) -> dict[str, str]:
    """The custom metadata map of an ONNX file, via onnxruntime (no ``onnx`` package needed)."""
    path = Path(onnx_path)
    if not path.is_file():
        raise ModelError(path, "no such file" if not path.exists() else "not a file")
    import onnxruntime as ort  # lazy: importing core must not load onnxruntime

    options = ort.SessionOptions()
    # Only the metadata is wanted: skip graph optimisation, keep it cheap.
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.intra_op_num_threads = 1
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types for bad files
        raise open_session_error(path, exc) from None
    return dict(session.get_modelmeta().custom_metadata_map)


def read_card(onnx_path: PathLike) -> ModelCard:
    """The card of an ONNX model: embedded metadata first, then the ``.json`` sidecar.

    Raises :class:`ModelError` when the file is missing or not a model, or when it has no card.
    """
    card = card_from_metadata(read_metadata(onnx_path), onnx_path)
    if card is None:
        raise ModelError(
            onnx_path,
            f"no model card (neither the '{METADATA_KEY}' metadata entry nor {sidecar_path(onnx_path).name})",
        )
    return card


def embed_card(onnx_path: PathLike, card: ModelCard) -> None:
    """Store ``card`` in the ONNX file's metadata (replacing an older card), atomically.

    Needs the ``onnx`` package (the ``[train]`` extra); the app itself never calls this.
    """
    import onnx  # lazy: not a dependency of the app

    path = Path(onnx_path)
    try:
        model = onnx.load(str(path))
    except FileNotFoundError:
        raise ModelError(path, "no such file") from None
    except Exception as exc:  # onnx raises DecodeError and friends for corrupt files
        raise ModelError(path, f"not an ONNX model, or the file is corrupt ({exc})") from None
    kept = [(p.key, p.value) for p in model.metadata_props if p.key != METADATA_KEY]
    del model.metadata_props[:]
    for key, value in kept:
        model.metadata_props.add(key=key, value=value)
    model.metadata_props.add(key=METADATA_KEY, value=card.to_json(indent=None))
    atomic_write_bytes(path, model.SerializeToString())
