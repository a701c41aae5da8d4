""""Predict folder" from the GUI: the batch runs in a QThread with progress, and can be cancelled."""

from __future__ import annotations

from pathlib import Path

import pytest

from inspector_app.jobs.batch_job import BatchPredictJob
from inspector_app.services.batch import BatchOptions, BatchProgress
from tests.app.test_station_support import make_image, make_model

pytestmark = pytest.mark.gui


def _folder(root: Path, n: int) -> None:
    for i in range(n):
        make_image(root / f"{i:03d}.png", shift=i % 4)


def test_job_reports_progress_and_finishes(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _folder(tmp_path / "in", 12)
    options = BatchOptions(make_model(tmp_path / "m.onnx"), tmp_path / "in", tmp_path / "out",
                           masks=True, csv=tmp_path / "out" / "summary.csv")  # fmt: skip
    job = BatchPredictJob(options)
    seen: list[BatchProgress] = []
    job.progress.connect(seen.append)
    with qtbot.waitSignal(job.finished, timeout=60_000) as done:
        job.start()
    report = done.args[0]
    assert (report.processed, report.skipped, report.cancelled) == (12, 0, False)
    assert seen[-1].done == 12 and seen[-1].total == 12
    assert len(list((tmp_path / "out").glob("*.png"))) == 12
    assert (tmp_path / "out" / "summary.csv").is_file()


def test_job_can_be_cancelled(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _folder(tmp_path / "in", 60)
    options = BatchOptions(make_model(tmp_path / "m.onnx"), tmp_path / "in", tmp_path / "out", masks=True)
    job = BatchPredictJob(options)
    job.progress.connect(lambda p: job.cancel() if p.processed >= 1 else None)
    with qtbot.waitSignal(job.finished, timeout=60_000) as done:
        job.start()
    report = done.args[0]
    assert report.cancelled and 1 <= report.processed < 60
    assert report.exit_code() == 3
    assert not job.is_running() or job.wait(5000)


def test_job_reports_a_bad_model(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _folder(tmp_path / "in", 2)
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"junk")
    job = BatchPredictJob(BatchOptions(bad, tmp_path / "in", tmp_path / "out"))
    with qtbot.waitSignal(job.failed, timeout=60_000) as failed:
        job.start()
    assert "bad.onnx" in failed.args[0]


def test_predict_folder_dialog_runs_in_background(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from inspector_app.widgets.batch_dialog import BatchDialog

    _folder(tmp_path / "in", 5)
    dialog = BatchDialog(make_model(tmp_path / "m.onnx"), tmp_path / "in")
    qtbot.addWidget(dialog)
    dialog.output_edit.setText(str(tmp_path / "results"))
    dialog.overlays.setChecked(True)
    dialog.start()
    assert dialog.job is not None
    with qtbot.waitSignal(dialog.job.finished, timeout=60_000):
        pass
    assert dialog.status.text().startswith("Done: 5 predicted")
    assert dialog.start_button.isEnabled() and not dialog.cancel_button.isEnabled()
    assert len(list((tmp_path / "results" / "overlays").glob("*.jpg"))) == 5
    assert (tmp_path / "results" / "summary.csv").is_file()
