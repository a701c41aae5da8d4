"""Each station controller through its public API and signals, without a window (real threads,
real ONNX model, real files and SQLite)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from inspector_app.controllers import (
    AnnotationController,
    BatchController,
    NavigationController,
    PredictionController,
    ReviewController,
    ShownPrediction,
    Station,
)
from inspector_app.jobs.loader import LoadedImage
from inspector_app.services.batch import BatchOptions
from inspector_app.services.project import Project
from tests.app.test_station_support import make_folder, make_image, make_model

pytestmark = pytest.mark.gui
WAIT_MS = 15_000


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    make_folder(root, 3)
    return root


@pytest.fixture
def navigation(qtbot, folder: Path) -> Iterator[NavigationController]:  # type: ignore[no-untyped-def]
    nav = NavigationController()
    yield nav
    nav.shutdown()


def _first_image(qtbot, nav: NavigationController, folder: Path) -> LoadedImage:  # type: ignore[no-untyped-def]
    nav.row_proposed.connect(nav.select_row)  # what the list view does with the proposal
    with qtbot.waitSignal(nav.image_shown, timeout=WAIT_MS) as shown:
        assert nav.open(folder, operator="tester") is not None
    loaded = shown.args[0]
    assert isinstance(loaded, LoadedImage)
    return loaded


# --- navigation ------------------------------------------------------------------------------------
def test_navigation_opens_lists_and_decodes(qtbot, navigation, folder: Path) -> None:  # type: ignore[no-untyped-def]
    opened: list[Project] = []
    navigation.project_opened.connect(opened.append)
    with qtbot.waitSignal(navigation.listing_finished, timeout=WAIT_MS) as done:
        loaded = _first_image(qtbot, navigation, folder)
    assert done.args == [3] and navigation.files.rowCount() == 3
    assert len(opened) == 1 and navigation.project is opened[0]
    assert navigation.project.settings.operator == "tester"
    assert loaded.name == "img_0.png" and navigation.current_image is loaded
    assert navigation.current_name == "img_0.png"
    entry = navigation.current_entry()
    assert entry is not None and entry.name == "img_0.png"
    assert navigation.pixel_text(10, 10) == "255,0,0"  # inside the red patch
    assert navigation.pixel_text(-1, 0) is None and navigation.pixel_text(64, 0) is None
    # Another row: image_selected first, then the decoded image.
    with qtbot.waitSignals([navigation.image_selected, navigation.image_shown], timeout=WAIT_MS):
        navigation.select_row(1)
    assert navigation.current_name == "img_1.png"


def test_navigation_reports_what_it_cannot_open(qtbot, navigation, folder: Path) -> None:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(navigation.notice_posted) as notice:
        assert navigation.open(folder / "nowhere") is None
    assert notice.args[1] == "error" and "nowhere" in notice.args[0]
    (folder / "img_2.png").write_bytes(b"not a png")
    _first_image(qtbot, navigation, folder)
    with qtbot.waitSignal(navigation.image_failed, timeout=WAIT_MS) as failed:
        navigation.select_row(2)
    assert failed.args[0] == "img_2.png"
    assert navigation.current_image is None and navigation.pixel_text(0, 0) is None


# --- prediction ------------------------------------------------------------------------------------
def test_prediction_loads_a_model_and_shows_a_prediction(qtbot, navigation, folder, tmp_path) -> None:  # type: ignore[no-untyped-def]
    loaded = _first_image(qtbot, navigation, folder)
    pred = PredictionController()
    try:
        with qtbot.waitSignals([pred.model_loaded, pred.model_settled], timeout=WAIT_MS):
            pred.load_model(make_model(tmp_path / "m.onnx"))
        assert pred.model is not None and pred.model.name == "RGB test model"
        with qtbot.waitSignal(pred.prediction_shown, timeout=WAIT_MS) as shown:
            pred.show_image(loaded)
        result = shown.args[0]
        assert isinstance(result, ShownPrediction) and result.name == "img_0.png"
        assert result.model_id == "rgb4-a"
        assert result.areas()["red"] == 375 and result.regions() == {"red": 1, "green": 1}
        assert pred.mask is not None and pred.mask.shape == (48, 64)
        assert pred.class_name_at(10, 10) != ""
        assert pred.visible_classes([]) is None
        # Leaving the image drops the prediction (and says so).
        with qtbot.waitSignal(pred.prediction_cleared):
            pred.leave_image()
        assert pred.mask is None and pred.class_name_at(10, 10) == ""
        # A broken file: failure reported, the model kept.
        bad = tmp_path / "bad.onnx"
        bad.write_bytes(b"no model")
        before = pred.model
        with qtbot.waitSignals([pred.model_failed, pred.model_settled], timeout=WAIT_MS):
            pred.load_model(bad)
        assert pred.model is before
    finally:
        pred.shutdown()


# --- annotation ------------------------------------------------------------------------------------
def test_annotation_accepts_saves_and_grows_the_table(qtbot, navigation, folder: Path) -> None:  # type: ignore[no-untyped-def]
    loaded = _first_image(qtbot, navigation, folder)
    project = navigation.project
    assert project is not None
    flushed: list[bool] = []
    ann = AnnotationController(lambda: flushed.append(True))
    ann.attach(project, None)
    ann.open_image(loaded)
    assert ann.held_name() == "img_0.png" and not ann.is_dirty
    with qtbot.waitSignal(ann.notice_posted) as notice:
        assert ann.accept_prediction(None, None) == 0
    assert notice.args[1] == "warning"
    mask = np.zeros((48, 64), np.uint8)
    mask[5:20, 5:30] = 1
    with qtbot.waitSignal(ann.class_table_changed) as grown:
        ann.add_model_labels(["red"], "test model")
    assert "red" in grown.args[0].labels
    assert (folder / ".inspector" / "classes.yaml").is_file()
    with qtbot.waitSignal(ann.dirty_marked) as marked:
        assert ann.accept_prediction(mask, None) == 1
    assert marked.args == ["img_0.png", True] and ann.is_dirty
    with qtbot.waitSignal(ann.saved) as saved:
        assert ann.save_current()
    assert saved.args == ["img_0.png", {"red": 1}]
    assert flushed and (folder / "img_0.json").is_file() and not ann.is_dirty


def test_without_specks_drops_small_regions_only() -> None:
    from inspector_app.controllers.annotation import without_specks

    mask = np.zeros((20, 20), np.uint8)
    mask[2:8, 2:8] = 1
    mask[15, 15] = 1
    cleaned = without_specks(mask, 5)
    assert cleaned[3, 3] == 1 and cleaned[15, 15] == 0
    assert without_specks(mask, 1) is mask


# --- review ----------------------------------------------------------------------------------------
def test_review_records_verdicts_with_the_prediction(qtbot, navigation, folder, tmp_path) -> None:  # type: ignore[no-untyped-def]
    loaded = _first_image(qtbot, navigation, folder)
    project = navigation.project
    assert project is not None
    rev = ReviewController()
    with qtbot.waitSignal(rev.summary_changed):
        assert rev.attach(project) == {}
    assert rev.record("OK") is None  # no image yet
    with qtbot.waitSignal(rev.image_changed) as changed:
        rev.set_image(loaded)
    assert changed.args == [True, None]
    rev.set_prediction("rgb4-a", {"red": 375})
    rev.set_total(3)
    with qtbot.waitSignals([rev.record_added, rev.verdict_recorded, rev.verdict_written], timeout=WAIT_MS):
        record = rev.record("NG", category="scratch", comment="long")
    assert record is not None and rev.record_of("img_0.png") == record
    assert rev.summary().ng == 1
    rows = (
        sqlite3.connect(folder / ".inspector" / "review.sqlite")
        .execute("SELECT image, verdict, category, model_id, class_areas FROM reviews")
        .fetchall()
    )
    assert rows[0][:4] == ("img_0.png", "NG", "scratch", "rgb4-a") and '"red": 375' in rows[0][4]
    assert rev.export_csv(tmp_path / "out.csv") == 1
    rev.shutdown()


# --- batch -----------------------------------------------------------------------------------------
def test_batch_runs_one_job_at_a_time(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "in").mkdir()
    for i in range(3):
        make_image(tmp_path / "in" / f"{i}.png")
    batch = BatchController()
    options = BatchOptions(make_model(tmp_path / "m.onnx"), tmp_path / "in", tmp_path / "out", masks=True)
    job = batch.start(options)
    assert job is not None and batch.job is job
    # Still running: loading the model in the job thread alone takes far longer than this line.
    assert batch.is_running() and batch.start(options) is None
    with qtbot.waitSignal(job.finished, timeout=60_000):
        pass
    batch.shutdown()
    assert not batch.is_running()
    assert len(list((tmp_path / "out").glob("*.png"))) == 3


# --- the controllers together ----------------------------------------------------------------------
def test_station_joins_prediction_to_review_and_list(qtbot, folder: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    station = Station(operator="tester")
    station.navigation.row_proposed.connect(station.navigation.select_row)
    try:
        with qtbot.waitSignal(station.model_settled, timeout=WAIT_MS):
            station.prediction.load_model(make_model(tmp_path / "m.onnx"))
        with qtbot.waitSignal(station.prediction_shown, timeout=WAIT_MS) as shown:
            assert station.open_path(folder)
        assert shown.args == ["img_0.png"] and station.last_switch_ms is not None
        # The model's labels joined the project's table (none before).
        assert {"red", "green", "blue"} <= set(station.annotation.class_table.labels)
        entry = station.navigation.current_entry()
        assert entry is not None and entry.predicted == {"red": 1, "green": 1}
        assert station.accept_prediction(None) == 2
        with qtbot.waitSignal(station.verdict_recorded, timeout=WAIT_MS):
            record = station.review.record("NG")
        assert record is not None and record.class_areas["red"] == 375
        assert station.close() and (folder / "img_0.json").is_file()
    finally:
        station.shutdown()
