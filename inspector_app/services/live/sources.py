"""Frame sources: one interface, adapters for OpenCV (cameras, files, RTSP/HTTP), hot folders, GenICam.

Every adapter is used by exactly one capture thread (:mod:`.capture`): ``open`` then ``read``
until it returns None (the end of a file) or raises :class:`SourceError` (lost stream), then
``close``. ``read`` never blocks without bound: OpenCV streams get FFmpeg open/read time-outs and
the capture thread's watchdog abandons a call that still hangs (see :mod:`.capture`).
Frames are RGB (or grey) uint8 numpy arrays, as :class:`inspector_app.core.predictor.Predictor` wants.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

import cv2
import numpy as np

from inspector_app.services.live.spec import SourceSpec

__all__ = ["FrameSource", "OpenCvSource", "SourceError", "SourceSettings", "open_source"]


class SourceError(RuntimeError):
    """A source cannot be opened or stopped delivering; the message names the source."""


@dataclass(frozen=True)
class SourceSettings:
    """Capture settings applied when a source opens (0 = leave the backend's default).

    ``width``/``height``/``fps``/``exposure`` go to the camera where the backend exposes them;
    for a video file ``fps`` paces playback (0 = the file's own rate, negative = as fast as
    read). ``open_timeout_s``/``read_timeout_s``: FFmpeg time-outs for streams.
    ``ffmpeg_options``: extra FFmpeg demuxer options for streams, ``key;value|key;value`` as
    OpenCV's ``OPENCV_FFMPEG_CAPTURE_OPTIONS`` takes them; e.g.
    ``rtsp_transport;tcp`` or ``rtsp_flags;listen|listen_timeout;10`` (receive a stream that an
    encoder pushes to this station instead of pulling it from a camera).
    """

    width: int = 0
    height: int = 0
    fps: float = 0.0
    exposure: float | None = None
    open_timeout_s: float = 5.0
    read_timeout_s: float = 2.0
    ffmpeg_options: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (for the project's live settings)."""
        return {
            "width": self.width,
            "height": self.height,
            "fps": self.fps,
            "exposure": self.exposure,
            "open_timeout_s": self.open_timeout_s,
            "read_timeout_s": self.read_timeout_s,
            "ffmpeg_options": self.ffmpeg_options,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SourceSettings:
        """Inverse of :meth:`to_dict`; unknown keys are ignored, wrong values raise ValueError."""
        exposure = data.get("exposure")
        return cls(
            width=int(data.get("width", 0)),
            height=int(data.get("height", 0)),
            fps=float(data.get("fps", 0.0)),
            exposure=None if exposure is None else float(exposure),
            open_timeout_s=float(data.get("open_timeout_s", 5.0)),
            read_timeout_s=float(data.get("read_timeout_s", 2.0)),
            ffmpeg_options=str(data.get("ffmpeg_options", "")),
        )


class FrameSource(Protocol):
    """What the capture thread needs from a source.

    ``read`` returns None when no frame came this time: at the end of a finite source
    (``ended`` is then true) or, for an event-driven source (``event_driven``: a hot folder),
    when nothing arrived within its poll interval, which is not a stall. ``frame_name`` names
    the last frame when the source has names (the hot folder's file), else "".
    """

    spec: SourceSpec
    ended: bool
    event_driven: bool
    frame_name: str

    def open(self) -> None:
        """Connect; raises :class:`SourceError` with a clear message."""

    def read(self) -> np.ndarray | None:
        """The next frame (RGB/grey uint8), None when none (see the class doc); SourceError when lost."""

    def close(self) -> None:
        """Release the device/connection (idempotent)."""

    def properties(self) -> dict[str, float]:
        """What the backend reports (width, height, fps, ...) once open."""

    def clone(self) -> FrameSource:
        """A new, unopened adapter for the same source (the watchdog's replacement)."""


# OpenCV reads FFmpeg options from the environment when a capture opens: one open at a time
# sets them, so two sources opening at once cannot see each other's options.
_ENV_LOCK = threading.Lock()
_ENV_KEY = "OPENCV_FFMPEG_CAPTURE_OPTIONS"


def _open_ffmpeg(target: str, params: list[int], options: str) -> Any:
    with _ENV_LOCK:
        previous = os.environ.get(_ENV_KEY)
        if options:
            os.environ[_ENV_KEY] = options
        try:
            return cv2.VideoCapture(target, cv2.CAP_FFMPEG, params)
        finally:
            if options:
                if previous is None:
                    os.environ.pop(_ENV_KEY, None)
                else:
                    os.environ[_ENV_KEY] = previous


def _bgr_to_rgb(frame: np.ndarray) -> np.ndarray:
    if frame.ndim == 3 and frame.shape[2] == 3:
        return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    if frame.ndim == 3 and frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2RGBA)
    return frame


class OpenCvSource:
    """Cameras (index or /dev/videoN), video files and RTSP/HTTP streams via ``cv2.VideoCapture``.

    Network streams and files use the FFmpeg backend with ``CAP_PROP_OPEN_TIMEOUT_MSEC`` and
    ``CAP_PROP_READ_TIMEOUT_MSEC`` set; cameras use the platform default (V4L2 on Linux).
    """

    def __init__(self, spec: SourceSpec, settings: SourceSettings | None = None) -> None:
        self.spec = spec
        self.settings = settings or SourceSettings()
        self.ended = False
        self.event_driven = False
        self.frame_name = ""
        self._cap: Any = None
        self._next_due = 0.0
        self._period = 0.0

    def open(self) -> None:
        s = self.settings
        timeouts = [
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
            int(s.open_timeout_s * 1000),
            cv2.CAP_PROP_READ_TIMEOUT_MSEC,
            int(s.read_timeout_s * 1000),
        ]
        if self.spec.kind == "camera":
            device: int | str = self.spec.target or (self.spec.index or 0)
            cap = cv2.VideoCapture(device, cv2.CAP_ANY, timeouts)
        else:
            # A listening RTSP source waits for its publisher up to listen_timeout, not the open time-out.
            listen = "rtsp_flags;listen" in s.ffmpeg_options
            cap = _open_ffmpeg(self.spec.target, [] if listen else timeouts, s.ffmpeg_options)
        if not cap.isOpened():
            cap.release()
            raise SourceError(f"{self.spec.text}: {self._open_problem()}")
        if self.spec.kind == "camera":
            for prop, value in (
                (cv2.CAP_PROP_FRAME_WIDTH, s.width),
                (cv2.CAP_PROP_FRAME_HEIGHT, s.height),
                (cv2.CAP_PROP_FPS, s.fps),
            ):
                if value > 0:
                    cap.set(prop, value)
            if s.exposure is not None:
                cap.set(cv2.CAP_PROP_EXPOSURE, s.exposure)
        self._cap = cap
        self.ended = False
        self._period = 0.0
        if self.spec.kind == "file" and s.fps >= 0:
            rate = s.fps or float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
            self._period = 1.0 / rate if rate > 0 else 0.0
        self._next_due = time.monotonic()

    def _open_problem(self) -> str:
        kind = self.spec.kind
        if kind == "camera":
            return "camera not found or busy (check the index / device and that no other program uses it)"
        if kind == "file":
            return "cannot decode this video file (unknown container or codec)"
        return "cannot connect to the stream (wrong URL, server down, or open time-out)"

    def read(self) -> np.ndarray | None:
        if self._cap is None:
            raise SourceError(f"{self.spec.text}: not open")
        if self._period:  # a file plays at its own rate, like a camera would deliver it
            delay = self._next_due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self._next_due = max(self._next_due + self._period, time.monotonic() - self._period)
        ok, frame = self._cap.read()
        if ok and frame is not None:
            return _bgr_to_rgb(frame)
        if self.spec.kind == "file":
            if self.spec.loop and self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0):
                ok, frame = self._cap.read()
                if ok and frame is not None:
                    return _bgr_to_rgb(frame)
            self.ended = True
            return None
        raise SourceError(
            f"{self.spec.text}: no frame within {self.settings.read_timeout_s:g} s (stream lost)"
        )

    def close(self) -> None:
        cap, self._cap = self._cap, None
        if cap is not None:
            cap.release()

    def clone(self) -> OpenCvSource:
        return OpenCvSource(self.spec, self.settings)

    def properties(self) -> dict[str, float]:
        if self._cap is None:
            return {}
        names = {
            "width": cv2.CAP_PROP_FRAME_WIDTH,
            "height": cv2.CAP_PROP_FRAME_HEIGHT,
            "fps": cv2.CAP_PROP_FPS,
        }
        return {k: float(self._cap.get(v)) for k, v in names.items()}


def open_source(spec: SourceSpec, settings: SourceSettings | None = None) -> FrameSource:
    """The adapter for ``spec`` (not yet opened)."""
    if spec.kind == "folder":
        from inspector_app.services.live.hotfolder import HotFolderSource

        return HotFolderSource(spec)
    if spec.kind == "genicam":
        from inspector_app.services.live.genicam import GenICamSource

        return GenICamSource(spec, settings)
    return OpenCvSource(spec, settings)
