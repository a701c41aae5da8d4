"""Capture settings remembered per source in the project: ``.inspector/live_sources.json``.

Keyed by the source spec as typed (a URL stays verbatim). Written atomically; a file that does
not parse is reported with its name and never overwritten by a load.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from inspector_app.core.fileio import atomic_write_text
from inspector_app.services.live.sources import SourceSettings

__all__ = ["SOURCES_FILE", "SourceStoreError", "load_source_settings", "save_source_settings"]

SOURCES_FILE = "live_sources.json"


class SourceStoreError(ValueError):
    """The per-source settings file cannot be read; the message names it."""


def load_source_settings(meta_dir: str | os.PathLike[str]) -> dict[str, SourceSettings]:
    """Spec -> settings from ``<meta_dir>/live_sources.json`` (empty when there is none)."""
    path = Path(meta_dir) / SOURCES_FILE
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("sources", {}), dict):
            raise ValueError('expected {"sources": {spec: settings}}')
        return {str(k): SourceSettings.from_dict(v) for k, v in data.get("sources", {}).items()}
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        raise SourceStoreError(f"{path}: cannot read the source settings ({exc})") from exc


def save_source_settings(meta_dir: str | os.PathLike[str], settings: Mapping[str, SourceSettings]) -> Path:
    """Write all per-source settings atomically; returns the file's path."""
    path = Path(meta_dir) / SOURCES_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"version": 1, "sources": {k: v.to_dict() for k, v in sorted(settings.items())}}
    atomic_write_text(path, json.dumps(body, indent=2) + "\n")
    return path
