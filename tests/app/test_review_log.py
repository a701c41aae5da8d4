"""Review log on a real SQLite file: verdict history, newest wins, summary, CSV export."""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path

import pytest

from inspector_app.services.project import Project, ProjectSettings
from inspector_app.services.review_log import CSV_COLUMNS, ReviewLog, ReviewRecord, content_hash


def test_newest_verdict_wins_and_history_is_kept(tmp_path: Path) -> None:
    db = tmp_path / "review.sqlite"
    with ReviewLog(db) as log:
        log.record(ReviewRecord("a.png", "NG", category="scratch", class_areas={"ca_shang": 120}))
        log.record(ReviewRecord("a.png", "OK", operator="ann"))
        log.record(ReviewRecord("sub/b.png", "NG", comment="dent", class_areas={"zang_wu": 5, "x": 0}))
        latest = log.latest()
        assert set(latest) == {"a.png", "sub/b.png"}
        assert latest["a.png"].verdict == "OK"
        assert latest["a.png"].operator == "ann"
        assert latest["a.png"].time  # stamped on record
        assert [r.verdict for r in log.history("a.png")] == ["NG", "OK"]
    # The file is a plain SQLite database other tools can read.
    rows = sqlite3.connect(db).execute("SELECT image, verdict FROM reviews ORDER BY id").fetchall()
    assert rows == [("a.png", "NG"), ("a.png", "OK"), ("sub/b.png", "NG")]


def test_reopen_restores_latest(tmp_path: Path) -> None:
    db = tmp_path / "r.sqlite"
    with ReviewLog(db) as log:
        log.record(ReviewRecord("x.jpg", "NG", class_areas={"zhe_zhou": 10}))
    with ReviewLog(db) as log:
        rec = log.latest()["x.jpg"]
        assert rec.verdict == "NG"
        assert rec.class_areas == {"zhe_zhou": 10}


def test_bad_verdict_is_refused(tmp_path: Path) -> None:
    with ReviewLog(tmp_path / "r.sqlite") as log, pytest.raises(ValueError, match="verdict"):
        log.record(ReviewRecord("x.jpg", "maybe"))


def test_summary_counts_and_frequencies(tmp_path: Path) -> None:
    with ReviewLog(tmp_path / "r.sqlite") as log:
        log.record(ReviewRecord("1.png", "OK"))
        log.record(ReviewRecord("2.png", "NG", category="stain", class_areas={"a": 3, "b": 0}))
        log.record(ReviewRecord("3.png", "NG", category="stain", class_areas={"a": 1, "b": 7}))
        summary = log.summary(total_images=10)
    assert (summary.ok, summary.ng, summary.reviewed, summary.unreviewed) == (1, 2, 3, 7)
    assert summary.ng_rate == pytest.approx(2 / 3)
    assert summary.class_frequency == {"a": 2, "b": 1}
    assert summary.categories == {"stain": 2}


def test_csv_export_content(tmp_path: Path) -> None:
    with ReviewLog(tmp_path / "r.sqlite") as log:
        log.record(ReviewRecord("b.png", "OK", operator="op", model_id="m1", content_hash="h1"))
        log.record(ReviewRecord("a.png", "NG", comment='says "hi", ok', class_areas={"c": 4}))
        log.record(ReviewRecord("b.png", "NG", category="dent"))
        n = log.export_csv(tmp_path / "out.csv")
        n_all = log.export_csv(tmp_path / "all.csv", all_rows=True)
    assert (n, n_all) == (2, 3)
    with open(tmp_path / "out.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [(r["image"], r["verdict"]) for r in rows] == [("a.png", "NG"), ("b.png", "NG")]
    assert rows[0]["comment"] == 'says "hi", ok'
    assert rows[0]["class_areas"] == '{"c": 4}'
    assert rows[1]["category"] == "dent"


def test_content_hash_changes_with_bytes(tmp_path: Path) -> None:
    f = tmp_path / "f.bin"
    f.write_bytes(b"abc")
    h1 = content_hash(f)
    f.write_bytes(b"abd")
    assert content_hash(f) != h1 and len(h1) == 32


def test_project_meta_is_lazy_and_settings_round_trip(tmp_path: Path) -> None:
    (tmp_path / "img.png").write_bytes(b"")
    project = Project.open(tmp_path)
    assert not project.has_meta  # browsing leaves no trace
    assert project.existing_review_log() is None
    project.settings.operator = "kim"
    project.settings.autosave_seconds = 5
    project.save_settings()
    project.review_log().record(ReviewRecord("img.png", "OK"))
    project.close()
    again = Project.open(tmp_path / "img.png")
    assert again.root == tmp_path.absolute()
    assert again.initial_image == (tmp_path / "img.png").absolute()
    assert again.settings.operator == "kim" and again.settings.autosave_seconds == 5
    log = again.existing_review_log()
    assert log is not None and log.latest()["img.png"].verdict == "OK"
    again.close()


def test_bad_settings_fall_back_with_warning(tmp_path: Path) -> None:
    (tmp_path / ".inspector").mkdir()
    (tmp_path / ".inspector" / "settings.json").write_text('{"overlay_opacity": "x", "autosave_seconds": 7,'
                                                           ' "future_key": 1}')
    project = Project.open(tmp_path)
    assert project.settings.overlay_opacity == ProjectSettings().overlay_opacity
    assert project.settings.autosave_seconds == 7
    assert project.settings.to_dict()["future_key"] == 1  # unknown keys survive a save
    (tmp_path / ".inspector" / "settings.json").write_text("{not json")
    assert Project.open(tmp_path).warnings
