"""Source specs: the strings an operator types (``0``, ``/dev/video0``, ``clip.mp4``, ``rtsp://...``).

A spec is parsed once into a frozen :class:`SourceSpec`; adapters are built from it by
:func:`inspector_app.services.live.sources.open_source`. URLs are kept as the exact string the user
gave: they never go through :mod:`pathlib`, which would fold ``rtsp://host`` into ``rtsp:/host``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["SourceKind", "SourceSpec", "SourceSpecError", "parse_source"]

SourceKind = Literal["camera", "file", "stream", "folder", "genicam"]

#: Schemes OpenCV's FFmpeg backend reads as network streams.
STREAM_SCHEMES = ("rtsp", "rtsps", "rtmp", "http", "https", "udp", "tcp", "srt")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_DEVICE = re.compile(r"^/dev/video(\d+)$")


class SourceSpecError(ValueError):
    """A source spec that cannot be used; the message quotes the spec and says why."""


@dataclass(frozen=True)
class SourceSpec:
    """A parsed source.

    ``kind``: camera (``index`` or ``target`` = a device path), file (a video file), stream (a
    URL, ``target`` verbatim), folder (a hot folder), genicam (``target`` = the .cti file,
    ``serial`` optional). ``text``: the spec as typed, for messages and reports.
    """

    kind: SourceKind
    text: str
    target: str = ""
    index: int | None = None
    serial: str = ""
    loop: bool = False

    @property
    def label(self) -> str:
        """A short name for progress lines and reports (the spec itself; URLs unchanged)."""
        return self.text


def parse_source(text: str, *, loop: bool = False) -> SourceSpec:
    """Parse ``text`` into a :class:`SourceSpec`; :class:`SourceSpecError` with a clear message.

    ``loop``: video files restart at their end (other kinds ignore it). Files and folders must
    exist; cameras and URLs are only checked when opened (a camera may be plugged in later).
    """
    spec = text.strip()
    if not spec:
        raise SourceSpecError(
            "empty source: give a camera index (0), /dev/videoN, a video file, a URL or a folder"
        )
    if spec.isdigit():
        return SourceSpec("camera", spec, index=int(spec))
    device = _DEVICE.match(spec)
    if device:
        return SourceSpec("camera", spec, target=spec, index=int(device.group(1)))
    if spec.lower().startswith("genicam:"):
        rest = spec[len("genicam:") :]
        cti, _, serial = rest.partition("#")
        if not cti:
            raise SourceSpecError(
                f"{spec!r}: a GenICam source needs a GenTL producer: genicam:PATH.cti[#SERIAL]"
            )
        if not cti.lower().endswith(".cti"):
            raise SourceSpecError(f"{spec!r}: {cti!r} is not a GenTL producer (.cti file)")
        if not os.path.isfile(cti):
            raise SourceSpecError(f"{spec!r}: GenTL producer {cti!r} not found")
        return SourceSpec("genicam", spec, target=cti, serial=serial)
    scheme = _SCHEME.match(spec)
    if scheme:
        name = scheme.group(1).lower()
        if name not in STREAM_SCHEMES:
            raise SourceSpecError(
                f"{spec!r}: unsupported URL scheme {name!r} (supported: {', '.join(STREAM_SCHEMES)})"
            )
        if len(spec) == len(scheme.group(0)):
            raise SourceSpecError(f"{spec!r}: the URL has no host")
        return SourceSpec("stream", spec, target=spec)
    if os.path.isdir(spec):
        return SourceSpec("folder", spec, target=spec)
    if os.path.isfile(spec):
        return SourceSpec("file", spec, target=spec, loop=loop)
    if spec.startswith("/dev/"):
        raise SourceSpecError(f"{spec!r}: not a camera device (expected /dev/videoN)")
    raise SourceSpecError(
        f"{spec!r}: no such file or folder (a source is a camera index, /dev/videoN, a video file, "
        "an rtsp:// or http:// URL, a folder, or genicam:PATH.cti)"
    )
