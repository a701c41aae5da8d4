"""The Training mode end to end: real trainer processes started from the station's page.

A project annotated in the test (LabelMe files; its class table lacks the new class ``dent``), a
tiny ONNX model as the station's current model. From the mode: a job with a tiny budget runs in a
QProcess, its curves receive points, it finishes, the comparison table appears, Promote loads the
candidate (the prediction controller's model id changes). Then a job cancelled mid-run (exit 3,
its checkpoint kept) and a job with a bad configuration (reported as failed; the station lives on).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from inspector_app.core.annotations import Shape, document_for_image, save_document
from inspector_app.core.classes import ClassTable
from inspector_app.main_window import MainWindow
from inspector_app.modes.training import TrainingMode
from inspector_app.services.training.preflight import trainer_status
from inspector_app.services.training.presets import QUICK_FINE_TUNE
from inspector_app.services.training.runs import read_run
from inspector_app.widgets import training_widgets as tw
from tests.onnx_factory import make_card, save_model, segmentation_model

pytestmark = [
    pytest.mark.slow,
    pytest.mark.gui,
    pytest.mark.skipif(not trainer_status().ready, reason="the trainer (torch) is not installed"),
]
TINY = {"epochs": 1, "batch_size": 2, "threads": 1, "log_every": 1, "warmup_epochs": 0, "class_weights": None}
JOB_MS = 150_000


def annotate(root: Path, name: str, labels: list[str], seed: int) -> None:
    """A 64x64 grey image with the defects drawn in, and its LabelMe file."""
    rng = np.random.default_rng(seed)
    image = rng.normal(128, 6, (64, 64, 3)).clip(0, 255).astype(np.uint8)
    shapes = []
    for i, label in enumerate(labels):
        x, y = 6 + 20 * i, int(rng.integers(6, 40))
        image[y : y + 12, x : x + 12] = {"scratch": 250, "stain": 20, "dent": 180}[label]
        shapes.append(Shape(label, ((x, y), (x + 12, y), (x + 12, y + 12), (x, y + 12))))
    cv2.imwrite(str(root / name), image)
    json_path = (root / name).with_suffix(".json")
    save_document(document_for_image(root / name, json_path, shapes, height=64, width=64), json_path)


def current_model(path: Path) -> Path:
    """A 1x1-convolution ONNX model with the project's classes (bright = scratch, dark = stain)."""
    table = ClassTable.from_labels(["scratch", "stain"])
    model = segmentation_model([[0, 0, 0], [1, 1, 1], [-1, -1, -1]], [1.0, -1.5, 0.5], size_multiple=32)
    return save_model(model, path, make_card(table, 3, model_id="tiny-current"))


@pytest.fixture
def window(qtbot, tmp_path: Path) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    project = tmp_path / "project"
    project.mkdir()
    for i in range(6):
        annotate(project, f"a{i}.png", ["scratch"] if i % 2 else ["stain"], i)
    for i in range(3):
        annotate(project, f"d{i}.png", ["dent", "scratch"] if i % 2 else ["dent"], 10 + i)
    cv2.imwrite(str(project / "u0.png"), np.full((64, 64, 3), 128, np.uint8))  # unannotated
    (project / ".inspector").mkdir()
    ClassTable.from_labels(["scratch", "stain"]).save(project / ".inspector" / "classes.yaml")
    win = MainWindow(operator="tester")
    qtbot.addWidget(win)
    win.show()
    with qtbot.waitSignal(win.image_shown, timeout=20_000):
        assert win.open_path(project)
    with qtbot.waitSignal(win.station.prediction.model_settled, timeout=20_000):
        win.station.prediction.load_model(current_model(tmp_path / "current.onnx"))
    win.modes.switch("training")
    yield win
    win.shutdown()


def _mode(win: MainWindow) -> TrainingMode:
    return win.training_mode


def _set_options(mode: TrainingMode, **changes: object) -> None:
    tw.fill_options(mode.options, QUICK_FINE_TUNE.with_options(**changes).options)


def test_train_compare_promote_cancel_and_fail(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    mode = _mode(window)
    training, prediction = window.training, window.station.prediction
    assert "new classes: dent" in mode.summary.text() and "1 unannotated" in mode.summary.text()
    labels = [mode.classes.item(r, 0).text() for r in range(mode.classes.rowCount())]
    assert labels == ["scratch", "stain", "dent"]
    assert mode.classes.item(len(labels) - 1, 4).text().startswith("new class")
    assert mode.base.currentText().startswith("fresh")  # the ONNX test model has no checkpoint
    # editable split: move one image to the other side, kept after a rescan
    mode.split_table.selectRow(0)
    name = mode.split_table.item(0, 0).text()
    before = mode.split.side_of(name)
    mode.move_selected()
    mode.refresh()
    assert mode.split.side_of(name) not in (None, before)

    # --- a tiny job: curves, finish, comparison, promote ----------------------------------------
    _set_options(mode, **TINY)
    with qtbot.waitSignal(training.job_finished, timeout=JOB_MS) as finished:
        run_id = mode.start()
        assert run_id is not None
    assert finished.args[:2] == [run_id, "ok"], finished.args
    assert mode.curves.point_count() >= 2  # loss points and the validation mIoU
    qtbot.waitUntil(lambda: mode.comparison.table.rowCount() > 0, timeout=60_000)
    compared = [mode.comparison.table.item(r, 0).text() for r in range(mode.comparison.table.rowCount())]
    assert "dent" in compared and mode.comparison.images_table.rowCount() == len(mode.split.val)
    assert mode.selected_run() is not None and mode.selected_run().run_id == run_id
    mode.comparison.images_table.setCurrentCell(0, 0)  # most disagreeing image: both overlays side by side
    qtbot.waitUntil(mode.comparison.overlays.has_images, timeout=30_000)
    with qtbot.waitSignal(prediction.model_loaded, timeout=20_000) as loaded:
        mode.promote()
    assert loaded.args[0].model_id != "tiny-current"
    assert prediction.model is not None and prediction.model.model_id == loaded.args[0].model_id
    assert "lineage: " in mode.lineage.text()
    # annotate next: the unannotated image ranked by the new model, opened in Annotate mode
    mode.annotate_next.rank_button.click()
    qtbot.waitUntil(lambda: mode.annotate_next.next_list.count() == 1, timeout=30_000)
    item = mode.annotate_next.next_list.item(0)
    assert item is not None and item.text().startswith("u0.png")
    with qtbot.waitSignal(window.image_shown, timeout=20_000):
        mode.annotate_next.next_list.itemClicked.emit(item)
    assert window.modes.current() == "annotate" and window.station.navigation.current_name == "u0.png"
    window.modes.switch("training")

    # --- cancel mid-run: exit 3, last.pt kept ------------------------------------------------------
    _set_options(mode, **{**TINY, "epochs": 200})
    training.stop_grace_s = 30.0
    with qtbot.waitSignal(training.progress_reported, timeout=JOB_MS):
        cancelled_id = mode.start()
    assert cancelled_id is not None
    queued_id = mode.start()  # while one runs, the next waits in the queue; it can be dropped there
    qtbot.waitUntil(lambda: mode.queue.count() == 1, timeout=20_000)
    assert [j.run_id for j in training.queued()] == [queued_id] and training.cancel_queued(str(queued_id))
    assert not training.queued()
    with qtbot.waitSignal(training.job_finished, timeout=JOB_MS) as finished:
        mode.cancel_button.click()
    assert finished.args[:2] == [cancelled_id, "cancelled"] and training.last_exit_code == 3
    run = read_run(window.station.navigation.project.root / ".inspector" / "runs" / cancelled_id)
    assert run.status == "cancelled" and (run.run_dir / "last.pt").is_file()

    # --- a bad configuration: failed with the trainer's message, the station lives on -------------
    _set_options(mode, **{**TINY, "scheduler": "no-such-schedule"})
    with qtbot.waitSignal(training.job_finished, timeout=JOB_MS) as finished:
        assert mode.start() is not None
    assert finished.args[1] == "failed" and "scheduler" in finished.args[2], finished.args
    assert training.last_exit_code == 2
    window.modes.switch("review")
    assert window.isVisible() and window.modes.current() == "review"
