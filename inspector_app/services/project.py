"""Project folder: images + LabelMe JSON beside them + ``.inspector/`` (class table, settings, reviews).

Qt-free. ``.inspector/`` is created lazily, on the first write (a verdict, a class added, a
setting changed), so that merely browsing a folder leaves no trace in it.

- ``.inspector/classes.yaml``: the project's class table (:class:`ClassTable`).
- ``.inspector/settings.json``: :class:`ProjectSettings` (operator, autosave, overlay, model...).
- ``.inspector/review.sqlite``: the review log (:class:`inspector_app.services.review_log.ReviewLog`).
"""

from __future__ import annotations

import getpass
import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from inspector_app.core.classes import ClassTable, ClassTableError
from inspector_app.core.fileio import atomic_write_text
from inspector_app.core.images import IMAGE_SUFFIXES
from inspector_app.services.review_log import ReviewLog

META_DIR = ".inspector"
#: Extensions listed as images (lower case): the core's list, so app and trainer agree.
IMAGE_EXTENSIONS = frozenset(IMAGE_SUFFIXES)
LAYER_MODES = ("prediction", "annotation", "both")


class ProjectError(RuntimeError):
    """A project file cannot be read or written; the message names the file and the reason."""


def _default_operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers) or no login name
        return "operator"


@dataclass
class ProjectSettings:
    """Per-project settings (``.inspector/settings.json``). Unknown keys are kept on save."""

    operator: str = field(default_factory=_default_operator)
    #: Autosave period in seconds while an image has unsaved edits; 0 disables the timer.
    autosave_seconds: int = 30
    #: Save edits when switching to another image (instead of asking).
    autosave_on_switch: bool = True
    overlay_opacity: float = 0.5
    layer_mode: str = "both"
    #: Model used for predictions (absolute path, or relative to the project root).
    model_path: str = ""
    #: Polygon simplification tolerance (px) of "Accept prediction".
    accept_tolerance: float = 1.0
    #: Predicted regions smaller than this (px) are left out by "Accept prediction".
    accept_min_area: int = 10
    #: Defect categories offered with an NG verdict; empty = the class names of the table.
    categories: list[str] = field(default_factory=list)
    #: In "both" layer mode draw annotations as outlines over the filled prediction.
    outline_annotations_in_both: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProjectSettings:
        """Read known keys with type checks (a bad value falls back to the default)."""
        known = {f.name for f in fields(cls)} - {"extra"}
        defaults = cls()
        kwargs: dict[str, Any] = {}
        for key in known:
            if key not in data:
                continue
            value, default = data[key], getattr(defaults, key)
            if isinstance(default, bool):
                ok = isinstance(value, bool)
            elif isinstance(default, float):
                ok = isinstance(value, int | float) and not isinstance(value, bool)
                value = float(value) if ok else value
            elif isinstance(default, int):
                ok = isinstance(value, int) and not isinstance(value, bool)
            elif isinstance(default, list):
                ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
            else:
                ok = isinstance(value, str)
            if ok:
                kwargs[key] = value
        settings = cls(**kwargs)
        if settings.layer_mode not in LAYER_MODES:
            settings.layer_mode = "both"
        settings.overlay_opacity = min(1.0, max(0.0, settings.overlay_opacity))
        settings.extra = {k: v for k, v in data.items() if k not in known}
        return settings

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping (``extra`` merged back at the top level)."""
        data = asdict(self)
        extra = data.pop("extra")
        return {**extra, **data}


def is_image_file(name: str) -> bool:
    """True for a file name with an image extension (case-insensitive), hidden files excluded."""
    return not name.startswith(".") and os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def annotation_path(image_path: Path) -> Path:
    """LabelMe's convention: ``<stem>.json`` beside the image."""
    return image_path.with_suffix(".json")


class Project:
    """An open project folder. Build with :meth:`open`."""

    def __init__(self, root: Path, initial_image: Path | None = None) -> None:
        self.root = root
        self.initial_image = initial_image
        self.settings = ProjectSettings()
        self.class_table: ClassTable | None = None
        #: The folder's own ``classes.yaml`` (beside the images, as in the datasets and the demo),
        #: read at open; None when absent or unreadable (then :attr:`warnings` says why).
        self.folder_class_table: ClassTable | None = None
        #: Problems found while opening (bad settings.json...), to show to the user once.
        self.warnings: list[str] = []
        self._review: ReviewLog | None = None

    # --- opening ---------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Project:
        """Open a folder (plain or with ``.inspector/``) or one image (its folder is the project).

        Raises :class:`ProjectError` when the path does not exist or is not an image/folder.
        """
        path = Path(path).expanduser().absolute()
        if path.is_dir():
            project = cls(path)
        elif path.is_file():
            if not is_image_file(path.name):
                raise ProjectError(f"{path}: not an image ({', '.join(sorted(IMAGE_EXTENSIONS))})")
            project = cls(path.parent, initial_image=path)
        else:
            raise ProjectError(f"{path}: no such file or folder")
        project._load()
        return project

    @property
    def meta_dir(self) -> Path:
        """``<root>/.inspector``."""
        return self.root / META_DIR

    @property
    def classes_path(self) -> Path:
        """``.inspector/classes.yaml``."""
        return self.meta_dir / "classes.yaml"

    @property
    def folder_classes_path(self) -> Path:
        """``<root>/classes.yaml``: a class table kept with the images (read, never written)."""
        return self.root / "classes.yaml"

    def table_in_use(self, model_table: ClassTable | None = None) -> tuple[ClassTable | None, str]:
        """(table, source): ``.inspector/classes.yaml`` ("project"); else the folder's own
        ``classes.yaml`` ("folder"); else ``model_table`` ("model"); else (None, "none")."""
        if self.class_table is not None:
            return self.class_table, "project"
        if self.folder_class_table is not None:
            return self.folder_class_table, "folder"
        if model_table is not None:
            return model_table, "model"
        return None, "none"

    @property
    def settings_path(self) -> Path:
        """``.inspector/settings.json``."""
        return self.meta_dir / "settings.json"

    @property
    def review_path(self) -> Path:
        """``.inspector/review.sqlite``."""
        return self.meta_dir / "review.sqlite"

    @property
    def has_meta(self) -> bool:
        """True when the folder already is a project (``.inspector/`` exists)."""
        return self.meta_dir.is_dir()

    def _load(self) -> None:
        if self.settings_path.is_file():
            try:
                data = json.loads(self.settings_path.read_text(encoding="utf-8"))
                if not isinstance(data, dict):
                    raise ValueError("expected a JSON object")
                self.settings = ProjectSettings.from_dict(data)
            except (OSError, ValueError) as exc:
                self.warnings.append(f"{self.settings_path}: ignored ({exc}); using defaults")
        if self.classes_path.is_file():
            try:
                self.class_table = ClassTable.load(self.classes_path)
            except ClassTableError as exc:
                self.warnings.append(f"class table not loaded: {exc}")
        if self.folder_classes_path.is_file():
            try:
                self.folder_class_table = ClassTable.load(self.folder_classes_path)
            except ClassTableError as exc:
                self.warnings.append(f"Ignored {self.folder_classes_path.name}: {exc}")

    # --- writing ---------------------------------------------------------------------------
    def ensure_meta_dir(self) -> Path:
        """Create ``.inspector/`` if needed; ProjectError naming the folder when it cannot."""
        try:
            self.meta_dir.mkdir(exist_ok=True)
        except OSError as exc:
            raise ProjectError(f"{self.meta_dir}: cannot create ({exc.strerror or exc})") from exc
        return self.meta_dir

    def save_settings(self) -> None:
        """Write settings.json atomically."""
        self.ensure_meta_dir()
        try:
            atomic_write_text(self.settings_path, json.dumps(self.settings.to_dict(), indent=2) + "\n")
        except OSError as exc:
            raise ProjectError(f"{self.settings_path}: cannot write ({exc.strerror or exc})") from exc

    def set_class_table(self, table: ClassTable, *, save: bool = True) -> None:
        """Replace the class table (and write classes.yaml when ``save``)."""
        self.class_table = table
        if save:
            self.ensure_meta_dir()
            try:
                table.save(self.classes_path)
            except OSError as exc:
                raise ProjectError(f"{self.classes_path}: cannot write ({exc.strerror or exc})") from exc

    def review_log(self) -> ReviewLog:
        """The review database, opened (and created) on first use."""
        if self._review is None:
            self.ensure_meta_dir()
            self._review = ReviewLog(self.review_path)
        return self._review

    def existing_review_log(self) -> ReviewLog | None:
        """The review database if the project already has one (never creates it)."""
        if self._review is None and self.review_path.is_file():
            self._review = ReviewLog(self.review_path)
        return self._review

    def close(self) -> None:
        """Close the review database."""
        if self._review is not None:
            self._review.close()
            self._review = None

    # --- paths -----------------------------------------------------------------------------
    def relative(self, path: Path) -> str:
        """POSIX path relative to the root (absolute POSIX when outside it)."""
        try:
            return path.absolute().relative_to(self.root).as_posix()
        except ValueError:
            return path.absolute().as_posix()

    def resolve(self, relative: str) -> Path:
        """Inverse of :meth:`relative`."""
        return (self.root / relative) if not os.path.isabs(relative) else Path(relative)

    def model_path(self) -> Path | None:
        """The configured model file (resolved), or None."""
        if not self.settings.model_path:
            return None
        return self.resolve(self.settings.model_path)

    def categories(self, table: ClassTable | None = None) -> list[str]:
        """Defect categories offered with an NG verdict.

        The settings' list when set; else the class names of ``table`` (pass the table the
        station uses) or, without one, of :meth:`table_in_use`; then "other".
        """
        if self.settings.categories:
            return list(self.settings.categories)
        table = table if table is not None else self.table_in_use()[0]
        if table is not None:
            return [c.name for c in table.classes[1:]] + ["other"]
        return ["other"]
