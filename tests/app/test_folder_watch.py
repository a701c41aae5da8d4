"""The open folder's list follows the disk: real files written into and deleted from it while the
station window is open (pytest-qt, offscreen)."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import pytest

from inspector_app.filelist.watch import FolderWatch
from inspector_app.main_window import MainWindow
from inspector_app.services.file_entries import ScanResult
from tests.app.test_station_support import make_folder, make_image, make_model

pytestmark = pytest.mark.gui
WAIT_MS = 10_000


def _names(window: MainWindow) -> list[str]:
    return [e.name for e in window.station.navigation.files.entries()]


def _open(qtbot, root: Path, model: Path) -> MainWindow:
    window = MainWindow(operator="tester")
    qtbot.addWidget(window)
    window.resize(900, 600)
    window.show()
    with qtbot.waitSignal(window.model_settled, timeout=WAIT_MS):
        window.station.prediction.load_model(model)
    with qtbot.waitSignal(window.image_shown, timeout=WAIT_MS):
        assert window.open_path(root)
    qtbot.waitUntil(lambda: len(window.station.navigation.watch.watched_folders()) == 2, timeout=WAIT_MS)
    return window


def test_new_image_appears_once_complete_and_removed_ones_go(qtbot, tmp_path: Path) -> None:
    root = tmp_path / "project"
    names = make_folder(root, 3)
    (root / "sub").mkdir()
    window = _open(qtbot, root, make_model(tmp_path / "m.onnx"))
    try:
        nav = window.station.navigation
        assert sorted(_names(window)) == sorted(names)

        # A camera writes a PNG slowly: half of it, a pause longer than the settle time, the rest.
        make_image(tmp_path / "whole.png", shift=5)
        data = (tmp_path / "whole.png").read_bytes()
        partial = root / "sub" / "late.png"
        with partial.open("wb") as out:
            out.write(data[: len(data) // 2])
            out.flush()
            end = time.monotonic() + 0.8
            while time.monotonic() < end:
                qtbot.wait(50)
                assert "sub/late.png" not in _names(window), "listed before it was complete"
            out.write(data[len(data) // 2 :])
        qtbot.waitUntil(lambda: "sub/late.png" in _names(window), timeout=WAIT_MS)
        entry = nav.files.entry(nav.files.row_of("sub/late.png") or 0)
        assert entry.scanned and entry.image_error is None and entry.size is not None
        assert window.station.review.summary().total_images == 4

        # A JPEG copied in at once also appears; a non-image file never does.
        cv2.imwrite(str(root / "new.jpg"), make_image(tmp_path / "x.png", shift=9)[:, :, ::-1])
        (root / "notes.txt").write_text("not an image")
        qtbot.waitUntil(lambda: "new.jpg" in _names(window), timeout=WAIT_MS)
        assert "notes.txt" not in _names(window)

        # A file that is not the one on screen is deleted: its row goes.
        current = nav.current_name
        other = next(n for n in names if n != current)
        (root / other).unlink()
        qtbot.waitUntil(lambda: other not in _names(window), timeout=WAIT_MS)
        assert nav.current_name == current
        assert nav.current_entry() is not None and nav.current_entry().name == current  # type: ignore[union-attr]

        # The image on screen, with unsaved edits, is deleted: a notice, the edits stay and are
        # saved as its JSON when the operator moves on.
        assert current is not None
        qtbot.waitUntil(lambda: window.station.prediction.mask is not None, timeout=WAIT_MS)
        assert window.station.accept_prediction(None) > 0
        assert window.station.annotation.is_dirty
        with qtbot.waitSignal(nav.notice_posted, timeout=WAIT_MS) as notice:
            (root / current).unlink()
        assert current in notice.args[0] and "removed" in notice.args[0]
        assert current not in _names(window)
        assert window.station.annotation.is_dirty
        with qtbot.waitSignal(window.image_shown, timeout=WAIT_MS):
            nav.select_row(nav.files.row_of("new.jpg") or 0)
        # saved by the annotation writer thread once the station moved on
        qtbot.waitUntil(lambda: (root / current).with_suffix(".json").is_file(), timeout=WAIT_MS)
    finally:
        window.shutdown()


def test_a_file_that_never_decodes_is_listed_as_unreadable(qtbot, tmp_path: Path) -> None:
    make_folder(tmp_path, 1)
    watch = FolderWatch(settle_s=0.1, give_up_s=0.6)
    added: list[ScanResult] = []
    watch.files_added.connect(added.extend)
    watch.start(tmp_path)
    try:
        qtbot.waitUntil(lambda: len(watch.watched_folders()) == 1, timeout=WAIT_MS)
        (tmp_path / "broken.png").write_bytes(b"not a png at all")
        qtbot.wait(300)
        assert added == []  # not yet: it may still be being written
        qtbot.waitUntil(lambda: len(added) == 1, timeout=WAIT_MS)
        assert added[0].name == "broken.png" and added[0].image_error
        # A new subfolder (like Live mode's live_snapshots/) is watched, with the image in it.
        make_image(tmp_path / "snaps" / "snap_1.png")
        qtbot.waitUntil(lambda: [r.name for r in added][1:] == ["snaps/snap_1.png"], timeout=WAIT_MS)
        assert added[1].image_error is None
        removed: list[str] = []
        watch.files_removed.connect(removed.extend)
        (tmp_path / "broken.png").unlink()
        qtbot.waitUntil(lambda: removed == ["broken.png"], timeout=WAIT_MS)
    finally:
        watch.stop()
