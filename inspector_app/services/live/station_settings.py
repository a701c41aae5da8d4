"""The Live mode's settings remembered in the project: ``.inspector/live_settings.json``.

Sources, size setting, NG capture (on/off, rate limit, quota) and line outputs (JSON-lines file,
TCP port). Written atomically; a corrupt file is reported (naming it) and never overwritten by a
load, so the operator's settings are not lost silently.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast

from inspector_app.core.fileio import atomic_write_text
from inspector_app.services.live.sizing import SIZE_MODES, SizeMode

__all__ = [
    "LIVE_SETTINGS_FILE",
    "LiveSettings",
    "LiveSettingsError",
    "load_live_settings",
    "save_live_settings",
]

LIVE_SETTINGS_FILE = "live_settings.json"


class LiveSettingsError(ValueError):
    """A settings file that cannot be used; the message names the file."""


@dataclass(frozen=True)
class LiveSettings:
    """What the Live mode remembers per project (see the module doc).

    ``tcp_port``: None = no TCP output, 0 = any free port. ``lines_path``: "" = no file.
    """

    sources: tuple[str, ...] = ()
    size_mode: SizeMode = "full"
    ng_capture: bool = False
    ng_interval_s: float = 1.0
    ng_quota_mb: float = 512.0
    lines_path: str = ""
    tcp_port: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.size_mode not in SIZE_MODES:
            raise LiveSettingsError(
                f"size_mode must be one of {', '.join(SIZE_MODES)}, got {self.size_mode!r}"
            )
        if self.ng_interval_s < 0 or self.ng_quota_mb <= 0:
            raise LiveSettingsError("ng_interval_s must be >= 0 and ng_quota_mb > 0")
        if self.tcp_port is not None and not 0 <= self.tcp_port <= 65535:
            raise LiveSettingsError(f"tcp_port must be within 0..65535, got {self.tcp_port}")

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        data = asdict(self)
        data["sources"] = list(self.sources)
        return {"version": 1, **data}

    @classmethod
    def from_dict(cls, data: object, where: str = "<live settings>") -> LiveSettings:
        """Inverse of :meth:`to_dict`; LiveSettingsError naming ``where``."""
        if not isinstance(data, dict):
            raise LiveSettingsError(f"{where}: expected a JSON object")
        try:
            port = data.get("tcp_port")
            return cls(
                tuple(str(s) for s in data.get("sources", [])),
                cast(SizeMode, str(data.get("size_mode", "full"))),
                bool(data.get("ng_capture", False)),
                float(data.get("ng_interval_s", 1.0)),
                float(data.get("ng_quota_mb", 512.0)),
                str(data.get("lines_path", "")),
                None if port is None else int(port),
                dict(data.get("extra", {})),
            )
        except (TypeError, ValueError) as exc:
            raise LiveSettingsError(f"{where}: {exc}") from exc


def load_live_settings(meta_dir: str | os.PathLike[str]) -> LiveSettings:
    """The project's settings (defaults when the file does not exist)."""
    path = Path(meta_dir) / LIVE_SETTINGS_FILE
    if not path.is_file():
        return LiveSettings()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LiveSettingsError(f"{path}: cannot read ({exc})") from exc
    return LiveSettings.from_dict(data, str(path))


def save_live_settings(meta_dir: str | os.PathLike[str], settings: LiveSettings) -> Path:
    """Write ``settings`` atomically; returns the file."""
    path = Path(meta_dir) / LIVE_SETTINGS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(settings.to_dict(), indent=2) + "\n")
    return path
