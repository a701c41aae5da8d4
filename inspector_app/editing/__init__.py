"""The annotation session: the open image's LabelMe document, its undo history, selection, clipboard.

Views receive an :class:`AnnotationSession` and subscribe to its signals; every change to shapes is
one :class:`~inspector_app.commands.EditShapesCommand` on the image's own ``QUndoStack`` (unlimited;
all stacks live in :attr:`AnnotationSession.undo_group`, whose active stack is the open image's, so
the station builds its Undo/Redo actions once with ``undo_group.createUndoAction``).

Shapes are addressed by **shape id** (``int``), stable across edits and undo, parallel to
``document.shapes`` in :attr:`AnnotationSession.shape_ids`.

API (``session = AnnotationSession(class_table=None, parent=None)``)::

    open(image_path, json_path, image_shape)      save(*, overwrite_changed=False)
    dirty_images()                  is_dirty  unreadable  document  state  shape_ids
    class_table  set_class_table(t)  ensure_label(label) -> index       undo_stack  undo_group
    selection  set_selection(ids)  set_hidden(ids, b)  set_locked(ids, b)  is_hidden(id)  is_locked(id)
    add_shape(s) -> id  add_shapes(ss) -> ids  remove_shapes(ids)
    set_points(id, pts)  move_shapes(ids, dx, dy)  move_vertex(id, i, p)  insert_vertex(id, i, p)
    remove_vertices({id: [i, ...]})  set_label(ids, label)  duplicate(ids, offset) -> ids
    copy(ids) -> n  paste() -> ids  clipboard  confirm_shapes(ids=None)
    commit_brush(mask_layer, class_index, erase=False, tolerance=0.7) -> bool
    accept_prediction(mask, classes=None, tolerance=1.0, class_table=None,
                      replace_unconfirmed=True) -> ids

Signals: ``document_about_to_change()`` (before another image is opened: flush pending edits),
``document_changed()`` (another image opened), ``shapes_changed()`` (any edit, undo or redo),
``selection_changed()``, ``view_state_changed()`` (hidden/locked), ``dirty_changed(bool)``,
``class_table_changed()``, ``labels_added(list[str])`` (unknown labels met in a loaded file were
appended to the class table; show a notice).

Files: :meth:`~AnnotationSession.open` reads the JSON beside the image (missing = empty document).
A JSON that does not load is marked ``unreadable`` (the error text) and is never saved over.
``save`` is atomic; on failure it raises :class:`SaveError` naming the file and the reason and
keeps every edit in memory (the image stays dirty). The undo history of every image visited stays
in memory; reopening an image with unsaved edits restores them.

Predictions: shapes made by ``accept_prediction`` carry ``flags["prediction"] = True`` until a
person edits or confirms them (:mod:`inspector_app.commands`). Brush/eraser/prediction raster
rules: :mod:`inspector_app.editing.raster`.

Modules: ``session`` (the QObject: files, state, selection), ``edits`` (edit operations),
``files`` (reading/writing with the safety rules), ``raster`` (brush, eraser, prediction).
"""

from inspector_app.editing.files import SaveError
from inspector_app.editing.session import AnnotationSession

__all__ = ["AnnotationSession", "SaveError"]
