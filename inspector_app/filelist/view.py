"""File list panel: search box, status/class filter, the list (custom-painted rows), scan progress."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

from PySide6.QtCore import (
    QEvent,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor, QFont, QKeyEvent, QPainter, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QProgressBar,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from inspector_app.filelist.model import FileFilterProxy, FileListModel, ListFilter, Role
from inspector_app.services.file_entries import STATUS_TEXT, FileEntry, Status

#: Status colours (also used by the summary panel and the verdict bar).
STATUS_COLORS = {
    Status.PENDING: QColor("#9e9e9e"),
    Status.UNREVIEWED: QColor("#bdbdbd"),
    Status.PREDICTION: QColor("#ab47bc"),
    Status.ANNOTATED: QColor("#42a5f5"),
    Status.OK: QColor("#43a047"),
    Status.NG: QColor("#e53935"),
    Status.UNREADABLE: QColor("#fb8c00"),
}

#: (label, filter kind) of the fixed filter choices.
FILTER_CHOICES = (
    ("All images", "all"),
    ("Unreviewed", "unreviewed"),
    ("NG", "ng"),
    ("OK", "ok"),
    ("Annotated", "annotated"),
    ("Prediction only", "prediction"),
    ("Unreadable", "unreadable"),
)


def count_text(entry: FileEntry) -> str:
    """`` · 3 shapes`` (annotated) and/or `` · 5 found`` (predicted regions), or ""."""
    parts = []
    if entry.shape_total:
        parts.append(f"{entry.shape_total} shape{'s' if entry.shape_total != 1 else ''}")
    if entry.predicted:
        found = sum(entry.predicted.values())
        parts.append(f"{found} found")
    return "".join(f" · {p}" for p in parts)


class FileItemDelegate(QStyledItemDelegate):
    """Paints a row: status dot, name (``*`` when unsaved), and status/defect count on the right."""

    ROW_HEIGHT = 22

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        """Uniform rows (the view sets uniformItemSizes, so this is asked once)."""
        return QSize(200, self.ROW_HEIGHT)

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        """Draw one row."""
        entry = index.data(Role.ENTRY)
        if not isinstance(entry, FileEntry):
            super().paint(painter, option, index)
            return
        painter.save()
        rect: QRect = option.rect
        state = option.state
        palette: QPalette = option.palette
        selected = bool(state & QStyle.StateFlag.State_Selected)
        if selected:
            painter.fillRect(rect, palette.highlight())
        text_color = palette.highlightedText().color() if selected else palette.text().color()
        status = entry.status
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(STATUS_COLORS[status])
        dot = 10
        painter.drawEllipse(rect.left() + 6, rect.center().y() - dot // 2 + 1, dot, dot)
        # Right side: "NG · 3" (status and defect count), dimmer.
        right = STATUS_TEXT[status]
        if status != Status.UNREADABLE:
            right += count_text(entry)
        font: QFont = option.font
        name_font = QFont(font)
        if entry.dirty:
            name_font.setItalic(True)
        name = f"{entry.name} *" if entry.dirty else entry.name
        left = 6 + dot + 6
        # The name keeps its width (up to 60 % of the row); the status text gives way first,
        # cut at its start so that the counts at its end stay readable.
        painter.setFont(name_font)
        name_width = min(painter.fontMetrics().horizontalAdvance(name) + 4, int(rect.width() * 0.6))
        small = QFont(font)
        small.setPointSizeF(max(6.0, font.pointSizeF() * 0.85))
        painter.setFont(small)
        room = max(0, rect.width() - left - name_width - 18)
        right = painter.fontMetrics().elidedText(right, Qt.TextElideMode.ElideLeft, room)
        right_width = painter.fontMetrics().horizontalAdvance(right) + 8
        dim = QColor(text_color)
        dim.setAlpha(170)
        painter.setPen(STATUS_COLORS[status] if status in (Status.NG, Status.OK) and not selected else dim)
        painter.drawText(
            rect.adjusted(0, 0, -6, 0), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, right
        )
        painter.setFont(name_font)
        painter.setPen(text_color)
        name_rect = rect.adjusted(left, 0, -right_width - 6, 0)
        elided = painter.fontMetrics().elidedText(name, Qt.TextElideMode.ElideMiddle, name_rect.width())
        painter.drawText(name_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, elided)
        painter.restore()


class FileListPanel(QWidget):
    """The left panel.

    Signals: ``current_changed(source_row)`` when the operator selects an image (also when a new
    search or filter hides the image on screen: the first image shown becomes current, for a
    typed search once typing pauses for ``FOLLOW_DELAY_MS``);
    ``match_activated(source_row)`` when Enter (search box or list) or Down (search box) opens
    a match: the keyboard may go back to the image; ``search_cleared()`` when Esc emptied the
    search; ``filter_changed(shown, total)`` after any search or filter change.

    Keys in the search box: Enter opens the first match (or keeps the image on screen when it
    matches), Down moves into the list on the first match, Esc clears the search.
    """

    current_changed = Signal(int)
    match_activated = Signal(int)
    search_cleared = Signal()
    filter_changed = Signal(int, int)

    #: Typing pause after which a search that hides the image on screen opens its first match.
    FOLLOW_DELAY_MS = 300

    def __init__(self, model: FileListModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.proxy = FileFilterProxy(self)
        self.proxy.setSourceModel(model)

        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search by name  (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.filter_combo = QComboBox(self)
        self.filter_combo.setToolTip("Show only some images")
        self._fill_filters(())

        # Rows leaving the filtered list (a filter change, a verdict under "Unreviewed") make the
        # selection model move "current" to a neighbour; that must not switch the image on screen.
        # These guards are connected before the view's own, so they run first.
        self._guard = 0
        self._last_source_row: int | None = None
        #: True while the panel changes its own filter (select_row): no image follows it.
        self._no_follow = False
        # While the operator types, the list narrows at once, but the image on screen is replaced
        # only once typing pauses: "scr" must not load three images on the way to its match.
        self._follow_timer = QTimer(self)
        self._follow_timer.setSingleShot(True)
        self._follow_timer.setInterval(self.FOLLOW_DELAY_MS)
        self._follow_timer.timeout.connect(self._on_follow_timer_timeout)
        for before, after in (
            (self.proxy.rowsAboutToBeRemoved, self.proxy.rowsRemoved),
            (self.proxy.layoutAboutToBeChanged, self.proxy.layoutChanged),
            (self.proxy.modelAboutToBeReset, self.proxy.modelReset),
        ):
            before.connect(self._enter_guard)
            after.connect(self._leave_guard)
        self.view = QListView(self)
        self.view.setModel(self.proxy)
        self.view.setUniformItemSizes(True)  # O(1) layout for 10k rows
        self.view.setItemDelegate(FileItemDelegate(self.view))
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.view.setLayoutMode(QListView.LayoutMode.Batched)
        self.view.setBatchSize(500)

        self.progress = QProgressBar(self)
        self.progress.setMaximumHeight(6)
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.footer = QLabel(self)
        self.footer.setObjectName("fileListFooter")
        self.footer.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        top = QHBoxLayout()
        top.setSpacing(4)
        top.addWidget(self.search, 3)
        top.addWidget(self.filter_combo, 2)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.progress)
        layout.addWidget(self.footer)

        self.search.textChanged.connect(self._on_search_text_changed)
        self.filter_combo.currentIndexChanged.connect(self._on_filter_combo_changed)
        self.search.installEventFilter(self)
        self.view.installEventFilter(self)
        sel = self.view.selectionModel()
        sel.currentChanged.connect(self._on_current_changed)
        model.rowsInserted.connect(self._update_footer)
        model.modelReset.connect(self._update_footer)
        model.dataChanged.connect(self._update_footer)
        self.proxy.layoutChanged.connect(self._update_footer)
        self._scan_text = ""

    # --- filters -------------------------------------------------------------------------------
    def _fill_filters(self, classes: Sequence[tuple[str, str]]) -> None:
        combo = self.filter_combo
        current = combo.currentData()
        combo.blockSignals(True)
        combo.clear()
        for text, kind in FILTER_CHOICES:
            combo.addItem(text, f"{kind}:")
        if classes:
            combo.insertSeparator(combo.count())
            for label, name in classes:
                combo.addItem(f"Has {name}", f"class:{label}")
        found = combo.findData(current) if current is not None else -1
        combo.setCurrentIndex(max(0, found))
        combo.blockSignals(False)

    def set_classes(self, classes: Sequence[tuple[str, str]]) -> None:
        """Offer a "Has <class>" filter per ``(label, display name)``."""
        self._fill_filters(classes)
        self._on_filter_changed()

    def set_filter(self, kind: str, label: str = "") -> None:
        """Select a filter programmatically (as if picked in the combo)."""
        index = self.filter_combo.findData(f"{kind}:{label}")
        if index >= 0:
            self.filter_combo.setCurrentIndex(index)

    def _on_filter_changed(self, follow: bool = False, *, deferred: bool = False) -> None:
        kind, _, label = str(self.filter_combo.currentData() or "all:").partition(":")
        keep = self.current_row()
        self._follow_timer.stop()
        self.proxy.set_filter(ListFilter(kind, label, self.search.text().strip()))
        if keep is not None:
            proxy_row = self.proxy.proxy_row(keep)
            if proxy_row >= 0:
                self._select_proxy_row(proxy_row, emit=False)
            elif follow and self.proxy.rowCount() > 0:
                # The operator's own search or filter hid the image on screen: show the first
                # image it lets through instead of leaving a hidden one up (after a typing pause).
                if deferred:
                    self._follow_timer.start()
                else:
                    self._open_proxy_row(0)
        self._update_footer()
        self.filter_changed.emit(self.proxy.rowCount(), self.model.rowCount())

    def _on_follow_timer_timeout(self) -> None:
        """Typing paused: if the search still hides the image on screen, open the first match."""
        keep = self._last_source_row
        if keep is not None and self.proxy.proxy_row(keep) < 0 and self.proxy.rowCount() > 0:
            self._open_proxy_row(0)

    def _on_search_text_changed(self, _text: str) -> None:
        self._on_filter_changed(follow=not self._no_follow, deferred=True)

    def _on_filter_combo_changed(self, _index: int) -> None:
        self._on_filter_changed(follow=not self._no_follow)

    def first_match(self) -> int | None:
        """Source row of the image on screen when the filter lets it through, else of the first
        image it lets through; None when nothing matches."""
        if self._last_source_row is not None and self.proxy.proxy_row(self._last_source_row) >= 0:
            return self._last_source_row
        return self.proxy.source_row(0) if self.proxy.rowCount() else None

    def activate_first_match(self) -> bool:
        """Open :meth:`first_match` and emit ``match_activated``; False when nothing matches."""
        self._follow_timer.stop()  # Enter opens the match now, no need to wait for the pause
        row = self.first_match()
        if row is None:
            return False
        if row != self._last_source_row:
            self._open_proxy_row(self.proxy.proxy_row(row))
        self.match_activated.emit(row)
        return True

    def clear_search(self) -> None:
        """Empty the search box (the filter combo is kept) and emit ``search_cleared``."""
        self.search.clear()
        self.search_cleared.emit()

    # --- keys ----------------------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Enter / Down / Esc in the search box, Enter / Esc in the list (see the class docstring)."""
        if event.type() != QEvent.Type.KeyPress or not isinstance(event, QKeyEvent):
            return super().eventFilter(watched, event)
        key = event.key()
        if watched is self.search:
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self.activate_first_match()
                return True
            if key == Qt.Key.Key_Down:
                row = self.first_match()
                if row is not None:
                    if row != self._last_source_row:
                        self._open_proxy_row(self.proxy.proxy_row(row))
                    self.view.setFocus(Qt.FocusReason.OtherFocusReason)
                return True
            if key == Qt.Key.Key_Escape:
                if self.search.text():
                    self.clear_search()
                else:
                    self.search_cleared.emit()
                return True
        elif watched is self.view:
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.view.currentIndex().isValid():
                self.match_activated.emit(self.proxy.mapToSource(self.view.currentIndex()).row())
                return True
            if key == Qt.Key.Key_Escape and self.search.text():
                self.clear_search()
                return True
        return super().eventFilter(watched, event)

    # --- selection -----------------------------------------------------------------------------
    def current_row(self) -> int | None:
        """Source row of the image on screen (kept even when the filter hides it)."""
        return self._last_source_row

    def select_row(self, source_row: int) -> bool:
        """Make ``source_row`` current (clears a filter that hides it). False when out of range."""
        if not 0 <= source_row < self.model.rowCount():
            return False
        proxy_row = self.proxy.proxy_row(source_row)
        if proxy_row < 0:
            # Widening the filter to reach the row must not open another image on the way.
            self._no_follow = True
            try:
                self.search.clear()
                self.set_filter("all")
            finally:
                self._no_follow = False
            proxy_row = self.proxy.proxy_row(source_row)
        self._select_proxy_row(proxy_row)
        return True

    def step(self, delta: int) -> bool:
        """Move ``delta`` rows in the visible (filtered) list; False at either end."""
        count = self.proxy.rowCount()
        if count == 0:
            return False
        current = self.view.currentIndex()
        if current.isValid():
            target = current.row() + delta
        elif self._last_source_row is not None:
            # The image on screen is hidden by the filter: go to its visible neighbour.
            after = self._first_visible_after(self._last_source_row)
            target = after if delta > 0 else after - 1
        else:
            target = 0 if delta > 0 else count - 1
        if not 0 <= target < count:
            return False
        self._select_proxy_row(target)
        return True

    def _first_visible_after(self, source_row: int) -> int:
        """Proxy row of the first visible source row after ``source_row`` (rowCount when none)."""
        lo, hi = 0, self.proxy.rowCount()
        while lo < hi:  # proxy rows keep source order: binary search
            mid = (lo + hi) // 2
            if self.proxy.source_row(mid) <= source_row:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def next_matching(self, predicate: Callable[[FileEntry], bool], *, wrap: bool = True) -> bool:
        """Select the next row after the current one whose entry satisfies ``predicate``.

        Prefers rows the filter shows; falls back to a hidden match (the filter is then cleared).
        False when nothing matches.
        """
        entries = self.model.entries()
        start = self._last_source_row if self._last_source_row is not None else -1
        n = len(entries)
        order = itertools.chain(range(start + 1, n), range(0, max(0, start)) if wrap else ())
        filtered = self.proxy.rowCount() < n
        hidden_match: int | None = None
        for row in order:
            if not predicate(entries[row]):
                continue
            if not filtered or self.proxy.proxy_row(row) >= 0:
                return self.select_row(row)
            if hidden_match is None:
                hidden_match = row
        return hidden_match is not None and self.select_row(hidden_match)

    def _select_proxy_row(self, proxy_row: int, *, emit: bool = True) -> None:
        index = self.proxy.index(proxy_row, 0)
        if not index.isValid():
            return
        sel = self.view.selectionModel()
        if not emit:
            sel.blockSignals(True)
        sel.setCurrentIndex(index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        if not emit:
            sel.blockSignals(False)
            self.view.viewport().update()
        self.view.scrollTo(index, QAbstractItemView.ScrollHint.EnsureVisible)

    def _open_proxy_row(self, proxy_row: int) -> None:
        """Make a proxy row current and announce it, even when the selection model had already
        moved "current" onto it silently (rows removed under the guard)."""
        self._select_proxy_row(proxy_row, emit=False)
        source_row = self.proxy.source_row(proxy_row)
        if source_row >= 0 and source_row != self._last_source_row:
            self._last_source_row = source_row
            self.current_changed.emit(source_row)

    def _enter_guard(self, *_args: object) -> None:
        self._guard += 1

    def _leave_guard(self, *_args: object) -> None:
        self._guard = max(0, self._guard - 1)
        if self._guard == 0:
            QTimer.singleShot(0, self._resync_selection)

    def _resync_selection(self) -> None:
        """Show the image on screen as current again, or nothing when the filter hides it."""
        if self._guard or self._last_source_row is None:
            return
        if self._last_source_row >= self.model.rowCount():
            return
        proxy_row = self.proxy.proxy_row(self._last_source_row)
        sel = self.view.selectionModel()
        if proxy_row >= 0:
            if self.view.currentIndex().row() != proxy_row:
                self._select_proxy_row(proxy_row, emit=False)
        elif self.view.currentIndex().isValid():
            sel.blockSignals(True)
            sel.clear()
            sel.blockSignals(False)
            self.view.viewport().update()

    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not current.isValid() or self._guard:
            return
        source_row = self.proxy.mapToSource(current).row()
        if source_row != self._last_source_row:
            self._last_source_row = source_row
            self.current_changed.emit(source_row)

    def forget_current(self) -> None:
        """After a model reset: nothing is current."""
        self._last_source_row = None

    # --- footer --------------------------------------------------------------------------------
    def set_scan_progress(self, done: int, total: int) -> None:
        """Show the background scan's progress (hidden when complete)."""
        if total <= 0 or done >= total:
            self.progress.hide()
            self._scan_text = ""
        else:
            self.progress.setRange(0, total)
            self.progress.setValue(done)
            self.progress.show()
            self._scan_text = f"checking files {done:,} / {total:,}"
        self._update_footer()

    def set_listing(self, listing: bool) -> None:
        """Show that names are still being listed."""
        self._scan_text = "listing…" if listing else self._scan_text
        if listing:
            self.progress.setRange(0, 0)
            self.progress.show()
        self._update_footer()

    def _update_footer(self, *_args: object) -> None:
        total = self.model.rowCount()
        shown = self.proxy.rowCount()
        parts = [f"{total:,} images" if shown == total else f"{shown:,} of {total:,} shown"]
        parts.append(f"{self.model.unreviewed_count():,} unreviewed")
        if self._scan_text:
            parts.append(self._scan_text)
        self.footer.setText(" · ".join(parts))
