"""Decoding a dataset once into memory: uint8 images and class masks at the training size.

Training at 480x640 on two CPU cores leaves ~30 ms per image for the whole step, so nothing is
decoded twice: every image is read, converted to uint8 with 1 or 3 channels, resized to the
training size and kept in RAM (400 aluminium images are ~370 MB; grey images are kept with one
channel and expanded only when a batch is built). Masks rasterised from LabelMe JSON are also
kept in a process-wide memory cache and, optionally, in an on-disk cache keyed by the JSON file's
path, mtime and size and by the class table's drawing rules (so editing either invalidates it).

Problems with single files (unreadable image or JSON, image/annotation size mismatch, mask values
outside the class table, shapes that cannot be drawn) are collected as :class:`BadSample`; the
caller decides whether their share is tolerable (``max_bad_fraction``). Labels missing from the
class table are a dataset-wide problem reported separately (:func:`collect_labels`).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from inspector_app.core.annotations import AnnotationError, Document, load_document
from inspector_app.core.classes import ClassTable
from inspector_app.core.fileio import atomic_write_bytes
from inspector_app.core.images import ImageReadError, image_size, read_image
from inspector_app.core.masks import ShapeError, UnknownLabelError, rasterize
from trainer.data.samples import Sample

#: uint8 images and masks (cv2 returns untyped arrays, so the dtype is documented, not typed)
U8 = np.ndarray
#: At most this many pixel positions per class and image are kept for crops centred on a class.
FOCUS_POINTS = 64
_MASK_MEMORY: dict[str, U8] = {}


@dataclass(frozen=True)
class BadSample:
    """A sample that cannot be used, with the file to blame and why."""

    path: Path
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass
class LoadedSample:
    """A decoded sample at training size; ``image`` is uint8 HxW (grey) or HxWx3, ``mask`` uint8 HxW."""

    stem: str
    image: U8
    mask: U8
    #: pixels per class (length = number of classes)
    class_pixels: npt.NDArray[np.int64]
    #: class index -> (N, 2) int32 array of (row, col) positions of that class (N <= FOCUS_POINTS)
    focus: dict[int, npt.NDArray[np.int32]] = field(default_factory=dict)

    @property
    def dominant_class(self) -> int:
        """The non-background class with most pixels (0 when the image has no defect)."""
        counts = self.class_pixels[1:]
        return int(np.argmax(counts)) + 1 if counts.size and counts.max() > 0 else 0


def read_documents(samples: Sequence[Sample]) -> tuple[dict[str, Document], list[BadSample]]:
    """Parse the LabelMe JSON of every sample that has one (stem -> document) and the failures."""
    documents: dict[str, Document] = {}
    bad: list[BadSample] = []
    for sample in samples:
        if sample.annotation is None:
            continue
        try:
            documents[sample.stem] = load_document(sample.annotation)
        except AnnotationError as exc:
            bad.append(BadSample(sample.annotation, str(exc).removeprefix(f"{sample.annotation}: ")))
    return documents, bad


def collect_labels(documents: dict[str, Document], samples: Sequence[Sample]) -> dict[str, list[Path]]:
    """Every shape label used, with the JSON files using it (for unknown-label messages)."""
    files = {s.stem: s.annotation for s in samples}
    labels: dict[str, list[Path]] = {}
    for stem, document in documents.items():
        path = files.get(stem)
        for shape in document.shapes:
            users = labels.setdefault(shape.label, [])
            if path is not None and path not in users:
                users.append(path)
    return labels


def probe_sizes(samples: Sequence[Sample]) -> tuple[dict[str, tuple[int, int]], list[BadSample]]:
    """``(H, W)`` of every image from its header (cheap), and the unreadable ones."""
    sizes: dict[str, tuple[int, int]] = {}
    bad: list[BadSample] = []
    for sample in samples:
        try:
            sizes[sample.stem] = image_size(sample.image)
        except ImageReadError as exc:
            bad.append(BadSample(sample.image, exc.problem))
    return sizes, bad


def to_uint8(image: np.ndarray, channels: int) -> U8:
    """uint8 HxWx3 for colour input with ``channels`` = 3, else HxW grey (kept compact).

    16-bit samples are scaled by 1/257 (full range to full range, as 8-bit data is /255 -> 0..1, the
    same 0..1 scale the model card's mean/std refer to). Alpha is dropped.
    """
    if image.dtype == np.uint16:
        image = (image.astype(np.uint32) * 255 + 32767) // 65535
        image = image.astype(np.uint8)
    if image.ndim == 3 and image.shape[2] == 4:
        image = image[:, :, :3]
    if image.ndim == 3 and channels == 1:
        image = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)
    return np.ascontiguousarray(image, dtype=np.uint8)


def resize_pair(image: U8, mask: U8, size: tuple[int, int]) -> tuple[U8, U8]:
    """Resize to ``size`` (H, W): area/linear for the image, nearest for the class mask."""
    h, w = size
    if image.shape[:2] == (h, w):
        return image, mask
    shrink = h * w < image.shape[0] * image.shape[1]
    resized = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    return resized, cv2.resize(mask, (w, h), interpolation=cv2.INTER_NEAREST)


def _table_key(table: ClassTable) -> str:
    return hashlib.sha1(json.dumps(table.to_dict(), sort_keys=True).encode()).hexdigest()[:16]


def _mask_key(path: Path, shape: tuple[int, int], table_key: str) -> str:
    stat = path.stat()
    text = f"{path.resolve()}|{stat.st_mtime_ns}|{stat.st_size}|{shape}|{table_key}"
    return hashlib.sha1(text.encode()).hexdigest()


def rasterize_cached(
    document: Document,
    json_path: Path,
    table: ClassTable,
    shape: tuple[int, int],
    cache_dir: Path | None,
    table_key: str | None = None,
) -> U8:
    """``rasterize`` with the memory cache and the optional on-disk cache (PNG per key)."""
    key = _mask_key(json_path, shape, table_key or _table_key(table))
    cached = _MASK_MEMORY.get(key)
    if cached is not None:
        return cached
    disk = cache_dir / f"{key}.png" if cache_dir is not None else None
    if disk is not None and disk.is_file():
        mask = cv2.imread(os.fspath(disk), cv2.IMREAD_UNCHANGED)
        if mask is not None and mask.shape == shape and mask.dtype == np.uint8:
            _MASK_MEMORY[key] = mask
            return mask
    mask = rasterize(document, table, shape)
    _MASK_MEMORY[key] = mask
    if disk is not None:
        disk.parent.mkdir(parents=True, exist_ok=True)
        ok, png = cv2.imencode(".png", mask)
        if ok:  # a cache: atomic but not fsynced, it is rebuilt when lost
            atomic_write_bytes(disk, png.tobytes(), durable=False)
    return mask


def _focus_points(
    mask: U8, counts: npt.NDArray[np.int64], rng: np.random.Generator
) -> dict[int, npt.NDArray[np.int32]]:
    """Up to FOCUS_POINTS random pixel positions of every class present except the background."""
    out: dict[int, npt.NDArray[np.int32]] = {}
    for cls in np.nonzero(counts[1:])[0] + 1:
        rows, cols = np.nonzero(mask == cls)
        pick = rng.choice(len(rows), size=min(FOCUS_POINTS, len(rows)), replace=False)
        out[int(cls)] = np.stack([rows[pick], cols[pick]], axis=1).astype(np.int32)
    return out


@dataclass
class LoadOptions:
    """How :func:`load_sample` decodes: target size, channels, class count, mask cache."""

    size: tuple[int, int]
    channels: int
    table: ClassTable
    cache_dir: Path | None = None
    table_key: str = ""
    #: mask PNG value -> class index (when the PNGs use another table's indices), None = identity
    mask_lut: npt.NDArray[np.uint8] | None = None
    #: number of classes the mask PNG values refer to (0 = the table's)
    mask_classes: int = 0


def load_sample(sample: Sample, document: Document | None, options: LoadOptions) -> LoadedSample | BadSample:
    """Decode one sample (never raises for problems of the sample's own files)."""
    try:
        raw = read_image(sample.image)
    except ImageReadError as exc:
        return BadSample(sample.image, exc.problem)
    height, width = raw.shape[:2]
    num_classes = options.table.num_classes
    if sample.mask is not None:
        try:
            mask = read_image(sample.mask)
        except ImageReadError as exc:
            return BadSample(sample.mask, exc.problem)
        if mask.ndim != 2 or mask.dtype != np.uint8:
            return BadSample(
                sample.mask, f"a class mask must be 8-bit single-channel, got {mask.dtype} {mask.shape}"
            )
        if mask.shape != (height, width):
            return BadSample(
                sample.mask,
                f"size mismatch: mask is {mask.shape[0]}x{mask.shape[1]} (HxW) but image "
                f"{sample.image.name} is {height}x{width}",
            )
        top = int(mask.max(initial=0))
        limit = options.mask_classes or num_classes
        if top >= limit:
            return BadSample(
                sample.mask, f"mask value {top} is not a class index (the class table has {limit})"
            )
        if options.mask_lut is not None:
            mask = options.mask_lut[mask]
    else:
        assert document is not None and sample.annotation is not None
        declared = (document.image_height, document.image_width)
        if (declared[0] is not None and declared[0] != height) or (
            declared[1] is not None and declared[1] != width
        ):
            return BadSample(
                sample.annotation,
                f"size mismatch: the annotation declares {declared[0]}x{declared[1]} (HxW) but image "
                f"{sample.image.name} is {height}x{width}",
            )
        try:
            mask = rasterize_cached(
                document,
                sample.annotation,
                options.table,
                (height, width),
                options.cache_dir,
                options.table_key,
            )
        except ShapeError as exc:
            return BadSample(sample.annotation, str(exc))
        except UnknownLabelError:  # checked dataset-wide before loading; a race with an editor
            raise
    image, mask = resize_pair(to_uint8(raw, options.channels), mask, options.size)
    counts = np.bincount(mask.ravel(), minlength=num_classes)[:num_classes].astype(np.int64)
    seed = int.from_bytes(hashlib.sha1(sample.stem.encode()).digest()[:4], "little")
    focus = _focus_points(mask, counts, np.random.default_rng(seed))
    return LoadedSample(sample.stem, image, np.ascontiguousarray(mask), counts, focus)


def load_all(
    samples: Sequence[Sample],
    documents: dict[str, Document],
    options: LoadOptions,
    *,
    threads: int = 2,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[LoadedSample], list[BadSample]]:
    """Decode ``samples`` (in order) with a small thread pool (cv2 and file reads release the GIL)."""
    if not options.table_key:
        options.table_key = _table_key(options.table)
    loaded: list[LoadedSample] = []
    bad: list[BadSample] = []
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        results = pool.map(lambda s: load_sample(s, documents.get(s.stem), options), samples)
        for done, result in enumerate(results, start=1):
            (bad if isinstance(result, BadSample) else loaded).append(result)  # type: ignore[arg-type]
            if progress is not None:
                progress(done, len(samples))
    return loaded, bad


def channel_stats(samples: Sequence[LoadedSample], channels: int) -> tuple[list[float], list[float]]:
    """Mean and std per channel on 0..1 pixels over all ``samples`` (grey counts for every channel)."""
    total = np.zeros(channels)
    square = np.zeros(channels)
    count = 0
    for s in samples:
        pixels = s.image.reshape(s.image.shape[0] * s.image.shape[1], -1).astype(np.float64) / 255.0
        sums, squares = pixels.sum(axis=0), (pixels * pixels).sum(axis=0)
        total += np.broadcast_to(sums, (channels,)) if sums.size == 1 else sums
        square += np.broadcast_to(squares, (channels,)) if squares.size == 1 else squares
        count += pixels.shape[0]
    if count == 0:
        return [0.0] * channels, [1.0] * channels
    mean = total / count
    std = np.sqrt(np.maximum(square / count - mean * mean, 1e-12))
    return [round(float(m), 5) for m in mean], [round(max(float(s), 1e-3), 5) for s in std]
