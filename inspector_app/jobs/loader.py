"""Image loading off the GUI thread, newest request wins, with neighbour prefetch into an LRU cache.

Decoding a 640x480 PNG takes a few milliseconds, a 20-megapixel 16-bit TIFF a few hundred: the
GUI thread never decodes. When the operator pages through images the loader decodes the one asked
for last (older requests not started are dropped) and, when idle, the next and previous images,
so that the common "next" step finds its image already decoded.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot

from inspector_app.core.annotations import AnnotationError, Document, load_document
from inspector_app.core.images import ImageReadError, read_image, to_display_rgb8
from inspector_app.core.jsonchunks import collector_paused
from inspector_app.services.cache import LruCache
from inspector_app.services.project import annotation_path
from inspector_app.services.review_log import content_hash


@dataclass(frozen=True)
class LoadedImage:
    """A decoded image (or why it could not be read)."""

    request_id: int
    name: str
    path: Path
    #: ``name|mtime_ns|size``: changes when the file changes (keys the prediction cache).
    image_id: str
    image: np.ndarray | None
    display: np.ndarray | None  # uint8 HxWx3 RGB for the canvas
    error: str | None = None
    read_ms: float = 0.0
    #: digest of the file's bytes for the review log, computed here so a verdict never reads
    #: the file on the GUI thread (large TIFFs, network drives); "" when it could not be read
    content_hash: str = ""
    #: The LabelMe document beside the image, parsed here so that a large JSON never blocks the
    #: GUI thread: (document or None when absent/unreadable, why unreadable, the JSON's mtime_ns
    #: when read; None when there is no file). The session re-reads only if the mtime changed.
    annotation: tuple[Document | None, str | None, int | None] = (None, None, None)
    #: size in bytes of the JSON read (a rough measure of the parsed document's memory)
    annotation_bytes: int = 0

    @property
    def nbytes(self) -> int:
        """Memory held by the arrays (the display array may share the image's buffer) and the
        parsed document (estimated at three times its file's size)."""
        total = 0 if self.image is None else int(self.image.nbytes)
        if self.display is not None and self.display is not self.image:
            total += int(self.display.nbytes)
        return total + 3 * self.annotation_bytes + 256

    def annotation_current(self) -> bool:
        """The document read here is still the file on disk (one ``stat``)."""
        return self.annotation[2] == json_mtime(annotation_path(self.path))


def json_mtime(path: Path) -> int | None:
    """mtime_ns of a file, None when absent."""
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


def read_annotation(image_path: Path) -> tuple[tuple[Document | None, str | None, int | None], int]:
    """((document, unreadable reason, mtime), file size) of the JSON beside ``image_path``."""
    path = annotation_path(image_path)
    try:
        st = os.stat(path)
    except OSError:
        return (None, None, None), 0
    try:
        with collector_paused():
            return (load_document(path), None, st.st_mtime_ns), st.st_size
    except (AnnotationError, OSError, UnicodeError) as exc:
        return (None, str(exc), st.st_mtime_ns), st.st_size


def image_id_for(name: str, path: Path) -> str:
    """Identity of an image file's current content (cheap: one ``stat``)."""
    try:
        st = os.stat(path)
    except OSError:
        return f"{name}|missing"
    return f"{name}|{st.st_mtime_ns}|{st.st_size}"


def load_image(request_id: int, name: str, path: Path) -> LoadedImage:
    """Decode one image (any thread); errors become ``LoadedImage.error``."""
    start = time.perf_counter()
    image_id = image_id_for(name, path)
    try:
        image = read_image(path)
        display = to_display_rgb8(image)
    except ImageReadError as exc:
        return LoadedImage(request_id, name, path, image_id, None, None, exc.problem)
    except (OSError, ValueError, TypeError) as exc:
        return LoadedImage(request_id, name, path, image_id, None, None, str(exc))
    try:
        digest = content_hash(path)
    except OSError:
        digest = ""
    annotation, annotation_bytes = read_annotation(path)
    return LoadedImage(
        request_id,
        name,
        path,
        image_id,
        image,
        display,
        None,
        (time.perf_counter() - start) * 1e3,
        digest,
        annotation,
        annotation_bytes,
    )


def _still_current(cached: LoadedImage, name: str, path: Path) -> bool:
    return cached.image_id == image_id_for(name, path) and cached.annotation_current()


class _LoaderWorker(QObject):
    loaded = Signal(object)  # LoadedImage

    def __init__(self, cache: LruCache[str, LoadedImage]) -> None:
        super().__init__()
        self._cache = cache
        self._lock = threading.Lock()
        self._pending: tuple[int, str, Path] | None = None
        self._prefetch: list[tuple[str, Path]] = []

    def post(self, request_id: int, name: str, path: Path) -> None:
        with self._lock:
            self._pending = (request_id, name, path)

    def post_prefetch(self, items: list[tuple[str, Path]]) -> None:
        with self._lock:
            self._prefetch = list(items)

    @Slot()
    def process(self) -> None:
        while True:
            with self._lock:
                pending, self._pending = self._pending, None
                item = self._prefetch.pop(0) if pending is None and self._prefetch else None
            if pending is not None:
                result = load_image(*pending)
                if result.error is None:
                    self._cache.put(str(result.path), result)
                self.loaded.emit(result)
            elif item is not None:
                name, path = item
                key = str(path)
                cached = self._cache.get(key)
                if cached is None or not _still_current(cached, name, path):
                    result = load_image(0, name, path)
                    if result.error is None:
                        self._cache.put(key, result)
            else:
                return


class ImageLoader(QObject):
    """GUI-side facade: ``request`` an image, get ``loaded(LoadedImage)`` for the newest request."""

    loaded = Signal(object)
    _wake = Signal()

    def __init__(self, parent: QObject | None = None, *, cache_bytes: int = 32 << 20) -> None:
        super().__init__(parent)
        self.cache: LruCache[str, LoadedImage] = LruCache(cache_bytes, lambda r: r.nbytes, max_items=8)
        self._ids = itertools.count(1)
        self._latest = 0
        self._thread = QThread()
        self._thread.setObjectName("image-loader")
        self._worker = _LoaderWorker(self.cache)
        self._worker.moveToThread(self._thread)
        self._wake.connect(self._worker.process)
        self._worker.loaded.connect(self._on_loaded)
        self._thread.start()

    def request(self, name: str, path: Path) -> LoadedImage | None:
        """The image at once when cached (still current on disk), else None and ``loaded`` later."""
        request_id = next(self._ids)
        self._latest = request_id
        cached = self.cache.get(str(path))
        if cached is not None and _still_current(cached, name, path):
            return cached
        self._worker.post(request_id, name, path)
        self._wake.emit()
        return None

    def prefetch(self, items: list[tuple[str, Path]]) -> None:
        """Decode these (name, path) pairs into the cache when idle (replaces earlier prefetches)."""
        self._worker.post_prefetch(items)
        self._wake.emit()

    def cancel(self) -> None:
        """Drop the outstanding request (its result is ignored when it arrives)."""
        self._latest = next(self._ids)

    def shutdown(self, wait_ms: int = 10_000) -> None:
        """Stop the loader thread."""
        self._worker.post_prefetch([])
        self._thread.quit()
        self._thread.wait(wait_ms)

    @Slot(object)
    def _on_loaded(self, result: LoadedImage) -> None:
        if result.request_id == self._latest:
            self.loaded.emit(result)
