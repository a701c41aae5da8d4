"""Small, real ONNX segmentation models for tests, built with the ``onnx`` helper API.

Every model is a 1x1 convolution ``logits = W @ pixel + b`` on the normalised input, so the expected
mask is computable by hand. Options make the graph behave like the real networks where it matters:

* ``size_multiple=m`` adds a branch ``Resize(Conv0(MaxPool_m(x)), x m)`` (weights zero, so it
  does not change the logits) that is added to the logits: the graph then *fails* unless H and W
  are multiples of ``m``, exactly like an encoder-decoder with skip connections;
* ``output_stride=s`` average-pools the input first, so the logits come out at 1/s resolution;
* ``fixed_size=(H, W)`` exports a static input shape (a graph that works at one resolution).

Ready-made models with their cards (reused by app and trainer tests):

* :func:`rgb4` — 3 input channels, 4 classes: background logit 0.5, class 1/2/3 logit = R/G/B
  (red/green/blue). A pixel is class ``1 + argmax(RGB)`` when that channel's normalised value
  exceeds 0.5, else background; ties go to the lower index (red).
* :func:`grey2` — 1 input channel, 2 classes: class 1 where the normalised value exceeds 0.5.
* :func:`one_logit` — 1 input channel, one logit ``10 * (x - 0.5)`` with a sigmoid card:
  ``p > threshold`` where ``x > 0.5 + logit(threshold) / 10``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from inspector_app.core.classes import ClassInfo, ClassTable
from inspector_app.core.modelcard import METADATA_KEY, ModelCard, write_card_sidecar

OPSET = 17
IR_VERSION = 8  # readable by every onnxruntime the app supports

RGB_TABLE = ClassTable(
    (
        ClassInfo(0, "_background_", "background", (0, 0, 0)),
        ClassInfo(1, "red", "red defect", (255, 0, 0)),
        ClassInfo(2, "green", "green defect", (0, 255, 0)),
        ClassInfo(3, "blue", "blue defect", (0, 0, 255)),
    )
)
BINARY_TABLE = ClassTable(
    (
        ClassInfo(0, "_background_", "background", (0, 0, 0)),
        ClassInfo(1, "defect", "defect", (255, 0, 0)),
    )
)


def segmentation_model(
    weights: Any,
    bias: Any,
    *,
    size_multiple: int | None = None,
    output_stride: int = 1,
    fixed_size: tuple[int, int] | None = None,
    input_name: str = "image",
    output_name: str = "logits",
) -> onnx.ModelProto:
    """``logits[N, C, H, W] = Conv1x1(x[N, Cin, H, W]; weights (C, Cin), bias (C,))`` (see module doc)."""
    w = np.asarray(weights, dtype=np.float32)
    b = np.asarray(bias, dtype=np.float32)
    c_out, c_in = w.shape
    dims: list[int | str] = ["N", c_in, "H", "W"] if fixed_size is None else [1, c_in, *fixed_size]
    out_dims: list[int | str] = ["N", c_out, "OH", "OW"] if fixed_size is None else [1, c_out, *fixed_size]
    if fixed_size is not None and output_stride > 1:
        out_dims = [1, c_out, fixed_size[0] // output_stride, fixed_size[1] // output_stride]
    inits = [
        numpy_helper.from_array(w.reshape(c_out, c_in, 1, 1), "W"),
        numpy_helper.from_array(b, "B"),
    ]
    nodes = []
    source = input_name
    if output_stride > 1:
        nodes.append(
            helper.make_node(
                "AveragePool", [input_name], ["pooled_in"], kernel_shape=[output_stride] * 2,
                strides=[output_stride] * 2,
            )
        )
        source = "pooled_in"
    head = "conv" if size_multiple else output_name
    nodes.append(helper.make_node("Conv", [source, "W", "B"], [head]))
    if size_multiple:
        m = size_multiple
        inits += [
            numpy_helper.from_array(np.zeros((1, c_in, 1, 1), np.float32), "W0"),
            numpy_helper.from_array(np.array([1, 1, m, m], np.float32), "up_scales"),
        ]
        nodes += [
            helper.make_node("MaxPool", [input_name], ["deep"], kernel_shape=[m, m], strides=[m, m]),
            helper.make_node("Conv", ["deep", "W0"], ["deep0"]),
            helper.make_node("Resize", ["deep0", "", "up_scales"], ["skip"], mode="nearest"),
            helper.make_node("Add", [head, "skip"], [output_name]),
        ]
    graph = helper.make_graph(
        nodes,
        "test_segmentation",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, dims)],
        [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, out_dims)],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="tests")
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    return model


def save_model(
    model: onnx.ModelProto,
    path: str | Path,
    card: ModelCard | None = None,
    *,
    embed: bool = True,
    sidecar: bool = False,
) -> Path:
    """Write ``model`` to ``path``; with ``card``: embedded in the metadata and/or as the sidecar."""
    path = Path(path)
    if card is not None and embed:
        model = onnx.ModelProto.FromString(model.SerializeToString())  # leave the caller's proto alone
        model.metadata_props.add(key=METADATA_KEY, value=card.to_json(indent=None))
    path.write_bytes(model.SerializeToString())
    if card is not None and sidecar:
        write_card_sidecar(card, path)
    return path


def make_card(table: ClassTable, input_channels: int, **changes: Any) -> ModelCard:
    """A valid card for the test models (identity normalisation unless ``mean``/``std`` given)."""
    fields: dict[str, Any] = {
        "name": "test model",
        "architecture": "conv1x1",
        "class_table": table,
        "input_channels": input_channels,
        "mean": (0.0,) * input_channels,
        "std": (1.0,) * input_channels,
        "size_multiple": 32,
        "training": {"dataset": "synthetic", "num_train": 0},
        "metrics": {"miou": 1.0},
        "model_id": "test-0001",
    }
    fields.update(changes)
    return ModelCard(**fields)


def rgb4(
    path: str | Path,
    *,
    card: bool | ModelCard = True,
    embed: bool = True,
    sidecar: bool = False,
    size_multiple: int | None = 32,
    **card_changes: Any,
) -> Path:
    """The 4-class RGB model (see module doc) at ``path``; ``card=False`` writes no card.

    The card is embedded unless ``embed=False``, and mirrored beside the file with ``sidecar=True``.
    """
    weights = [[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]]
    model = segmentation_model(weights, [0.5, 0, 0, 0], size_multiple=size_multiple)
    the_card = card if isinstance(card, ModelCard) else make_card(RGB_TABLE, 3, **card_changes)
    return save_model(model, path, the_card if card else None, embed=embed, sidecar=sidecar)


def grey2(
    path: str | Path,
    *,
    card: bool | ModelCard = True,
    size_multiple: int | None = 32,
    **card_changes: Any,
) -> Path:
    """The 2-class grey model (class 1 where the normalised value exceeds 0.5)."""
    model = segmentation_model([[0], [1]], [0.5, 0], size_multiple=size_multiple)
    the_card = card if isinstance(card, ModelCard) else make_card(BINARY_TABLE, 1, **card_changes)
    return save_model(model, path, the_card if card else None)


def one_logit(
    path: str | Path,
    *,
    card: bool | ModelCard = True,
    size_multiple: int | None = 32,
    **card_changes: Any,
) -> Path:
    """The one-logit (sigmoid) grey model: logit = 10 * (x - 0.5)."""
    model = segmentation_model([[10.0]], [-5.0], size_multiple=size_multiple)
    card_changes.setdefault("output", "sigmoid")
    the_card = card if isinstance(card, ModelCard) else make_card(BINARY_TABLE, 1, **card_changes)
    return save_model(model, path, the_card if card else None)
