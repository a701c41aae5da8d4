"""Shape list dock: every shape of the open image, its labels with counts, selection synced both ways.

:class:`ShapeListPanel` (``panel = ShapeListPanel(session, canvas=None)``) follows an
:class:`~inspector_app.editing.AnnotationSession`:

* the **shape list**, one row per shape in draw order: visibility check box, colour swatch and
  class name (italic with "(prediction)" while it is an unconfirmed model shape), shape type,
  group id, and a lock check box. Selecting rows selects the shapes on the canvas and the
  canvas's selection selects rows; unchecking hides a shape, the lock check box locks it (view
  state of the session, not saved). Delete removes the selected shapes; double-click (or Enter)
  zooms the canvas to the shape when a canvas was given, and emits ``shape_activated(id)``;
* the **label list**: each label of the image with its colour and count ("pinhole  3");
  double-click selects all the shapes of that label;
* below them a :class:`~inspector_app.widgets.shape_editor.ShapeEditor` (label, group id,
  description, shape flags of the selection; the image's own flags).

Every change goes through the session, so each is one undoable command.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QItemSelection, QItemSelectionModel, QObject, Qt, Signal
from PySide6.QtGui import QFont, QIcon, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from inspector_app.commands import is_prediction, shape_bounds
from inspector_app.core.annotations import Shape
from inspector_app.editing import AnnotationSession
from inspector_app.widgets.legend import swatch
from inspector_app.widgets.shape_editor import ShapeEditor

if TYPE_CHECKING:
    from inspector_app.canvas.view import CanvasView

__all__ = ["COLUMNS", "ShapeListPanel"]

#: Columns of the shape list.
COLUMNS = ("Shape", "Type", "Group", "Lock")
_ID_ROLE = Qt.ItemDataRole.UserRole + 1
_ROW_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsUserCheckable


class ShapeListPanel(QWidget):
    """See the module docstring. Signals: ``shape_activated(int)`` (double-click / Enter on a row)."""

    shape_activated = Signal(int)

    def __init__(
        self, session: AnnotationSession, canvas: CanvasView | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.canvas = canvas
        self._syncing = False
        #: Row of each shape id, the shape it shows, and the ids in row order.
        self._rows: dict[int, QTreeWidgetItem] = {}
        self._shown: dict[int, Shape] = {}
        self._ids: tuple[int, ...] = ()
        self._swatches: dict[tuple[int, int, int], QIcon] = {}

        self.tree = QTreeWidget(self)
        self.tree.setObjectName("shapeList")
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in range(1, len(COLUMNS)):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        header.setMinimumSectionSize(30)
        self.tree.installEventFilter(self)

        self.labels = QListWidget(self)
        self.labels.setObjectName("labelCounts")
        self.labels.setToolTip("Labels of this image; double-click selects their shapes")
        self.labels.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.editor = ShapeEditor(session, self)

        self.count_label = QLabel("No shapes", self)
        self.count_label.setObjectName("shapeCount")
        labels_box = QWidget(self)
        labels_layout = QVBoxLayout(labels_box)
        labels_layout.setContentsMargins(0, 2, 0, 0)
        labels_layout.setSpacing(2)
        labels_layout.addWidget(QLabel("Labels in this image", labels_box))
        labels_layout.addWidget(self.labels)
        lists = QSplitter(Qt.Orientation.Vertical, self)
        lists.addWidget(self.tree)
        lists.addWidget(labels_box)
        lists.setStretchFactor(0, 3)
        lists.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.count_label)
        layout.addWidget(lists, 1)
        layout.addWidget(self.editor)

        self.tree.itemSelectionChanged.connect(self._on_tree_selection_changed)
        self.tree.itemChanged.connect(self._on_tree_item_changed)
        self.tree.itemDoubleClicked.connect(self._on_tree_item_double_clicked)
        self.labels.itemDoubleClicked.connect(self._on_labels_item_double_clicked)
        session.document_changed.connect(self._on_session_document_changed)
        session.shapes_changed.connect(self._on_session_shapes_changed)
        session.class_table_changed.connect(self._on_session_class_table_changed)
        session.selection_changed.connect(self._on_session_selection_changed)
        session.view_state_changed.connect(self._on_session_view_state_changed)
        self._on_session_shapes_changed()

    # ------------------------------------------------------------------ building rows
    def _display(self, shape: Shape) -> tuple[str, tuple[int, int, int]]:
        table = self.session.class_table
        if shape.label in table:
            info = table.by_label(shape.label)
            return info.name, info.color
        return shape.label, (255, 0, 255)

    def _on_session_shapes_changed(self) -> None:
        """Update the rows: only the changed shapes' rows when the ids are the same (an edit, an
        undo of one); only the rows of shapes that came or went when the others kept their order
        (an add, a delete, their undo); every row otherwise (another image, a reorder)."""
        self._syncing = True
        try:
            state = self.session.state
            shapes = dict(zip(state.ids, state.shapes, strict=True))
            if not (state.ids == self._ids and len(self._rows) == len(state.ids)):
                if not self._insert_and_remove_rows(state.ids, shapes):
                    self._rebuild_rows(state.ids, shapes)
                self._ids = state.ids
            for sid, shape in shapes.items():
                if self._shown.get(sid) is not shape:
                    self._fill_item(self._rows[sid], sid, shape)
            self._shown = shapes
            self._apply_selection()
            self._fill_labels(state.shapes)
            n = len(state.shapes)
            self.count_label.setText(f"{n} shape{'s' if n != 1 else ''}" if n else "No shapes")
        finally:
            self._syncing = False

    def _new_row(self, sid: int) -> QTreeWidgetItem:
        item = QTreeWidgetItem()
        item.setData(0, _ID_ROLE, sid)
        item.setFlags(_ROW_FLAGS)
        self._set_checks(item, sid, fresh=True)  # before insertion: no signal per row
        self._rows[sid] = item
        return item

    def _rebuild_rows(self, ids: tuple[int, ...], shapes: dict[int, Shape]) -> None:
        self.tree.clear()
        self._rows = {}
        self._shown = {}
        items = [self._new_row(sid) for sid in ids]
        for sid, item in zip(ids, items, strict=True):
            self._fill_item(item, sid, shapes[sid])
        self._shown = dict(shapes)
        self.tree.addTopLevelItems(items)

    def _insert_and_remove_rows(self, ids: tuple[int, ...], shapes: dict[int, Shape]) -> bool:
        """Take the rows of shapes that went and insert rows for shapes that came, leaving the
        others alone (rebuilding 5,000 rows for one added shape took 0.2-0.3 s). False when the
        remaining shapes changed order or most rows change: then a rebuild is as quick."""
        old = self._ids
        if not old or len(self._rows) != len(old):
            return False
        new_set, old_set = set(ids), set(old)
        gone = [i for i, sid in enumerate(old) if sid not in new_set]
        came = [i for i, sid in enumerate(ids) if sid not in old_set]
        if len(gone) + len(came) > max(64, len(ids) // 4):
            return False
        if [sid for sid in old if sid in new_set] != [sid for sid in ids if sid in old_set]:
            return False
        for index in reversed(gone):  # from the bottom: the indices above stay valid
            self.tree.takeTopLevelItem(index)
            del self._rows[old[index]]
            self._shown.pop(old[index], None)
        for index in came:  # ascending: rows before ``index`` are already where they end up
            self.tree.insertTopLevelItem(index, self._new_row(ids[index]))
        return True

    def _fill_item(self, item: QTreeWidgetItem, sid: int, shape: Shape) -> None:
        name, color = self._display(shape)
        predicted = is_prediction(shape)
        item.setText(0, f"{name}  (prediction)" if predicted else name)
        item.setText(1, shape.shape_type)
        item.setText(2, "" if shape.group_id is None else str(shape.group_id))
        item.setIcon(0, self._swatch(color))
        tip = f"{shape.label} · {shape.shape_type} · {len(shape.points)} points"
        if shape.description:
            tip += f"\n{shape.description}"
        item.setToolTip(0, tip)
        font = QFont(self.tree.font())
        font.setItalic(predicted)
        item.setFont(0, font)

    def _swatch(self, color: tuple[int, int, int]) -> QIcon:
        icon = self._swatches.get(color)
        if icon is None:
            icon = self._swatches[color] = swatch(color)
        return icon

    def _on_session_document_changed(self) -> None:
        """Another image: every row anew (ids of two images may coincide)."""
        self._ids = ()
        self._on_session_shapes_changed()

    def _on_session_class_table_changed(self) -> None:
        """Other names or colours: every row is redrawn."""
        self._shown = {}
        self._on_session_shapes_changed()

    def _fill_labels(self, shapes: tuple[Shape, ...]) -> None:
        self.labels.clear()
        counts = Counter(s.label for s in shapes)
        table = self.session.class_table
        order = [c.label for c in table.classes if c.label in counts]
        order += sorted(label for label in counts if label not in table)
        for label in order:
            name, color = self._display(Shape(label, ()))
            item = QListWidgetItem(swatch(color), f"{name}   {counts[label]}")
            item.setData(Qt.ItemDataRole.UserRole, label)
            item.setToolTip(f"label {label!r}: {counts[label]} shape(s); double-click selects them")
            self.labels.addItem(item)

    def _set_checks(self, item: QTreeWidgetItem, sid: int, fresh: bool = False) -> None:
        """Visibility and lock check boxes (a fresh row gets both: no state = no check box)."""
        session = self.session
        hidden = Qt.CheckState.Unchecked if session.is_hidden(sid) else Qt.CheckState.Checked
        locked = Qt.CheckState.Checked if session.is_locked(sid) else Qt.CheckState.Unchecked
        if fresh or item.checkState(0) != hidden:
            item.setCheckState(0, hidden)
        if fresh or item.checkState(3) != locked:
            item.setCheckState(3, locked)

    def _apply_view_state(self) -> None:
        for item in self._items():
            self._set_checks(item, int(item.data(0, _ID_ROLE)))

    def _apply_selection(self) -> None:
        """Select the session's shapes in ONE selection-model call (row by row is quadratic:
        minutes for thousands of shapes)."""
        chosen = self.session.selection
        ids = self.session.shape_ids
        model = self.tree.model()
        last = len(COLUMNS) - 1
        selection = QItemSelection()
        start = -1
        for row, sid in enumerate((*ids, None)):
            inside = sid is not None and sid in chosen
            if inside and start < 0:
                start = row
            elif not inside and start >= 0:
                selection.select(model.index(start, 0), model.index(row - 1, last))
                start = -1
        self.tree.selectionModel().select(selection, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        first = next((row for row, sid in enumerate(ids) if sid in chosen), None)
        if first is not None:
            item = self.tree.topLevelItem(first)
            if item is not None:
                self.tree.scrollToItem(item)

    def _items(self) -> list[QTreeWidgetItem]:
        """Rows in order."""
        return [item for i in range(self.tree.topLevelItemCount()) if (item := self.tree.topLevelItem(i))]

    # ------------------------------------------------------------------ session -> view
    def _on_session_selection_changed(self) -> None:
        if self._syncing:
            return
        self._syncing = True
        try:
            self._apply_selection()
        finally:
            self._syncing = False

    def _on_session_view_state_changed(self) -> None:
        if self._syncing:
            return
        self._syncing = True
        try:
            self._apply_view_state()
        finally:
            self._syncing = False

    # ------------------------------------------------------------------ view -> session
    def selected_ids(self) -> list[int]:
        """Ids of the selected rows, in list order."""
        return [int(item.data(0, _ID_ROLE)) for item in self._items() if item.isSelected()]

    def _on_tree_selection_changed(self) -> None:
        if self._syncing:
            return
        self._syncing = True
        try:
            self.session.set_selection(self.selected_ids())
        finally:
            self._syncing = False

    def _on_tree_item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if self._syncing:
            return
        sid = int(item.data(0, _ID_ROLE))
        if column == 0:
            hidden = item.checkState(0) != Qt.CheckState.Checked
            if hidden != self.session.is_hidden(sid):
                self.session.set_hidden([sid], hidden)
        elif column == 3:
            locked = item.checkState(3) == Qt.CheckState.Checked
            if locked != self.session.is_locked(sid):
                self.session.set_locked([sid], locked)

    def _on_tree_item_double_clicked(self, item: QTreeWidgetItem, _column: int) -> None:
        self.activate(int(item.data(0, _ID_ROLE)))

    def activate(self, shape_id: int) -> None:
        """Zoom the canvas (when given) to a shape and emit ``shape_activated``."""
        if shape_id not in self.session.shape_ids:
            return
        if self.canvas is not None:
            x0, y0, x1, y1 = shape_bounds(self.session.shape(shape_id))
            self.canvas.zoom_to_rect((x0, y0, x1 - x0, y1 - y0))
        self.shape_activated.emit(shape_id)

    def _on_labels_item_double_clicked(self, item: QListWidgetItem) -> None:
        label = item.data(Qt.ItemDataRole.UserRole)
        state = self.session.state
        ids = [i for i, s in zip(state.ids, state.shapes, strict=True) if s.label == label]
        self.session.set_selection(ids)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Delete removes the selected shapes; Enter activates the current row."""
        if watched is self.tree and event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and self.selected_ids():
                self.session.remove_shapes(self.selected_ids())
                return True
            current = self.tree.currentItem()
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and current is not None:
                self.activate(int(current.data(0, _ID_ROLE)))
                return True
        return super().eventFilter(watched, event)

    def toggle_all_shapes(self) -> None:
        """Hide every shape when any is shown, else show them all (labelme's T)."""
        ids = self.session.shape_ids
        any_shown = any(not self.session.is_hidden(i) for i in ids)
        self.session.set_hidden(ids, any_shown)

    # ------------------------------------------------------------------ queries (tests, screenshots)
    def row_texts(self) -> list[tuple[str, str, str]]:
        """(name, type, group) per row."""
        return [(it.text(0), it.text(1), it.text(2)) for it in self._items()]

    def label_texts(self) -> list[str]:
        """The label list's rows ("pinhole   3")."""
        return [item.text() for i in range(self.labels.count()) if (item := self.labels.item(i))]
