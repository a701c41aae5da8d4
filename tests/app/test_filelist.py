"""File list: background listing/scanning, statuses, filter and search, keyboard-free navigation API."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import Qt

from inspector_app.filelist.model import FileListModel, ListFilter
from inspector_app.filelist.scanner import FolderScanner
from inspector_app.filelist.view import FileListPanel
from inspector_app.services.file_entries import (
    PREDICTION_KEY,
    Status,
    iter_listing,
    natural_key,
    scan_file,
)
from inspector_app.services.review_log import ReviewRecord

pytestmark = pytest.mark.gui


def _png(path: Path, h: int = 12, w: int = 16) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((h, w, 3), 128, np.uint8))


def _labelme(path: Path, labels: list[str], *, prediction: bool = False) -> None:
    shapes = [
        {"label": lab, "points": [[1, 1], [5, 1], [5, 5]], "group_id": None, "description": "",
         "shape_type": "polygon", "flags": {}, "mask": None}
        for lab in labels
    ]
    doc: dict[str, object] = {"version": "5.4.1", "flags": {}, "shapes": shapes,
                              "imagePath": path.with_suffix(".png").name, "imageData": None,
                              "imageHeight": 12, "imageWidth": 16}
    if prediction:
        doc[PREDICTION_KEY] = {"source": "prediction", "model_id": "m"}
    path.write_text(json.dumps(doc))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for i in (1, 2, 10, 3):
        _png(tmp_path / f"{i}.png")
    _labelme(tmp_path / "2.json", ["scratch", "scratch", "dent"])
    _labelme(tmp_path / "3.json", ["dent"], prediction=True)
    (tmp_path / "10.json").write_text("{broken")
    (tmp_path / "bad.png").write_bytes(b"not a png at all")
    _png(tmp_path / "sub" / "4.png")
    _png(tmp_path / ".inspector" / "hidden.png")
    return tmp_path


def test_listing_is_natural_sorted_and_skips_hidden(folder: Path) -> None:
    chunks = list(iter_listing(folder))
    names = [n for chunk, _ in chunks for n in chunk]
    assert names == ["1.png", "2.png", "3.png", "10.png", "bad.png", "sub/4.png"]
    assert "2.json" in chunks[0][1]
    assert sorted(["b10", "b9", "A1"], key=natural_key) == ["A1", "b9", "b10"]


def test_scan_file_reports_problems(folder: Path) -> None:
    assert scan_file(folder, "1.png", False).image_error is None
    assert scan_file(folder, "1.png", False).size == (12, 16)
    bad = scan_file(folder, "bad.png", False)
    assert bad.image_error
    broken = scan_file(folder, "10.png", True)
    assert broken.annotation_error and "10.json" in broken.annotation_error
    assert dict(scan_file(folder, "2.png", True).shape_counts) == {"scratch": 2, "dent": 1}
    assert scan_file(folder, "3.png", True).prediction_json


def _scan(qtbot, folder: Path, model: FileListModel) -> None:  # type: ignore[no-untyped-def]
    scanner = FolderScanner()
    scanner.listed.connect(model.append_names)
    scanner.scanned.connect(model.apply_scans)
    with qtbot.waitSignal(scanner.finished, timeout=10_000):
        scanner.start(folder)
    scanner.shutdown()


def test_scanner_fills_statuses(qtbot, folder: Path) -> None:  # type: ignore[no-untyped-def]
    model = FileListModel()
    model.reset(folder, {"1.png": ReviewRecord("1.png", "NG", category="dent")})
    _scan(qtbot, folder, model)
    status = {e.name: e.status for e in model.entries()}
    assert status == {
        "1.png": Status.NG,
        "2.png": Status.ANNOTATED,
        "3.png": Status.PREDICTION,
        "10.png": Status.UNREADABLE,
        "bad.png": Status.UNREADABLE,
        "sub/4.png": Status.UNREVIEWED,
    }
    assert model.entry(model.row_of("2.png") or 0).defect_count == 3


def test_filter_search_and_navigation(qtbot, folder: Path) -> None:  # type: ignore[no-untyped-def]
    model = FileListModel()
    model.reset(folder)
    panel = FileListPanel(model)
    qtbot.addWidget(panel)
    _scan(qtbot, folder, model)
    panel.set_classes([("scratch", "Scratch"), ("dent", "Dent")])
    shown = lambda: [panel.proxy.index(r, 0).data(Qt.ItemDataRole.DisplayRole)  # noqa: E731
                     for r in range(panel.proxy.rowCount())]
    panel.set_filter("unreadable")
    assert shown() == ["10.png", "bad.png"]
    panel.set_filter("class", "dent")
    assert shown() == ["2.png", "3.png"]
    panel.set_filter("all")
    panel.search.setText("SUB")
    assert shown() == ["sub/4.png"]
    panel.search.clear()

    rows: list[int] = []
    panel.current_changed.connect(rows.append)
    assert panel.select_row(0)
    assert panel.step(1) and panel.step(1)
    assert panel.current_row() == 2
    assert not panel.step(-3)  # before the first row: stays
    model.set_review("3.png", ReviewRecord("3.png", "OK"))
    model.set_review("10.png", ReviewRecord("10.png", "OK"))
    assert panel.next_matching(lambda e: e.verdict is None)
    assert model.entry(panel.current_row() or 0).name == "bad.png"
    assert rows == [0, 1, 2, 4]
    # Unsaved marker shows in the list text.
    model.set_dirty("bad.png", True)
    assert "bad.png *" in shown()


def test_list_filter_accepts() -> None:
    from inspector_app.services.file_entries import FileEntry

    e = FileEntry("a/B.png", scanned=True, verdict="NG", shape_counts={"x": 1})
    assert ListFilter("ng").accepts(e)
    assert not ListFilter("unreviewed").accepts(e)
    assert ListFilter("class", "x", search="b.p").accepts(e)
    assert not ListFilter("class", "y").accepts(e)
