"""``defect-inspector predict`` never overwrites what it did not write, never reads its own outputs back,
and says what it did with every input in its exit code, on stderr and in the CSV."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from inspector_app.services.batch import BatchExit, BatchOptions, run_batch
from inspector_app.services.batch_marks import read_marker
from tests.app.test_station_support import make_image, make_model
from tests.onnx_factory import BINARY_TABLE, one_logit

REPO = Path(__file__).resolve().parents[2]
_RUNNER = "import sys; from inspector_app.__main__ import main; sys.exit(main(sys.argv[1:]))"


def predict(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """The real command line in a subprocess."""
    return subprocess.run(
        [sys.executable, "-c", _RUNNER, "predict", *map(str, args)],
        capture_output=True, text=True, cwd=REPO, timeout=300,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip


def rows_of(path: Path) -> dict[str, dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return {r["image"]: r for r in csv.DictReader(fh)}


HAND_MADE = (
    b'{"version": "5.5.0", "flags": {}, "shapes": [{"label": "red", "points": [[1, 1], [9, 1], [9, 9]],'
    b' "group_id": null, "description": "", "shape_type": "polygon", "flags": {}, "mask": null}],'
    b' "imagePath": "a.jpg", "imageData": null, "imageHeight": 48, "imageWidth": 64}'
)


def test_output_equal_to_input_keeps_hand_made_json_and_never_reads_its_outputs(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    make_image(folder / "a.jpg")
    (folder / "a.json").write_bytes(HAND_MADE)  # somebody's annotation
    make_image(folder / "b.png")  # its mask would be b.png itself
    make_image(folder / "c.jpg", shift=2)
    model = make_model(tmp_path / "m.onnx")
    summary = tmp_path / "s.csv"
    run = predict("--model", model, "--input", folder, "--output", folder, "--labelme", "--masks",
                  "--overlays", "--csv", summary)  # fmt: skip
    assert run.returncode == BatchExit.SOME_FAILED, run.stderr
    assert (folder / "a.json").read_bytes() == HAND_MADE
    assert "a.json exists and was not written by defect-inspector predict" in run.stderr
    assert "b.png would replace an input image" in run.stderr
    assert read_marker(folder / "c.png") == {"source": "prediction", "model_id": "rgb4-a"}
    assert (read_marker(folder / "c.json") or {}).get("model_id") == "rgb4-a"
    rows = rows_of(summary)
    assert set(rows) == {"a.jpg", "b.png", "c.jpg"}
    assert rows["a.jpg"]["status"] == rows["b.png"]["status"] == "refused"
    assert rows["c.jpg"]["status"] == "predicted"

    again = predict("--model", model, "--input", folder, "--output", folder, "--labelme", "--masks",
                    "--overlays", "--csv", summary)  # fmt: skip
    # c.png (our mask) and overlays/ are not inputs: still the same three images.
    assert set(rows_of(summary)) == {"a.jpg", "b.png", "c.jpg"}, again.stderr
    assert "0 predicted, 1 already done, 2 failed" in again.stderr
    assert (folder / "a.json").read_bytes() == HAND_MADE
    # --force replaces masks of ours, never a LabelMe file that is not ours.
    forced = predict("--model", model, "--input", folder, "--output", folder, "--labelme", "--force")
    assert (folder / "a.json").read_bytes() == HAND_MADE and "a.jpg" in forced.stderr


def test_images_sharing_a_stem_are_refused_naming_each_other(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    make_image(folder / "a.jpg")
    make_image(folder / "a.png", shift=3)
    make_image(folder / "b.png")
    report = run_batch(BatchOptions(make_model(tmp_path / "m.onnx"), folder, tmp_path / "out", masks=True))
    failures = dict(report.failures)
    assert set(failures) == {"a.jpg", "a.png"}
    assert "a.png" in failures["a.jpg"] and "a.jpg" in failures["a.png"]
    assert report.processed == 1 and report.exit_code() == BatchExit.SOME_FAILED
    assert not (tmp_path / "out" / "a.png").exists() and (tmp_path / "out" / "b.png").is_file()


def test_exit_codes_partial_failure_and_nothing_done(tmp_path: Path) -> None:
    model = make_model(tmp_path / "m.onnx")
    mixed = tmp_path / "mixed"
    make_image(mixed / "good.png")
    (mixed / "bad.png").write_bytes(b"not an image")
    run = predict("--model", model, "--input", mixed, "--output", tmp_path / "o1",
                  "--csv", tmp_path / "1.csv", "--masks")  # fmt: skip
    assert run.returncode == BatchExit.SOME_FAILED == 1
    assert "bad.png" in run.stderr and "1 predicted" in run.stderr and "1 failed" in run.stderr
    assert rows_of(tmp_path / "1.csv")["bad.png"]["status"] == "unreadable"
    # The progress line and the summary count failures alike.
    assert "failed 1" in run.stderr.splitlines()[-3]

    all_bad = tmp_path / "bad"
    all_bad.mkdir()
    (all_bad / "x.png").write_bytes(b"junk")
    nothing = predict("--model", model, "--input", all_bad, "--output", tmp_path / "o2")
    assert nothing.returncode == BatchExit.NOTHING_DONE == 4, nothing.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    assert predict("--model", model, "--input", empty, "--output", tmp_path / "o3").returncode == 4
    assert "--csv" in predict("--help").stdout and "exit codes" in predict("--help").stdout


def test_an_unreadable_subfolder_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    make_image(folder / "a.png")
    os.symlink("loop", folder / "loop")  # a subfolder entry that cannot be listed (ELOOP), even as root
    locked = folder / "locked"
    make_image(locked / "b.png")
    locked.chmod(0)
    try:
        report = run_batch(BatchOptions(make_model(tmp_path / "m.onnx"), folder, tmp_path / "out"))
    finally:
        locked.chmod(0o755)
    failures = dict(report.failures)
    assert "loop/" in failures and "cannot list" in failures["loop/"]
    if os.geteuid() != 0:  # root reads a chmod 000 folder anyway
        assert "locked/" in failures
    assert report.exit_code() == BatchExit.SOME_FAILED


def test_outputs_of_another_model_are_redone_not_counted_as_done(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    make_image(folder / "a.png")
    out, summary = tmp_path / "out", tmp_path / "s.csv"
    first = run_batch(BatchOptions(make_model(tmp_path / "a.onnx", "model-a"), folder, out, labelme=True))
    assert first.processed == 1
    report = run_batch(BatchOptions(make_model(tmp_path / "b.onnx", "model-b"), folder, out, labelme=True,
                                    csv=summary))  # fmt: skip
    assert (report.processed, report.skipped, report.redone) == (1, 0, ["a.png"])
    assert read_marker(out / "a.json")["model_id"] == "model-b"  # type: ignore[index]
    assert rows_of(summary)["a.png"]["model_id"] == "model-b"
    again = run_batch(BatchOptions(make_model(tmp_path / "b.onnx", "model-b"), folder, out, labelme=True))
    assert (again.processed, again.skipped) == (0, 1)


def test_a_csv_that_cannot_be_written_is_named_and_the_summary_printed(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    make_image(folder / "a.png")
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")  # read-only as far as the CSV goes, even for root
    run = predict("--model", make_model(tmp_path / "m.onnx"), "--input", folder, "--output",
                  tmp_path / "out", "--masks", "--csv", blocker / "s.csv")  # fmt: skip
    assert run.returncode == BatchExit.SOME_FAILED, run.stderr
    assert "Traceback" not in run.stderr
    assert f"cannot write the CSV {blocker / 's.csv'}" in run.stderr
    assert "1 predicted" in run.stderr  # the summary
    assert (tmp_path / "out" / "a.png").is_file()


def test_a_full_disk_is_named_per_image_and_for_the_csv(tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(disk)],
                             capture_output=True, text=True)  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        (disk / "filler").write_bytes(b"\0" * (64 * 1024 - 4096))
        folder = tmp_path / "in"
        for i in range(3):
            make_image(folder / f"{i}.png", shift=i)
        run = predict("--model", make_model(tmp_path / "m.onnx"), "--input", folder, "--output",
                      disk / "out", "--overlays", "--csv", disk / "s.csv")  # fmt: skip
        assert run.returncode in (BatchExit.SOME_FAILED, BatchExit.NOTHING_DONE), run.stderr
        assert "Traceback" not in run.stderr and "No space left on device" in run.stderr
        assert "cannot write the CSV" in run.stderr and "predicted" in run.stderr
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def test_one_logit_csv_header_and_a_card_less_model_with_classes(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    grey = np.zeros((40, 50), np.uint8)
    grey[:, 25:] = 200
    folder.mkdir()
    cv2.imwrite(str(folder / "g.png"), grey)
    model = one_logit(tmp_path / "bare.onnx", card=False)
    refused = predict("--model", model, "--input", folder, "--output", tmp_path / "o")
    assert refused.returncode == BatchExit.BAD_ARGUMENTS and "--classes" in refused.stderr
    classes = tmp_path / "classes.yaml"
    BINARY_TABLE.save(classes)
    run = predict("--model", model, "--classes", classes, "--input", folder, "--output", tmp_path / "o",
                  "--csv", tmp_path / "s.csv")  # fmt: skip
    assert run.returncode == 0, run.stderr
    with open(tmp_path / "s.csv", newline="", encoding="utf-8") as fh:
        header = next(csv.reader(fh))
    assert header.count("defect_px") == 1 and header.count("defect_pct") == 1, header
    assert rows_of(tmp_path / "s.csv")["g.png"]["defect_px"] == str(40 * 25)


def test_marker_survives_and_is_read_back(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    make_image(folder / "a.png")
    run_batch(BatchOptions(make_model(tmp_path / "m.onnx"), folder, tmp_path / "out", masks=True,
                           overlays=True))  # fmt: skip
    assert cv2.imread(str(tmp_path / "out" / "a.png"), cv2.IMREAD_UNCHANGED).shape == (48, 64)
    assert cv2.imread(str(tmp_path / "out" / "overlays" / "a.jpg")).shape == (48, 64, 3)
    assert json.dumps(read_marker(tmp_path / "out" / "overlays" / "a.jpg"), sort_keys=True) == json.dumps(
        {"model_id": "rgb4-a", "source": "prediction"}
    )
