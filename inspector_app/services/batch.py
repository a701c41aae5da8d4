"""Headless batch prediction: ``defect-inspector predict --model M --input DIR --output DIR ...``.

Never imports Qt (it runs on machines without a display). The GUI runs the same
:func:`run_batch` in a QThread (:mod:`inspector_app.jobs.batch_job`).

Pipeline: a small thread pool decodes images ahead of the model (bounded read-ahead), the calling
thread runs the model (onnxruntime releases the GIL), and a second pool encodes and writes the
outputs (OpenCV's codecs release the GIL too), so reading, inference and writing overlap.

Outputs, mirroring the input's relative paths under ``--output``:

* ``--masks``:    ``<stem>.png``, uint8 class-index mask (the model card's class table);
* ``--labelme``:  ``<stem>.json``, LabelMe polygons marked as a prediction (top-level key
  ``defect_inspector: {"source": "prediction", "model_id": ..., "created": ...}``), imagePath
  relative to the JSON pointing at the input image;
* ``--overlays``: ``overlays/<stem>.jpg``, the image with the mask colour-blended;
* ``--csv FILE``: one row per image: status, size, areas (px and %) and region counts per class.

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

An image whose requested outputs all exist (and are not empty) is skipped unless ``--force``.
Unreadable images are named on stderr and skipped; the exit code is 0 when every readable image
was processed, 2 for bad arguments or an unusable model, 3 when cancelled, 1 when some image
failed.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import stat
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import cv2
import numpy as np

from inspector_app.core.annotations import AnnotationError, document_for_image, dump_document
from inspector_app.core.cli_paths import path_arg
from inspector_app.core.fileio import atomic_write_bytes, atomic_write_text
from inspector_app.core.images import ImageReadError, read_image, to_display_rgb8
from inspector_app.core.regions import region_stats
from inspector_app.services.file_entries import PREDICTION_KEY, iter_listing

OVERLAY_DIR = "overlays"
OVERLAY_ALPHA = 0.5


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

    def __post_init__(self) -> None:
        if not (self.masks or self.labelme or self.overlays or self.csv):
            self.masks = True  # predicting without writing anything is never what was meant


@dataclass
class BatchProgress:
    """Progress after each image."""

    done: int  # processed + skipped + unreadable + failed
    total: int
    processed: int
    skipped: int
    failed: int  # unreadable + failed
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
    #: Images that could not be decoded (named and skipped; not an error of the run).
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    #: Images whose prediction or output writing failed.
    failures: list[tuple[str, str]] = field(default_factory=list)
    elapsed_s: float = 0.0
    cancelled: bool = False
    model_id: str = ""

    @property
    def images_per_s(self) -> float:
        """Processed images per second, end to end."""
        return self.processed / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def done(self) -> int:
        """Images dealt with: processed, skipped, unreadable or failed."""
        return self.processed + self.skipped + len(self.unreadable) + len(self.failures)

    def exit_code(self) -> int:
        """3 cancelled, 1 a prediction or a write failed, else 0 (unreadable images are skipped)."""
        if self.cancelled:
            return 3
        return 1 if self.failures else 0


class BatchError(RuntimeError):
    """The batch cannot start (bad folder, unusable model); the message says why."""


# --- output helpers ---------------------------------------------------------------------------


def outputs_for(options: BatchOptions, name: str) -> dict[str, Path]:
    """The per-image output files requested for input image ``name`` (relative POSIX)."""
    stem = os.path.splitext(name)[0]
    out: dict[str, Path] = {}
    if options.masks:
        out["mask"] = options.output_dir / f"{stem}.png"
    if options.labelme:
        out["labelme"] = options.output_dir / f"{stem}.json"
    if options.overlays:
        out["overlay"] = options.output_dir / OVERLAY_DIR / f"{stem}.jpg"
    return out


class _Writer:
    """Writes the outputs of one run: atomically always, fsynced only when ``durable``."""

    def __init__(self, durable: bool) -> None:
        self.durable = durable

    def __call__(self, path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, data, durable=self.durable)


def _done(path: Path) -> bool:
    """An output of an earlier run: present and not empty (see the module docstring)."""
    try:
        info = path.stat()
    except OSError:
        return False
    return stat.S_ISREG(info.st_mode) and info.st_size > 0


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


# --- the run ------------------------------------------------------------------------------------


@dataclass
class _Row:
    name: str
    status: str
    height: int = 0
    width: int = 0
    elapsed_ms: float = 0.0
    stats: tuple[tuple[int, int], ...] = ()
    error: str = ""


def list_inputs(input_dir: Path, max_depth: int = 2) -> list[str]:
    """Image names under ``input_dir`` (relative POSIX, natural order per folder)."""
    return [n for chunk, _jsons in iter_listing(input_dir, max_depth=max_depth) for n in chunk]


def run_batch(
    options: BatchOptions,
    *,
    progress: Callable[[BatchProgress], None] | None = None,
    cancel: threading.Event | None = None,
    predictor: Any = None,
    on_problem: Callable[[str, str], None] | None = None,
) -> BatchReport:
    """Predict every image under ``options.input_dir``; see the module docstring.

    ``progress`` is called after each image, ``on_problem(name, reason)`` for each image that is
    unreadable or fails. ``predictor`` lets a caller pass an already loaded core ``Predictor``. Raises
    :class:`BatchError` when the input folder cannot be listed or the model cannot be loaded.
    """
    from inspector_app.core.polygons import mask_to_shapes

    start = time.perf_counter()
    input_dir = options.input_dir
    if not input_dir.is_dir():
        raise BatchError(f"{input_dir}: not a folder")
    try:
        names = list_inputs(input_dir, options.max_depth)
    except OSError as exc:
        raise BatchError(f"{input_dir}: cannot list ({exc.strerror or exc})") from exc
    if predictor is None:
        from inspector_app.core.predictor import Predictor

        try:
            predictor = Predictor(options.model, threads=options.threads)
        except Exception as exc:  # any model problem is a usage error here (exit code 2)
            raise BatchError(str(exc) or type(exc).__name__) from exc
    table = predictor.card.class_table
    num_classes = int(table.num_classes)
    palette = np.asarray(table.palette(), dtype=np.uint8)
    model_id = str(predictor.model_id)
    try:
        options.output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BatchError(f"{options.output_dir}: cannot create ({exc.strerror or exc})") from exc

    report = BatchReport(total=len(names), model_id=model_id)
    rows: dict[str, _Row] = {}
    todo: list[str] = []
    for name in names:
        outs = outputs_for(options, name)
        if not options.force and outs and all(_done(p) for p in outs.values()):
            mask_file = outs.get("mask")
            rows[name] = _skipped_row(name, mask_file, num_classes) if options.csv else _Row(name, "skipped")
            report.skipped += 1
        else:
            todo.append(name)

    def notify(current: str) -> None:
        if progress is not None:
            progress(
                BatchProgress(
                    report.done,
                    report.total,
                    report.processed,
                    report.skipped,
                    len(report.failures) + len(report.unreadable),
                    time.perf_counter() - start,
                    current,
                )
            )

    write = _Writer(options.durable)

    def write_outputs(name: str, image: np.ndarray, mask: np.ndarray) -> None:
        outs = outputs_for(options, name)
        if "mask" in outs:
            write(outs["mask"], _encode(".png", mask, (cv2.IMWRITE_PNG_COMPRESSION, 1)))
        if "overlay" in outs:
            rgb = overlay_rgb(image, mask, palette)
            bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
            write(outs["overlay"], _encode(".jpg", bgr, (cv2.IMWRITE_JPEG_QUALITY, 90)))
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

    notify("")
    io_threads = max(1, options.io_threads)
    with (
        ThreadPoolExecutor(io_threads, thread_name_prefix="batch-read") as readers,
        ThreadPoolExecutor(io_threads, thread_name_prefix="batch-write") as writers,
    ):
        read_ahead = 2 * io_threads + 2
        reads: deque[tuple[str, Future[np.ndarray]]] = deque()
        writes: deque[tuple[str, Future[None]]] = deque()
        pending = iter(todo)

        def fill() -> None:
            while len(reads) < read_ahead:
                name = next(pending, None)
                if name is None:
                    return
                reads.append((name, readers.submit(read_image, input_dir / name)))

        def drain(limit: int) -> None:
            while len(writes) > limit:
                name, fut = writes.popleft()
                try:
                    fut.result()
                except (OSError, AnnotationError, ValueError) as exc:
                    rows[name].status, rows[name].error = "failed", f"cannot write: {exc}"
                    report.processed -= 1
                    report.failures.append((name, rows[name].error))
                    if on_problem is not None:
                        on_problem(name, rows[name].error)

        fill()
        while reads:
            if cancel is not None and cancel.is_set():
                report.cancelled = True
                for _name, fut in reads:
                    fut.cancel()
                break
            name, future = reads.popleft()
            fill()
            try:
                image = future.result()
            except ImageReadError as exc:
                report.unreadable.append((name, exc.problem))
                rows[name] = _Row(name, "unreadable", error=exc.problem)
                if on_problem is not None:
                    on_problem(name, f"unreadable image: {exc.problem}")
                notify(name)
                continue
            try:
                prediction = predictor.predict(image)
            except Exception as exc:  # a model failing on one image must not stop the batch
                reason = f"prediction failed: {exc}"
                report.failures.append((name, reason))
                rows[name] = _Row(name, "failed", error=reason)
                if on_problem is not None:
                    on_problem(name, reason)
                notify(name)
                continue
            mask = prediction.mask
            stats = tuple((int(a), int(r)) for a, r in region_stats(mask, num_classes)) if options.csv else ()
            rows[name] = _Row(
                name, "predicted", int(mask.shape[0]), int(mask.shape[1]), float(prediction.elapsed_ms), stats
            )
            report.processed += 1
            writes.append((name, writers.submit(write_outputs, name, image, mask)))
            drain(read_ahead)
            notify(name)
        drain(0)
    if options.csv:
        _write_csv(options.csv, [rows[n] for n in names if n in rows], table, model_id)
    report.elapsed_s = time.perf_counter() - start
    notify("")
    return report


def _skipped_row(name: str, mask_path: Path | None, num_classes: int) -> _Row:
    """A CSV row for an image done earlier: statistics from its mask file when there is one."""
    if mask_path is None:
        return _Row(name, "skipped")
    try:
        mask = read_image(mask_path)
    except ImageReadError as exc:
        return _Row(name, "skipped", error=f"mask {mask_path}: {exc.problem}")
    if mask.ndim != 2 or mask.dtype != np.uint8 or int(mask.max(initial=0)) >= num_classes:
        problem = "not a class-index mask of this model (use --force to redo it)"
        return _Row(name, "skipped", error=f"mask {mask_path}: {problem}")
    stats = tuple((int(a), int(r)) for a, r in region_stats(mask, num_classes))
    return _Row(name, "skipped", int(mask.shape[0]), int(mask.shape[1]), 0.0, stats)


def csv_header(table: Any) -> list[str]:
    """Column names of the per-image CSV."""
    header = ["image", "status", "height", "width", "model_id", "elapsed_ms", "defect_px", "defect_pct"]
    for info in table.classes[1:]:
        header += [f"{info.label}_px", f"{info.label}_pct", f"{info.label}_regions"]
    return [*header, "error"]


def _write_csv(path: Path, rows: list[_Row], table: Any, model_id: str) -> None:
    """The summary, atomically and fsynced (one file per run: the cost does not matter)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = io.StringIO(newline="")
    writer = csv.writer(fh)
    writer.writerow(csv_header(table))
    for row in rows:
        pixels = row.height * row.width
        line: list[Any] = [row.name, row.status, row.height or "", row.width or "", model_id]
        line.append(f"{row.elapsed_ms:.2f}" if row.status == "predicted" else "")
        if row.stats:
            defect = sum(a for a, _r in row.stats[1:])
            line += [defect, f"{100.0 * defect / pixels:.4f}" if pixels else ""]
            for area, regions in row.stats[1:]:
                line += [area, f"{100.0 * area / pixels:.4f}" if pixels else "", regions]
        else:
            line += [""] * (2 + 3 * (int(table.num_classes) - 1))
        writer.writerow([*line, row.error])
    atomic_write_text(path, fh.getvalue())


# --- command line -------------------------------------------------------------------------------


def build_parser(prog: str = "defect-inspector predict") -> argparse.ArgumentParser:
    """Arguments of the ``predict`` subcommand."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Predict defect masks for every image of a folder (headless, no display needed).",
    )
    parser.add_argument("--model", required=True, type=path_arg, help="ONNX model with its model card")
    parser.add_argument("--input", required=True, type=path_arg, help="folder of images (subfolders too)")
    parser.add_argument("--output", required=True, type=path_arg, help="folder for the results")
    parser.add_argument("--masks", action="store_true", help="write <stem>.png class-index masks (default)")
    parser.add_argument("--labelme", action="store_true", help="write <stem>.json LabelMe predictions")
    parser.add_argument("--overlays", action="store_true", help=f"write {OVERLAY_DIR}/<stem>.jpg overlays")
    parser.add_argument("--csv", type=Path, metavar="FILE", help="write a per-image summary CSV")
    parser.add_argument("--force", action="store_true", help="redo images whose outputs already exist")
    parser.add_argument("--threads", type=int, default=None, help="inference threads (default: auto)")
    parser.add_argument("--io-threads", type=int, default=2, help="decode/encode threads (default 2)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    return parser


class _StderrProgress:
    """Progress lines on stderr at most every half second (and at the end)."""

    def __init__(self, stream: TextIO, quiet: bool) -> None:
        self.stream = stream
        self.quiet = quiet
        self.last = 0.0
        self.finished = False

    def __call__(self, p: BatchProgress) -> None:
        now = time.monotonic()
        end = p.done == p.total
        if self.quiet or not p.total or (end and self.finished):
            return
        if now - self.last >= 0.5 or end:
            self.last = now
            self.finished = end
            print(
                f"predict: {p.done}/{p.total}  {p.images_per_s:.1f} img/s  "
                f"skipped {p.skipped}  failed {p.failed}",
                file=self.stream,
                flush=True,
            )


def main(argv: Sequence[str] | None = None, *, stream: TextIO | None = None) -> int:
    """Run ``predict`` from the command line; returns the exit code."""
    err = stream or sys.stderr
    args = build_parser().parse_args(argv)
    options = BatchOptions(
        model=args.model,
        input_dir=args.input,
        output_dir=args.output,
        masks=args.masks,
        labelme=args.labelme,
        overlays=args.overlays,
        csv=args.csv,
        force=args.force,
        threads=args.threads,
        io_threads=args.io_threads,
    )

    def on_problem(name: str, reason: str) -> None:
        print(f"predict: skipped {name}: {reason}", file=err, flush=True)

    try:
        report = run_batch(options, progress=_StderrProgress(err, args.quiet), on_problem=on_problem)
    except BatchError as exc:
        print(f"predict: error: {exc}", file=err)
        return 2
    except KeyboardInterrupt:
        print("predict: cancelled", file=err)
        return 3
    print(
        f"predict: {report.processed} predicted, {report.skipped} already done, "
        f"{len(report.unreadable)} unreadable, {len(report.failures)} failed; "
        f"{report.elapsed_s:.1f} s, {report.images_per_s:.1f} img/s (model {report.model_id})",
        file=err,
    )
    return report.exit_code()


def iter_rows(csv_path: Path) -> Iterator[dict[str, str]]:
    """Read back the per-image CSV (for tools and tests)."""
    with open(csv_path, newline="", encoding="utf-8") as fh:
        yield from csv.DictReader(fh)
