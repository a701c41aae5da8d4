"""Headless batch prediction: ``defect-inspector predict --model M --input DIR --output DIR ...``.

Never imports Qt (it runs on machines without a display). The GUI runs the same
:func:`run_batch` in a QThread (:mod:`inspector_app.jobs.batch_job`); the CSV is
:mod:`inspector_app.services.batch_csv`, the command line
:mod:`inspector_app.services.batch_cli`.

Pipeline: a small thread pool decodes images ahead of the model (bounded read-ahead), the calling
thread runs the model (onnxruntime releases the GIL), and a second pool encodes and writes the
outputs (OpenCV's codecs release the GIL too), so reading, inference and writing overlap.

Outputs, mirroring the input's relative paths under ``--output``:

* ``--masks``:    ``<stem>.png``, uint8 class-index mask (the model card's class table);
* ``--labelme``:  ``<stem>.json``, LabelMe polygons marked as a prediction (top-level key
  ``defect_inspector: {"source": "prediction", "model_id": ..., "created": ...}``), imagePath
  relative to the JSON pointing at the input image;
* ``--overlays``: ``overlays/<stem>.jpg``, the image with the mask colour-blended;
* ``--csv FILE``: one row per input: status, size, areas (px and %) and region counts per class.

Every output carries the marker of the model that wrote it (:mod:`~inspector_app.services.batch_marks`).
The rules (:mod:`~inspector_app.services.batch_plan`): an output that exists without our marker (a
hand-made LabelMe file, an input image, anyone's own mask) is never overwritten — the image is
refused and named; ``--force`` replaces such masks and overlays, never a LabelMe file. An image
whose outputs all carry this model's id is "already done" (skipped unless ``--force``); outputs
of another model are redone. Images sharing a stem in one folder (``a.jpg``, ``a.png``) are
refused, naming both. When ``--output`` is the input folder or inside it, files carrying our
marker and the ``overlays`` folder there are never listed as inputs.

Writing: every output goes to a uniquely named temp file in its own folder and is
``os.replace``-d over its name, so a run that is killed or crashes never leaves a partial file
under an output's name (a reader, or the skip check of a later run, sees the old file or the new
one) nor a temp file. Batch outputs are NOT fsynced one by one: an fsync costs 1-10 ms per file on
the development disk, and with a fast model the pipeline waits on it — 400 aluminium images,
``benchmarks/app_batch_predict.py --fsync both --repeat 5``, medians: masks 96.5 -> 72.1 images/s
(-25 %), masks + overlays 54.1 -> 42.0 images/s (-22 %); with the Zhong network on a busy CPU
-6 to -18 %. The outputs are derived data that re-running the command recreates: after a power
loss the newest ones may be empty files, and the skip check treats an empty output as missing.
``BatchOptions.durable`` fsyncs every file (``core.fileio.atomic_write_bytes``); the summary CSV,
one file per run, always is (``atomic_write_text``).

Memory: an image is checked from its header before it is decoded; one whose prediction would need
more than ``memory_limit`` (:func:`inspector_app.core.tiling.estimate_bytes`) is refused with its
size and the ``--tile`` option named, or predicted in tiles when ``tile`` is set.

Exit codes (:class:`BatchExit`): 0 every input done (predicted or already done by this model);
1 some inputs failed — unreadable images or folders, refused or failed outputs, a CSV that could
not be written — each named; 2 bad arguments or an unusable model; 3 cancelled; 4 nothing done:
no image found, or every input failed.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from inspector_app.core.annotations import AnnotationError, document_for_image, dump_document
from inspector_app.core.classes import ClassTable
from inspector_app.core.fileio import atomic_write_bytes
from inspector_app.core.images import ImageReadError, image_size, read_image, to_display_rgb8
from inspector_app.core.predictor import PredictorLike
from inspector_app.core.regions import region_stats
from inspector_app.core.tiling import estimate_bytes, predict_in_tiles
from inspector_app.services.batch_csv import Row, csv_header, skipped_row, write_csv
from inspector_app.services.batch_marks import mark_jpeg, mark_png
from inspector_app.services.batch_plan import OVERLAY_DIR, BatchPlan, outputs_for, plan_batch
from inspector_app.services.file_entries import PREDICTION_KEY

__all__ = [
    "OVERLAY_DIR",
    "BatchError",
    "BatchExit",
    "BatchOptions",
    "BatchProgress",
    "BatchReport",
    "csv_header",
    "outputs_for",
    "overlay_rgb",
    "run_batch",
]

OVERLAY_ALPHA = 0.5
#: Default peak memory allowed for one image's prediction (bytes).
DEFAULT_MEMORY_LIMIT = 4 << 30


class BatchExit(IntEnum):
    """Exit codes of ``defect-inspector predict`` (see the module docstring)."""

    OK = 0
    SOME_FAILED = 1
    BAD_ARGUMENTS = 2
    CANCELLED = 3
    NOTHING_DONE = 4


@dataclass
class BatchOptions:
    """What to predict and what to write."""

    model: Path
    input_dir: Path
    output_dir: Path
    masks: bool = False
    labelme: bool = False
    overlays: bool = False
    csv: Path | None = None
    force: bool = False
    #: onnxruntime intra-op threads (None = its default).
    threads: int | None = None
    #: Decode/encode threads around the model.
    io_threads: int = 2
    #: Subfolder depth listed under ``input_dir``.
    max_depth: int = 2
    tolerance: float = 1.0
    #: fsync every output file (see the module docstring: safe against power loss, much slower).
    durable: bool = False
    #: Class table for a model without a card (``--classes classes.yaml``).
    classes: Path | None = None
    #: Peak memory allowed for one image (bytes); larger images are refused unless ``tile``.
    memory_limit: int = DEFAULT_MEMORY_LIMIT
    #: Predict images larger than this many pixels a side in tiles (models of any input size).
    tile: int | None = None

    def __post_init__(self) -> None:
        if not (self.masks or self.labelme or self.overlays or self.csv):
            self.masks = True  # predicting without writing anything is never what was meant


@dataclass
class BatchProgress:
    """Progress after each input."""

    done: int  # processed + skipped + failed
    total: int
    processed: int
    skipped: int
    failed: int  # every input that failed, unreadable ones included (as in the report)
    elapsed_s: float
    current: str = ""

    @property
    def images_per_s(self) -> float:
        """Processed images per second so far."""
        return self.processed / self.elapsed_s if self.elapsed_s > 0 else 0.0


@dataclass
class BatchReport:
    """Outcome of a batch run."""

    total: int = 0
    processed: int = 0
    skipped: int = 0
    #: Every input that was not done, with the reason: unreadable images and folders, refused
    #: outputs, failed predictions or writes.
    failures: list[tuple[str, str]] = field(default_factory=list)
    #: The images among ``failures`` that could not be decoded.
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    #: Images redone because their outputs were written by another model.
    redone: list[str] = field(default_factory=list)
    #: Why the CSV could not be written (empty when it was, or when none was asked for).
    csv_error: str = ""
    elapsed_s: float = 0.0
    cancelled: bool = False
    model_id: str = ""

    @property
    def images_per_s(self) -> float:
        """Processed images per second, end to end."""
        return self.processed / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def done(self) -> int:
        """Inputs dealt with: processed, skipped or failed."""
        return self.processed + self.skipped + len(self.failures)

    def exit_code(self) -> int:
        """A :class:`BatchExit` value (see the module docstring)."""
        if self.cancelled:
            return BatchExit.CANCELLED
        if self.processed + self.skipped == 0:
            return BatchExit.NOTHING_DONE
        if self.failures or self.csv_error:
            return BatchExit.SOME_FAILED
        return BatchExit.OK


class BatchError(RuntimeError):
    """The batch cannot start (bad folder, unusable model); the message says why."""


class _TooLarge(ValueError):
    """An image whose prediction would exceed the memory limit (refused before decoding)."""


# --- output helpers ---------------------------------------------------------------------------


class _Writer:
    """Writes the outputs of one run: atomically always, fsynced only when ``durable``."""

    def __init__(self, durable: bool) -> None:
        self.durable = durable

    def __call__(self, path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, data, durable=self.durable)


def _encode(ext: str, image: np.ndarray, params: Sequence[int] = ()) -> bytes:
    ok, buf = cv2.imencode(ext, image, list(params))
    if not ok:
        raise OSError(f"cannot encode {ext}")
    return buf.tobytes()


def overlay_rgb(
    image: np.ndarray, mask: np.ndarray, palette: np.ndarray, alpha: float = OVERLAY_ALPHA
) -> np.ndarray:
    """uint8 RGB: the display image with class colours blended where ``mask > 0``.

    Only defect pixels are touched (usually a few percent of the image), which is several times
    faster than blending the whole frame.
    """
    rgb = np.array(to_display_rgb8(image), dtype=np.uint8, copy=True)
    ys, xs = np.nonzero(mask)
    if len(ys):
        colours = palette[np.minimum(mask[ys, xs], len(palette) - 1)].astype(np.float32)
        mixed = rgb[ys, xs].astype(np.float32) * (1.0 - alpha) + colours * alpha
        rgb[ys, xs] = (mixed + 0.5).astype(np.uint8)
    return rgb


def prediction_marker(model_id: str) -> dict[str, Any]:
    """The top-level LabelMe key that marks a JSON as written by a model."""
    return {
        PREDICTION_KEY: {
            "source": "prediction",
            "model_id": model_id,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
    }


def _why(exc: BaseException) -> str:
    """An OS error as 'reason (path)' without Python's '[Errno n]' prefix."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror + (f": {exc.filename}" if exc.filename else "")
    return str(exc) or type(exc).__name__


# --- the run ------------------------------------------------------------------------------------


def _load_predictor(options: BatchOptions) -> PredictorLike:
    from inspector_app.core.predictor import Predictor

    table = None
    if options.classes is not None:
        try:
            table = ClassTable.load(options.classes)
        except (OSError, ValueError) as exc:
            raise BatchError(f"--classes {options.classes}: {_why(exc)}") from exc
    try:
        return Predictor(options.model, threads=options.threads, class_table=table)
    except Exception as exc:  # any model problem is a usage error here (exit code 2)
        message = str(exc) or type(exc).__name__
        if table is None and "pass a class table" in message:
            message += " (--classes classes.yaml)"
        raise BatchError(message) from exc


def run_batch(
    options: BatchOptions,
    *,
    progress: Callable[[BatchProgress], None] | None = None,
    cancel: threading.Event | None = None,
    predictor: PredictorLike | None = None,
    on_problem: Callable[[str, str], None] | None = None,
) -> BatchReport:
    """Predict every image under ``options.input_dir``; see the module docstring.

    ``progress`` is called after each input, ``on_problem(name, reason)`` for each input that
    fails (and each image redone because another model wrote its outputs). ``predictor`` lets a
    caller pass an already loaded core ``Predictor``. Raises :class:`BatchError` when the input
    folder cannot be listed, the output folder cannot be made or the model cannot be loaded.
    The CSV is written whatever happened (a failure to write it is ``report.csv_error``).
    """
    from inspector_app.core.polygons import mask_to_shapes

    start = time.perf_counter()
    input_dir = options.input_dir
    if not input_dir.is_dir():
        raise BatchError(f"{input_dir}: not a folder")
    if predictor is None:
        predictor = _load_predictor(options)
    card = predictor.card
    table = card.class_table
    num_classes = int(table.num_classes)
    palette = np.asarray(table.palette(), dtype=np.uint8)
    model_id = str(predictor.model_id)
    try:
        options.output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BatchError(f"{options.output_dir}: cannot create ({_why(exc)})") from exc
    try:
        plan: BatchPlan = plan_batch(options, model_id)
    except OSError as exc:
        raise BatchError(f"{input_dir}: cannot list ({_why(exc)})") from exc

    report = BatchReport(total=len(plan.names) + len(plan.folder_failures), model_id=model_id)
    rows: dict[str, Row] = {}

    def fail(name: str, reason: str, status: str = "failed") -> None:
        report.failures.append((name, reason))
        rows[name] = Row(name, status, error=reason)
        if on_problem is not None:
            on_problem(name, reason)

    for folder, reason in plan.folder_failures:
        fail(folder, reason, "unreadable")
    for name, reason in plan.refused.items():
        fail(name, reason, "refused")
    for name in plan.skipped:
        mask_file = outputs_for(options, name).get("mask")
        rows[name] = skipped_row(name, mask_file, num_classes) if options.csv else Row(name, "skipped")
        report.skipped += 1
    report.redone = list(plan.redone)
    if on_problem is not None:
        for name in plan.redone:
            on_problem(name, "its outputs were written by another model: redone with " + model_id)

    def notify(current: str) -> None:
        if progress is not None:
            progress(
                BatchProgress(
                    report.done,
                    report.total,
                    report.processed,
                    report.skipped,
                    len(report.failures),
                    time.perf_counter() - start,
                    current,
                )
            )

    write = _Writer(options.durable)

    def write_outputs(name: str, image: np.ndarray, mask: np.ndarray) -> None:
        outs = outputs_for(options, name)
        if "mask" in outs:
            data = _encode(".png", mask, (cv2.IMWRITE_PNG_COMPRESSION, 1))
            write(outs["mask"], mark_png(data, model_id))
        if "overlay" in outs:
            rgb = overlay_rgb(image, mask, palette)
            bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
            data = _encode(".jpg", bgr, (cv2.IMWRITE_JPEG_QUALITY, 90))
            write(outs["overlay"], mark_jpeg(data, model_id))
        if "labelme" in outs:
            shapes = mask_to_shapes(mask, table, tolerance=options.tolerance)
            document = document_for_image(
                input_dir / name,
                outs["labelme"],
                shapes,
                height=int(mask.shape[0]),
                width=int(mask.shape[1]),
                extra=prediction_marker(model_id),
            )
            write(outs["labelme"], dump_document(document, str(outs["labelme"])).encode("utf-8"))

    def need(name: str) -> int:
        """Estimated peak bytes of one image, from its header; _TooLarge over the limit."""
        height, width = image_size(input_dir / name)
        tile = options.tile if card.input_size is None else None
        estimate = estimate_bytes(card, height, width, tile=tile)
        if estimate > options.memory_limit:
            hint = "" if tile else "; predict it in tiles with --tile 2048, or"
            raise _TooLarge(
                f"{width}x{height} px: predicting it needs about {estimate / 2**30:.1f} GiB, over the "
                f"{options.memory_limit / 2**30:.1f} GiB limit{hint} raise --memory-limit"
            )
        return estimate

    def predict(image: np.ndarray) -> tuple[np.ndarray, float]:
        if options.tile and card.input_size is None and max(image.shape[:2]) > options.tile:
            t0 = time.perf_counter()
            mask = predict_in_tiles(lambda w: predictor.predict(w).mask, image, options.tile)
            return mask, (time.perf_counter() - t0) * 1000.0
        prediction = predictor.predict(image)
        return prediction.mask, float(prediction.elapsed_ms)

    notify("")
    io_threads = max(1, options.io_threads)
    with (
        ThreadPoolExecutor(io_threads, thread_name_prefix="batch-read") as readers,
        ThreadPoolExecutor(io_threads, thread_name_prefix="batch-write") as writers,
    ):
        # Read-ahead and pending writes hold decoded images: besides the count, their estimated
        # bytes together stay within the memory limit (huge images go one at a time).
        read_ahead = 2 * io_threads + 2
        reads: deque[tuple[str, Future[np.ndarray], int]] = deque()
        writes: deque[tuple[str, Future[None], int]] = deque()
        pending = deque(plan.todo)
        held = [0]  # bytes of the image being predicted
        needs: dict[str, int] = {}  # estimates of images held back by the budget

        def in_flight() -> int:
            return held[0] + sum(n for _, _, n in reads) + sum(n for _, _, n in writes)

        def fill() -> None:
            while len(reads) < read_ahead and pending:
                name = pending[0]
                try:
                    estimate = needs[name] if name in needs else needs.setdefault(name, need(name))
                except (ImageReadError, _TooLarge) as exc:
                    failed: Future[np.ndarray] = Future()
                    failed.set_exception(exc)
                    reads.append((pending.popleft(), failed, 0))
                    continue
                busy = bool(reads or writes or held[0])
                if busy and in_flight() + estimate > options.memory_limit:
                    return
                reads.append((pending.popleft(), readers.submit(read_image, input_dir / name), estimate))

        def drain(limit: int) -> None:
            while writes and (len(writes) > limit or in_flight() > options.memory_limit):
                name, fut, _ = writes.popleft()
                try:
                    fut.result()
                except (OSError, AnnotationError, ValueError) as exc:
                    report.processed -= 1
                    fail(name, f"cannot write its outputs: {_why(exc)}")

        fill()
        while reads or pending:
            if cancel is not None and cancel.is_set():
                report.cancelled = True
                for _name, fut, _n in reads:
                    fut.cancel()
                break
            if not reads:  # the memory budget held the next image back: finish the writes first
                drain(0)
                fill()
                continue
            name, future, estimate = reads.popleft()
            held[0] = estimate
            fill()
            try:
                image = future.result()
            except ImageReadError as exc:
                held[0] = 0
                report.unreadable.append((name, exc.problem))
                fail(name, f"unreadable image: {exc.problem}", "unreadable")
                notify(name)
                continue
            except _TooLarge as exc:
                held[0] = 0
                fail(name, f"too large: {exc}", "too large")
                notify(name)
                continue
            except Exception as exc:  # e.g. MemoryError decoding: named, the batch goes on
                held[0] = 0
                fail(name, f"cannot read: {type(exc).__name__}: {exc}")
                notify(name)
                continue
            try:
                mask, elapsed_ms = predict(image)
            except Exception as exc:  # a model failing on one image must not stop the batch
                held[0] = 0
                fail(name, f"prediction failed: {exc}")
                notify(name)
                continue
            stats = tuple((int(a), int(r)) for a, r in region_stats(mask, num_classes)) if options.csv else ()
            rows[name] = Row(name, "predicted", int(mask.shape[0]), int(mask.shape[1]), elapsed_ms, stats)
            report.processed += 1
            writes.append((name, writers.submit(write_outputs, name, image, mask), estimate))
            held[0] = 0
            del image, mask
            drain(read_ahead)
            notify(name)
        drain(0)
    if options.csv:
        order = [folder for folder, _ in plan.folder_failures] + plan.names
        try:
            write_csv(options.csv, [rows[n] for n in order if n in rows], table, model_id)
        except OSError as exc:
            report.csv_error = f"cannot write the CSV {options.csv}: {_why(exc)}"
    report.elapsed_s = time.perf_counter() - start
    notify("")
    return report
