"""Command-line path arguments that keep what the user typed.

``pathlib.Path("rtsp://127.0.0.1/cam")`` collapses the double slash (``rtsp:/127.0.0.1/cam``),
so an argument that is a URL must be recognised before it becomes a ``Path``: error messages then
show it as typed, and the user learns that a URL is not accepted there.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

__all__ = ["is_url", "path_arg"]

_URL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")


def is_url(text: str) -> bool:
    """True for ``scheme://...`` (rtsp, http, file, ...); a Windows drive ``C:\\`` is not one."""
    return bool(_URL_RE.match(text))


def path_arg(text: str) -> Path:
    """``argparse`` type for a file or folder argument: a URL is refused, named as typed."""
    if is_url(text):
        raise argparse.ArgumentTypeError(f"{text} is a URL; expected a file or folder path")
    return Path(text)
