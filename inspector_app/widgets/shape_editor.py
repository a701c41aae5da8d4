"""Editor of the selected shapes' labelme fields and of the open image's own flags.

:class:`ShapeEditor` follows an :class:`~inspector_app.editing.AnnotationSession`:

* **Label** (editable combo of the class names; a new text becomes a new label), **Group**
  (an integer, empty = none), **Description**: applied to every selected shape when the field
  is left or Enter is pressed;
* **Flags** of the selected shapes: one check box per flag the class table offers for their
  labels (``shape_flags`` and the class's own ``flags`` in classes.yaml, as labelme's
  ``--labelflags``) plus any flag a shape already carries; partially checked when the selected
  shapes differ. The station's own ``prediction`` mark is not offered (confirming or editing a
  shape clears it);
* **Image flags**: the table's ``image_flags`` and those already in the file (labelme's ``--flags``).

Each change is one undoable command through the session.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QIntValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from inspector_app.commands import PREDICTION_FLAG
from inspector_app.editing import AnnotationSession

__all__ = ["ShapeEditor"]

_MIXED = "(several)"


class _FlagBoxes(QWidget):
    """A wrapping column of check boxes, rebuilt when the offered flags change."""

    def __init__(self, empty_text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.boxes: dict[str, QCheckBox] = {}
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(2)
        self._empty = QLabel(empty_text, self)
        self._empty.setObjectName("flagsEmpty")
        self._empty.setWordWrap(True)
        self._empty.setStyleSheet("color: palette(mid);")
        self._layout.addWidget(self._empty)

    def set_flags(self, names: list[str], states: dict[str, Qt.CheckState]) -> None:
        if list(self.boxes) != names:
            for box in self.boxes.values():
                self._layout.removeWidget(box)
                box.deleteLater()
            self.boxes = {}
            for name in names:
                box = QCheckBox(name, self)
                box.setProperty("flag", name)
                self._layout.addWidget(box)
                self.boxes[name] = box
        for name, box in self.boxes.items():
            state = states.get(name, Qt.CheckState.Unchecked)
            box.blockSignals(True)
            box.setTristate(state == Qt.CheckState.PartiallyChecked)
            box.setCheckState(state)
            box.blockSignals(False)
        self._empty.setVisible(not names)


class ShapeEditor(QWidget):
    """See the module docstring."""

    def __init__(self, session: AnnotationSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self._updating = False

        self.label_combo = QComboBox(self)
        self.label_combo.setEditable(True)
        self.label_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.label_combo.setToolTip("Label of the selected shapes (a new name adds a class)")
        self.group_edit = QLineEdit(self)
        self.group_edit.setValidator(QIntValidator(0, 2**31 - 1, self))
        self.group_edit.setPlaceholderText("none")
        self.group_edit.setToolTip("labelme group id: shapes with the same id belong together")
        self.description_edit = QLineEdit(self)
        self.description_edit.setPlaceholderText("description")
        self.shape_flags = _FlagBoxes("No flags declared for this class (classes.yaml: shape_flags)", self)
        self.image_flags = _FlagBoxes("No image flags declared (classes.yaml: image_flags)", self)

        self.shape_box = QGroupBox("Selected shape", self)
        form = QFormLayout(self.shape_box)
        form.setContentsMargins(6, 6, 6, 6)
        form.addRow("Label", self.label_combo)
        group_row = QHBoxLayout()
        group_row.addWidget(self.group_edit)
        form.addRow("Group", group_row)
        form.addRow("Description", self.description_edit)
        form.addRow("Flags", self.shape_flags)
        image_box = QGroupBox("Image flags", self)
        image_layout = QVBoxLayout(image_box)
        image_layout.setContentsMargins(6, 6, 6, 6)
        image_layout.addWidget(self.image_flags)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.shape_box)
        layout.addWidget(image_box)

        line_edit = self.label_combo.lineEdit()
        assert line_edit is not None  # editable combo boxes have one
        line_edit.editingFinished.connect(self._on_label_edited)
        self.label_combo.activated.connect(lambda _i: self._on_label_edited())
        self.group_edit.editingFinished.connect(self._on_group_edited)
        self.description_edit.editingFinished.connect(self._on_description_edited)
        for signal in (
            session.document_changed,
            session.shapes_changed,
            session.selection_changed,
            session.class_table_changed,
            session.image_flags_changed,
        ):
            signal.connect(self._refresh)
        self._refresh()

    # ------------------------------------------------------------------ session -> fields
    def _selected(self) -> list[int]:
        return [i for i in self.session.shape_ids if i in self.session.selection]

    def _refresh(self) -> None:
        self._updating = True
        try:
            self._refresh_shape_fields()
            self._refresh_image_flags()
        finally:
            self._updating = False

    def _refresh_shape_fields(self) -> None:
        selection = self.session.selection
        state = self.session.state
        shapes = [s for i, s in zip(state.ids, state.shapes, strict=True) if i in selection]
        table = self.session.class_table
        self.shape_box.setEnabled(bool(shapes))
        self.shape_box.setTitle(
            "Selected shape" if len(shapes) <= 1 else f"{len(shapes)} selected shapes"
        )
        combo = self.label_combo
        combo.clear()
        for info in table.classes[1:]:
            combo.addItem(info.name, info.label)
        labels = {s.label for s in shapes}
        if len(labels) == 1:
            label = next(iter(labels))
            index = combo.findData(label)
            if index >= 0:
                combo.setCurrentIndex(index)
            else:
                combo.setEditText(label)
        else:
            combo.setCurrentIndex(-1)
            combo.setEditText(_MIXED if shapes else "")
        groups = {s.group_id for s in shapes}
        self.group_edit.setText(
            "" if not shapes or groups == {None} else str(next(iter(groups))) if len(groups) == 1 else ""
        )
        self.group_edit.setPlaceholderText("none" if len(groups) <= 1 else _MIXED)
        descriptions = {s.description or "" for s in shapes}
        self.description_edit.setText(next(iter(descriptions)) if len(descriptions) == 1 else "")
        self.description_edit.setPlaceholderText("description" if len(descriptions) <= 1 else _MIXED)
        names: list[str] = []
        for s in shapes:
            for name in (*table.flags_for(s.label), *s.flags):
                if name != PREDICTION_FLAG and name not in names:
                    names.append(name)
        states = {}
        for name in names:
            values = {bool(s.flags.get(name, False)) for s in shapes}
            states[name] = (
                Qt.CheckState.PartiallyChecked
                if len(values) > 1
                else Qt.CheckState.Checked if values == {True} else Qt.CheckState.Unchecked
            )
        self.shape_flags.set_flags(names, states)
        for name, box in self.shape_flags.boxes.items():
            _connect_once(box, lambda _c=False, n=name: self._on_shape_flag_clicked(n))

    def _refresh_image_flags(self) -> None:
        current = self.session.image_flags
        names = list(self.session.class_table.image_flags)
        names += [n for n in current if n not in names]
        states = {n: Qt.CheckState.Checked if current.get(n) else Qt.CheckState.Unchecked for n in names}
        self.image_flags.set_flags(names, states)
        self.image_flags.setEnabled(self.session.document is not None)
        for name, box in self.image_flags.boxes.items():
            _connect_once(box, lambda _c=False, n=name: self._on_image_flag_clicked(n))

    # ------------------------------------------------------------------ fields -> session
    def _on_label_edited(self) -> None:
        ids = self._selected()
        text = self.label_combo.currentText().strip()
        if self._updating or not ids or not text or text == _MIXED:
            return
        table = self.session.class_table
        # A class's display name stands for its label; anything else is a label (a new class).
        label = next((c.label for c in table.classes[1:] if text in (c.name, c.label)), text)
        if any(self.session.shape(i).label != label for i in ids):
            self.session.set_label(ids, label)

    def _on_group_edited(self) -> None:
        ids = self._selected()
        if self._updating or not ids:
            return
        text = self.group_edit.text().strip()
        if not text and self.group_edit.placeholderText() == _MIXED:
            return  # left empty over differing ids: nothing typed, nothing changed
        self.session.set_shape_fields(ids, group_id=int(text) if text else None)

    def _on_description_edited(self) -> None:
        ids = self._selected()
        if self._updating or not ids:
            return
        text = self.description_edit.text()
        if not text and self.description_edit.placeholderText() == _MIXED:
            return
        self.session.set_shape_fields(ids, description=text)

    def _on_shape_flag_clicked(self, name: str) -> None:
        ids = self._selected()
        box = self.shape_flags.boxes.get(name)
        if not self._updating and ids and box is not None:
            # A partly checked box (the shapes differ) becomes checked for all of them.
            checked = box.checkState() != Qt.CheckState.Unchecked
            self.session.set_shape_fields(ids, set_flags={name: checked})

    def _on_image_flag_clicked(self, name: str) -> None:
        box = self.image_flags.boxes.get(name)
        if not self._updating and box is not None:
            checked = box.checkState() == Qt.CheckState.Checked
            self.session.set_image_flags({**self.session.image_flags, name: checked})


def _connect_once(box: QCheckBox, slot: Callable[..., None]) -> None:
    """Connect ``clicked`` (the user's own click) of a freshly made check box once."""
    if not box.property("connected"):
        box.clicked.connect(slot)
        box.setProperty("connected", True)
