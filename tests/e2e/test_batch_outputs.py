"""Batch outputs and the review CSV are replaced atomically: never a partial file under an output's
name, no temp file left behind, empty leftovers of a power loss are redone, permissions as for
any new file."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from inspector_app.core.fileio import default_file_mode
from inspector_app.services.batch import BatchOptions, run_batch
from inspector_app.services.review_log import CSV_COLUMNS, ReviewRecord, write_csv
from tests.app.test_station_support import expected_mask, make_image, make_model


@pytest.fixture
def data(tmp_path: Path) -> tuple[Path, Path, dict[str, np.ndarray]]:
    images = tmp_path / "in"
    expected = {f"{i}.png": expected_mask(make_image(images / f"{i}.png", shift=i)) for i in range(4)}
    return images, make_model(tmp_path / "m.onnx"), expected


def _temp_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.name.endswith(".tmp")]


def _options(images: Path, model: Path, out: Path, **changes: object) -> BatchOptions:
    fields: dict[str, object] = {"model": model, "input_dir": images, "output_dir": out, "masks": True,
                                 "labelme": True, "overlays": True, "io_threads": 2}  # fmt: skip
    fields.update(changes)
    return BatchOptions(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("durable", [False, True])
def test_outputs_whole_no_temp_files_usual_mode(tmp_path: Path, data, durable: bool) -> None:  # type: ignore[no-untyped-def]
    images, model, expected = data
    out = tmp_path / "out"
    report = run_batch(_options(images, model, out, durable=durable, csv=tmp_path / "s.csv"))
    assert report.processed == 4 and not report.failures
    for name, mask in expected.items():
        stem = name[:-4]
        np.testing.assert_array_equal(cv2.imread(str(out / f"{stem}.png"), cv2.IMREAD_UNCHANGED), mask)
        assert (out / f"{stem}.json").stat().st_size > 0
        assert cv2.imread(str(out / "overlays" / f"{stem}.jpg")) is not None
        # mkstemp makes 0600 files: outputs must get what any new file gets (shared folders).
        assert (out / f"{stem}.png").stat().st_mode & 0o777 == default_file_mode()
    assert _temp_files(tmp_path) == []


def test_empty_outputs_of_a_power_loss_are_redone(tmp_path: Path, data) -> None:  # type: ignore[no-untyped-def]
    images, model, expected = data
    out = tmp_path / "out"
    run_batch(_options(images, model, out))
    (out / "2.png").write_bytes(b"")  # what an un-fsynced new file can be after a power loss
    stamp = (out / "0.png").stat().st_mtime_ns
    again = run_batch(_options(images, model, out))
    assert again.processed == 1 and again.skipped == 3
    np.testing.assert_array_equal(cv2.imread(str(out / "2.png"), cv2.IMREAD_UNCHANGED), expected["2.png"])
    assert (out / "0.png").stat().st_mtime_ns == stamp  # the others were left alone


def test_a_failing_write_is_reported_and_leaves_no_temp_file(tmp_path: Path, data) -> None:  # type: ignore[no-untyped-def]
    images, model, _expected = data
    out = tmp_path / "out"
    (out / "1.png").mkdir(parents=True)  # the mask cannot replace a folder
    report = run_batch(_options(images, model, out, labelme=False, overlays=False))
    assert [name for name, _reason in report.failures] == ["1.png"]
    assert report.processed == 3 and report.exit_code() == 1
    assert _temp_files(tmp_path) == []


def _records(n: int, fail_after: int | None = None) -> Iterator[ReviewRecord]:
    for i in range(n):
        if fail_after is not None and i == fail_after:
            raise RuntimeError("database went away")
        yield ReviewRecord(image=f"img_{i}.png", verdict="NG", class_areas={"red": i})


def test_review_csv_is_replaced_whole_or_not_at_all(tmp_path: Path) -> None:
    target = tmp_path / "review.csv"
    assert write_csv(_records(3), target) == 3
    before = target.read_bytes()
    with pytest.raises(RuntimeError):
        write_csv(_records(5, fail_after=2), target)  # fails half-way through the rows
    assert target.read_bytes() == before
    with open(target, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert tuple(rows[0]) == CSV_COLUMNS and len(rows) == 4
    assert target.stat().st_mode & 0o777 == default_file_mode()
    folder = tmp_path / "taken.csv"
    folder.mkdir()
    with pytest.raises(OSError):
        write_csv(_records(2), folder)  # cannot replace a folder: nothing left behind
    assert _temp_files(tmp_path) == [] and sorted(os.listdir(tmp_path)) == ["review.csv", "taken.csv"]
