"""Run an ONNX segmentation model on one image: the app's per-frame path.

Pre-processing (image as read by :func:`inspector_app.core.images.read_image`):

1. channels to the model's count: grey -> 3 by repetition (no copy: the same plane feeds all three
   inputs), RGB -> 1 by BT.601 luminance, RGBA -> alpha dropped;
2. scale uint8 by 1/255 and uint16 by 1/65535, then ``(x - mean) / std`` per channel from the card;
3. pad bottom and right to a multiple of ``size_multiple`` with **mirror padding**
   (``BORDER_REFLECT_101``): the padded band continues the surface texture, whereas edge
   replication draws constant streaks and zero padding a hard dark border, both of which look
   like linear defects (scratches) to a segmentation network and leak false positives into the
   real border pixels. Models exported at one fixed size (``card.input_size``) are resized instead.
4. NCHW float32, written into a buffer reused while the frame size does not change.

Post-processing: logits are cropped back to the image (or resized back for fixed-size models and
for graphs whose output resolution differs from their input), then argmax for multi-logit
outputs, or ``sigmoid(logit) > threshold`` (computed as ``logit > log(t / (1 - t))``) for a single
logit. Without probabilities this runs strip by strip (:mod:`inspector_app.core.logits`): the mask
plus a few strip buffers, about 1 byte per image pixel, however large the image. Optional
probabilities: softmax, or ``[1 - p, p]`` for one logit, float32 CxHxW (whole planes: for display
of one frame, not for huge images).

Thread-safety: a :class:`Predictor` keeps scratch buffers, so use one Predictor per worker thread
(one inference worker thread owns the session).
"""

from __future__ import annotations

import hashlib
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from inspector_app.core.classes import ClassTable
from inspector_app.core.logits import mask_from_logits
from inspector_app.core.modelcard import ModelCard, ModelError, card_from_metadata, open_session_error

__all__ = [
    "ModelError",
    "Prediction",
    "Predictor",
    "PredictorLike",
    "default_providers",
    "postprocess",
    "preprocess",
]

PathLike = str | os.PathLike[str]


@dataclass(frozen=True, eq=False)
class Prediction:
    """Result of :meth:`Predictor.predict`.

    ``mask``: uint8 HxW class indices (the input's size). ``probabilities``: float32 CxHxW per-class
    probabilities when asked for, else None. ``elapsed_ms``: pre-processing + inference +
    post-processing time. ``model_id``: the card's model id (results carry it so that a GUI can
    drop results of a model that was replaced meanwhile).
    """

    mask: np.ndarray
    probabilities: np.ndarray | None
    elapsed_ms: float
    model_id: str


def default_providers() -> list[str]:
    """CUDA when this onnxruntime build offers it, CPU always (as the fallback)."""
    import onnxruntime as ort  # lazy: importing core must not load onnxruntime

    available = ort.get_available_providers()
    return [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]


def _file_id(path: Path) -> str:
    """A stable id for a model without a card: hash of the file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return "sha256:" + digest.hexdigest()[:12]


def _static(dim: Any) -> int | None:
    """A graph dimension as an int, None when symbolic/dynamic."""
    return dim if isinstance(dim, int) and dim > 0 else None


def _check_image(image: np.ndarray) -> np.ndarray:
    """Validate an image for the model; HxWx1 becomes HxW. Raises ValueError."""
    if not isinstance(image, np.ndarray) or image.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"expected a uint8 or uint16 image, got {getattr(image, 'dtype', type(image))}")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (3, 4))):
        raise ValueError(f"expected an HxW, HxWx3 or HxWx4 image, got shape {image.shape}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"empty image of shape {image.shape}")
    return image


def preprocess(image: np.ndarray, card: ModelCard, *, out: np.ndarray | None = None) -> np.ndarray:
    """The model input ``(1, C, H', W')`` float32 for ``image`` (steps 1-4 of the module docstring).

    ``out`` is reused when it has the right shape (pass the previous result on a video stream).
    Public so that the trainer evaluates checkpoints with exactly the app's pre-processing.
    """
    image = _check_image(image)
    h, w = image.shape[:2]
    src = image
    if card.input_channels == 1 and image.ndim == 3:
        src = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY if image.shape[2] == 3 else cv2.COLOR_RGBA2GRAY)
    if card.input_size is not None:
        th, tw = card.input_size
        shrink = th * tw < h * w
        src = cv2.resize(src, (tw, th), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    else:
        m = card.size_multiple
        th, tw = -(-h // m) * m, -(-w // m) * m
        if (th, tw) != (h, w):
            src = cv2.copyMakeBorder(src, 0, th - h, 0, tw - w, cv2.BORDER_REFLECT_101)
    channels = card.input_channels
    if out is None or out.shape != (1, channels, th, tw) or out.dtype != np.float32:
        out = np.empty((1, channels, th, tw), dtype=np.float32)
    # x = pixel * scale + offset, one multiply-add per plane straight into the NCHW buffer; a grey
    # source feeds every input plane without being replicated first.
    full = 255.0 if src.dtype == np.uint8 else 65535.0
    for c in range(channels):
        plane = src if src.ndim == 2 else src[:, :, c]
        np.multiply(plane, np.float32(1.0 / (full * card.std[c])), out=out[0, c])
        if card.mean[c] != 0:
            np.add(out[0, c], np.float32(-card.mean[c] / card.std[c]), out=out[0, c])
    return out


def _restore_size(
    logits: np.ndarray, card: ModelCard, image_size: tuple[int, int], input_size: tuple[int, ...]
) -> np.ndarray:
    """Logits (K, h', w') in model space -> (K, h, w) in image space (crop and/or resize)."""
    h, w = image_size
    if card.input_size is None:
        if logits.shape[1:] != tuple(input_size):  # the graph outputs another resolution
            size = (int(input_size[1]), int(input_size[0]))
            logits = np.stack([cv2.resize(p, size, interpolation=cv2.INTER_LINEAR) for p in logits])
        return logits[:, :h, :w]
    if logits.shape[1:] == (h, w):
        return logits
    return np.stack([cv2.resize(p, (w, h), interpolation=cv2.INTER_LINEAR) for p in logits])


def _argmax(logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """uint8 argmax over axis 0 (first maximum wins, like np.argmax) and the maximum itself.

    Plane by plane with OpenCV: about 8x faster than ``np.argmax(axis=0)`` on CxHxW.
    """
    mask = np.zeros(logits.shape[1:], dtype=np.uint8)
    best = np.array(logits[0], dtype=np.float32, copy=True)
    greater = np.empty(logits.shape[1:], dtype=np.uint8)
    for c in range(1, logits.shape[0]):
        cv2.compare(logits[c], best, cv2.CMP_GT, dst=greater)  # 255 where class c is better
        np.bitwise_and(greater, np.uint8(c), out=greater)
        cv2.max(mask, greater, dst=mask)  # c exceeds every earlier index, so max() = assign
        cv2.max(best, logits[c], dst=best)
    return mask, best


def _softmax(logits: np.ndarray, best: np.ndarray) -> np.ndarray:
    """float32 softmax over axis 0 given the per-pixel maximum (no overflow: exponents <= 0)."""
    out = np.empty(logits.shape, dtype=np.float32)
    total = np.zeros(logits.shape[1:], dtype=np.float32)
    for c in range(logits.shape[0]):
        cv2.subtract(logits[c], best, dst=out[c])
        cv2.exp(out[c], dst=out[c])
        cv2.add(total, out[c], dst=total)
    np.reciprocal(total, out=total)
    for c in range(logits.shape[0]):
        cv2.multiply(out[c], total, dst=out[c])
    return out


def postprocess(
    output: np.ndarray,
    card: ModelCard,
    image_size: tuple[int, ...],
    input_size: tuple[int, ...],
    *,
    threshold: float | None = None,
    probabilities: bool = False,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Graph output ``(1, K, h', w')`` -> (uint8 HxW mask, float32 CxHxW probabilities or None).

    ``image_size`` is the original image's (H, W), ``input_size`` the (H', W') fed to the graph
    (``preprocess(...).shape[2:]``). ``threshold`` overrides the card's for one-logit models.
    Public so that the trainer evaluates checkpoints with exactly the app's post-processing.
    """
    h, w = int(image_size[0]), int(image_size[1])
    raw = output[0] if output.ndim == 4 else output
    if raw.dtype != np.float32:
        raw = raw.astype(np.float32)
    cut: float | None = None
    if card.output == "sigmoid":
        t = card.threshold if threshold is None else threshold
        if not 0.0 < t < 1.0:
            raise ValueError(f"threshold must be between 0 and 1, got {t}")
        # sigmoid(x) > t  <=>  x > log(t / (1 - t)): no exp on the per-frame path.
        cut = math.log(t / (1.0 - t))
    if not probabilities:
        # Strip by strip (core.logits): about 1 byte per image pixel besides the graph's output.
        target = _restore_target(raw, card, (h, w), input_size)
        return mask_from_logits(raw, (h, w), target=target, cut=cut), None
    logits = _restore_size(raw, card, (h, w), input_size)
    if cut is not None:
        mask = np.ascontiguousarray((logits[0] > np.float32(cut)).view(np.uint8))
        p = 0.5 * (1.0 + np.tanh(0.5 * logits[0]))  # sigmoid without exp overflow
        return mask, np.stack([1.0 - p, p]).astype(np.float32, copy=False)
    mask, best = _argmax(logits)
    return mask, _softmax(logits, best)


def _restore_target(
    logits: np.ndarray, card: ModelCard, image_size: tuple[int, int], input_size: tuple[int, ...]
) -> tuple[int, int] | None:
    """The size the logits are resized to before cropping (as :func:`_restore_size`), None = crop only."""
    if card.input_size is None:
        if logits.shape[1:] != tuple(input_size):
            return int(input_size[0]), int(input_size[1])
        return None
    return None if logits.shape[1:] == tuple(image_size) else image_size


class Predictor:
    """An onnxruntime session plus the card-driven pre/post-processing of one model.

    ``class_table`` runs a model without a card (mean 0, std 1, channels from the input shape,
    size multiple 32); with a card it replaces the card's table for display (same class count
    required). ``threads`` sets onnxruntime's intra-op thread count (default: onnxruntime's
    choice). ``providers`` overrides :func:`default_providers`. Raises :class:`ModelError` for a
    missing file, a file that is not an ONNX model, a graph that is not ``N x C x H x W -> N x K x H x W``
    float, and a card or class table that does not match the graph.
    """

    def __init__(
        self,
        path: PathLike,
        *,
        class_table: ClassTable | None = None,
        threads: int | None = None,
        providers: list[str] | None = None,
    ) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise ModelError(self.path, "no such file" if not self.path.exists() else "not a file")
        import onnxruntime as ort  # lazy: importing core must not load onnxruntime

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        if threads is not None:
            options.intra_op_num_threads = max(1, int(threads))
        options.inter_op_num_threads = 1
        # Idle worker threads must not spin between frames: the GUI shares these cores.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self._session = ort.InferenceSession(
                str(self.path), options, providers=providers or default_providers()
            )
        except Exception as exc:  # onnxruntime raises its own exception types for bad files
            raise open_session_error(self.path, exc) from None
        self.providers: list[str] = list(self._session.get_providers())

        inputs, outputs = self._session.get_inputs(), self._session.get_outputs()
        if len(inputs) != 1:
            raise ModelError(self.path, f"expected one input tensor, the graph has {len(inputs)}")
        if not outputs:
            raise ModelError(self.path, "the graph has no output")
        inp, out = inputs[0], outputs[0]
        if len(inp.shape) != 4:
            raise ModelError(self.path, f"wrong input rank {len(inp.shape)} (expected N x C x H x W)")
        if len(out.shape) != 4:
            raise ModelError(self.path, f"wrong output rank {len(out.shape)} (expected N x K x H x W)")
        if inp.type != "tensor(float)" or out.type != "tensor(float)":
            raise ModelError(self.path, f"{inp.type} -> {out.type} graph (expected float32 in and out)")
        self._input_name: str = inp.name
        self._output_name: str = out.name
        graph_channels = _static(inp.shape[1])
        graph_size = (_static(inp.shape[2]), _static(inp.shape[3]))
        self._output_channels: int | None = _static(out.shape[1])

        card = card_from_metadata(self._session.get_modelmeta().custom_metadata_map, self.path)
        if card is None:
            card = self._card_without_metadata(class_table, graph_channels)
        elif class_table is not None:
            if class_table.num_classes != card.num_classes:
                raise ModelError(
                    self.path,
                    f"the given class table has {class_table.num_classes} classes, "
                    f"the model card {card.num_classes}",
                )
            card = card.replace(class_table=class_table)
        if graph_channels is not None and graph_channels != card.input_channels:
            raise ModelError(
                self.path,
                f"the card says {card.input_channels} input channels, the graph takes {graph_channels}",
            )
        if card.num_classes > 256:
            raise ModelError(self.path, f"{card.num_classes} classes do not fit a uint8 mask")
        if None not in graph_size and card.input_size is None:
            card = card.replace(input_size=graph_size)  # a graph exported at one fixed size
        self.card: ModelCard = card
        self.model_id: str = card.model_id
        self.class_table: ClassTable = card.class_table
        if self._output_channels is not None:
            self._check_output_channels(self._output_channels)

        self._buffer: np.ndarray | None = None

    # --- set-up helpers ----------------------------------------------------------------------------
    def _card_without_metadata(self, class_table: ClassTable | None, channels: int | None) -> ModelCard:
        if class_table is None:
            raise ModelError(
                self.path,
                "the model has no model card (no embedded metadata and no .json beside it); "
                "pass a class table to run it anyway",
            )
        if channels not in (1, 3):
            raise ModelError(
                self.path,
                f"the model has no card and its input channel count is {channels or 'not fixed'} "
                "(expected 1 or 3)",
            )
        output = "sigmoid" if self._output_channels == 1 else "softmax"
        try:
            return ModelCard(
                name=self.path.stem,
                architecture="unknown",
                class_table=class_table,
                input_channels=channels,
                mean=(0.0,) * channels,
                std=(1.0,) * channels,
                output=output,
                model_id=_file_id(self.path),
            )
        except ModelError as exc:
            raise ModelError(self.path, exc.reason) from None

    def _check_output_channels(self, channels: int) -> None:
        card = self.card
        if card.output == "sigmoid" and channels != 1:
            raise ModelError(
                self.path, f"the card says one sigmoid logit, the graph outputs {channels} channels"
            )
        if card.output == "softmax" and channels != card.num_classes:
            raise ModelError(
                self.path,
                f"the class table has {card.num_classes} classes but the graph outputs {channels} channels",
            )

    def __repr__(self) -> str:
        return f"Predictor({self.path.name!r}, model_id={self.model_id!r}, providers={self.providers})"

    # --- the per-frame path ------------------------------------------------------------------------
    def predict(
        self, image: np.ndarray, *, probabilities: bool = False, threshold: float | None = None
    ) -> Prediction:
        """Segment ``image`` (HxW, HxWx3 RGB or HxWx4 RGBA; uint8 or uint16).

        ``threshold`` overrides the card's for one-logit models (ignored for softmax models).
        Raises ValueError for an unsupported image and :class:`ModelError` when the graph's output
        does not fit the card.
        """
        start = time.perf_counter()
        tensor = preprocess(image, self.card, out=self._buffer)
        self._buffer = tensor  # reused while the frame size stays the same
        try:
            (out,) = self._session.run([self._output_name], {self._input_name: tensor})
        except Exception as exc:  # onnxruntime's own exception types
            h, w = image.shape[:2]
            raise ModelError(self.path, f"inference failed on a {w}x{h} image: {exc}") from None
        if self._output_channels is None:  # dynamic in the graph: check once, on the first result
            self._check_output_channels(out.shape[1])
            self._output_channels = out.shape[1]
        mask, probs = postprocess(
            out, self.card, image.shape[:2], tensor.shape[2:], threshold=threshold,
            probabilities=probabilities,
        )
        elapsed = (time.perf_counter() - start) * 1000.0
        return Prediction(mask, probs, elapsed, self.model_id)

    def warmup(self, height: int = 64, width: int = 64) -> None:
        """Run once on a blank image so that the first real frame does not pay the set-up cost."""
        shape = (height, width) if self.card.input_channels == 1 else (height, width, 3)
        self.predict(np.zeros(shape, dtype=np.uint8))


# --- the seam typed by the station and the batch runner ---------------------------------------------
class PredictorLike(Protocol):
    """What callers use of a :class:`Predictor`: its card, its id and the per-frame path."""

    @property
    def model_id(self) -> str:
        """Identity of the model file (cache keys, review records)."""
        ...

    @property
    def card(self) -> ModelCard:
        """The model card: classes, normalisation, input size rules."""
        ...

    def predict(
        self, image: np.ndarray, *, probabilities: bool = False, threshold: float | None = None
    ) -> Prediction:
        """Segment one image (see :meth:`Predictor.predict`)."""
        ...
