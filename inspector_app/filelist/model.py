"""Qt models of the file list: the flat list of images and a filter/search proxy over it.

Both are written for 10,000+ rows: data lives in plain :class:`FileEntry` objects, batches of scan
results become one ``dataChanged`` over their row span, and the proxy filters by reading entries
directly instead of going through ``data()``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)

from inspector_app.services.file_entries import STATUS_TEXT, FileEntry, ScanResult, Status, apply_scan
from inspector_app.services.review_log import ReviewRecord

_Index = QModelIndex | QPersistentModelIndex


class Role(IntEnum):
    """Custom item data roles."""

    ENTRY = Qt.ItemDataRole.UserRole + 1
    STATUS = Qt.ItemDataRole.UserRole + 2
    NAME = Qt.ItemDataRole.UserRole + 3


class FileListModel(QAbstractListModel):
    """All images of the project, in listing order. Owned and mutated by the GUI thread."""

    def __init__(self, root: Path | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.root = root or Path()
        self._entries: list[FileEntry] = []
        self._rows: dict[str, int] = {}
        #: Verdicts read from the review log before the names were listed.
        self._reviews: dict[str, ReviewRecord] = {}

    # --- Qt model interface --------------------------------------------------------------------
    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        """Number of images (0 under a valid parent: this is a flat list)."""
        return 0 if parent.isValid() else len(self._entries)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        """Display: name (``*`` when unsaved); tooltip: status and details; custom roles."""
        if not index.isValid():
            return None
        entry = self._entries[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{entry.name} *" if entry.dirty else entry.name
        if role == Role.ENTRY:
            return entry
        if role == Role.STATUS:
            return int(entry.status)
        if role == Role.NAME:
            return entry.name
        if role == Qt.ItemDataRole.ToolTipRole:
            return tooltip(entry)
        return None

    # --- mutation ------------------------------------------------------------------------------
    def reset(self, root: Path, reviews: Mapping[str, ReviewRecord] | None = None) -> None:
        """Empty the list for a new folder; ``reviews`` are applied as names arrive."""
        self.beginResetModel()
        self.root = root
        self._entries = []
        self._rows = {}
        self._reviews = dict(reviews or {})
        self.endResetModel()

    def append_names(self, names: Iterable[str]) -> None:
        """Add listed images (one ``rowsInserted``)."""
        new = [n for n in names if n not in self._rows]
        if not new:
            return
        first = len(self._entries)
        self.beginInsertRows(QModelIndex(), first, first + len(new) - 1)
        for offset, name in enumerate(new):
            entry = FileEntry(name)
            review = self._reviews.get(name)
            if review is not None:
                _apply_review(entry, review)
            self._entries.append(entry)
            self._rows[name] = first + offset
        self.endInsertRows()

    def remove_names(self, names: Iterable[str]) -> list[str]:
        """Drop images deleted from the folder (one ``rowsRemoved`` per row); the names removed."""
        rows = sorted((r for r in (self._rows.get(n) for n in names) if r is not None), reverse=True)
        if not rows:
            return []
        gone = []
        for row in rows:  # bottom up: the rows above keep their numbers
            self.beginRemoveRows(QModelIndex(), row, row)
            gone.append(self._entries.pop(row).name)
            self.endRemoveRows()
        self._rows = {entry.name: row for row, entry in enumerate(self._entries)}
        return gone

    def apply_scans(self, results: Iterable[ScanResult]) -> None:
        """Fill statuses from the scanner (one ``dataChanged`` over the rows touched)."""
        rows = []
        for result in results:
            row = self._rows.get(result.name)
            if row is None:
                continue
            apply_scan(self._entries[row], result)
            rows.append(row)
        self._changed(rows)

    def set_review(self, name: str, record: ReviewRecord) -> None:
        """Show a new verdict."""
        row = self._rows.get(name)
        if row is not None:
            _apply_review(self._entries[row], record)
            self._changed([row])

    def set_dirty(self, name: str, dirty: bool) -> None:
        """Show or clear the unsaved marker."""
        row = self._rows.get(name)
        if row is not None and self._entries[row].dirty != dirty:
            self._entries[row].dirty = dirty
            self._changed([row])

    def set_predicted(self, name: str, regions: Mapping[str, int]) -> None:
        """Remember predicted regions per class label (for counts and the class filter)."""
        row = self._rows.get(name)
        if row is not None:
            self._entries[row].predicted = dict(regions)
            self._changed([row])

    def set_annotation(self, name: str, shape_counts: Mapping[str, int], *, error: str | None = None) -> None:
        """After a save or a failed load: the JSON now exists (or is unreadable)."""
        row = self._rows.get(name)
        if row is not None:
            entry = self._entries[row]
            entry.has_json = error is not None or bool(shape_counts) or entry.has_json
            entry.shape_counts = dict(shape_counts)
            entry.annotation_error = error
            entry.prediction_json = False
            self._changed([row])

    def set_shape_counts(self, name: str, shape_counts: Mapping[str, int]) -> None:
        """Shapes being edited (not saved yet): counts follow, the file status does not."""
        row = self._rows.get(name)
        if row is not None and self._entries[row].shape_counts != shape_counts:
            self._entries[row].shape_counts = dict(shape_counts)
            self._changed([row])

    def set_image_error(self, name: str, error: str | None) -> None:
        """Mark an image unreadable (found when it was opened)."""
        row = self._rows.get(name)
        if row is not None:
            self._entries[row].image_error = error
            self._changed([row])

    def _changed(self, rows: list[int]) -> None:
        if rows:
            self.dataChanged.emit(self.index(min(rows)), self.index(max(rows)))

    # --- queries -------------------------------------------------------------------------------
    def entry(self, row: int) -> FileEntry:
        """The entry of a source row."""
        return self._entries[row]

    def entries(self) -> list[FileEntry]:
        """All entries (do not mutate: use the setters, which notify views)."""
        return self._entries

    def row_of(self, name: str) -> int | None:
        """Source row of an image name, or None."""
        return self._rows.get(name)

    def path(self, row: int) -> Path:
        """Absolute path of a row's image."""
        return self.root / self._entries[row].name

    def unreviewed_count(self) -> int:
        """Images without a verdict."""
        return sum(1 for e in self._entries if e.verdict is None)


def _apply_review(entry: FileEntry, record: ReviewRecord) -> None:
    entry.verdict = record.verdict
    entry.category = record.category
    if record.class_areas and entry.predicted is None:
        entry.predicted = {k: 1 for k, v in record.class_areas.items() if v > 0}


def tooltip(entry: FileEntry) -> str:
    """Multi-line description of an entry for its tooltip."""
    lines = [entry.name, f"status: {STATUS_TEXT[entry.status]}"]
    if entry.size:
        lines.append(f"size: {entry.size[1]} x {entry.size[0]}")
    if entry.category:
        lines.append(f"category: {entry.category}")
    if entry.shape_counts:
        lines.append("annotated: " + ", ".join(f"{k} {v}" for k, v in sorted(entry.shape_counts.items())))
    if entry.predicted:
        lines.append("predicted: " + ", ".join(sorted(k for k, v in entry.predicted.items() if v)))
    if entry.error():
        lines.append(f"error: {entry.error()}")
    if entry.dirty:
        lines.append("unsaved edits")
    return "\n".join(lines)


@dataclass(frozen=True)
class ListFilter:
    """What the list shows: a status kind (or one class label) and a name search."""

    kind: str = "all"  # all | unreviewed | ng | ok | annotated | prediction | unreadable | class
    label: str = ""
    search: str = ""

    def accepts(self, entry: FileEntry) -> bool:
        """True when ``entry`` passes the filter."""
        if self.search and self.search.casefold() not in entry.name.casefold():
            return False
        kind = self.kind
        if kind == "all":
            return True
        if kind == "unreviewed":
            return entry.verdict is None
        if kind == "ng":
            return entry.verdict == "NG"
        if kind == "ok":
            return entry.verdict == "OK"
        if kind == "annotated":
            return entry.has_json and not entry.prediction_json and entry.annotation_error is None
        if kind == "prediction":
            return entry.status == Status.PREDICTION
        if kind == "unreadable":
            return entry.status == Status.UNREADABLE
        if kind == "class":
            return self.label in entry.classes()
        return True


class FileFilterProxy(QSortFilterProxyModel):
    """Filters :class:`FileListModel` rows with a :class:`ListFilter` (keeps source order)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._filter = ListFilter()
        self.setDynamicSortFilter(True)

    @property
    def list_filter(self) -> ListFilter:
        """The active filter."""
        return self._filter

    def set_filter(self, list_filter: ListFilter) -> None:
        """Apply a new filter (re-filters every row)."""
        if list_filter == self._filter:
            return
        self.beginFilterChange()
        self._filter = list_filter
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: _Index) -> bool:
        """Read the entry directly (much faster than going through ``data()`` for 10k rows)."""
        source = self.sourceModel()
        if not isinstance(source, FileListModel) or (self._filter.kind == "all" and not self._filter.search):
            return True
        return self._filter.accepts(source.entry(source_row))

    def source_row(self, proxy_row: int) -> int:
        """Source row of a proxy row."""
        return self.mapToSource(self.index(proxy_row, 0)).row()

    def proxy_row(self, source_row: int) -> int:
        """Proxy row of a source row, -1 when filtered out."""
        source = self.sourceModel()
        return self.mapFromSource(source.index(source_row, 0)).row()
