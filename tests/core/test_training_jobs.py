"""The Qt-free training-job service: dataset assembly, stable split, presets, command line,
pre-flight, run history, model registry and the uncertainty ordering (no Qt, no torch)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
import pytest

from inspector_app.core.annotations import Shape, document_for_image, load_document, save_document
from inspector_app.core.classes import ClassTable
from inspector_app.core.masks import rasterize
from inspector_app.core.protocol import Finished, Metrics, Started, append_event
from inspector_app.services.training.compare import compare_models
from inspector_app.services.training.dataset import scan_project
from inspector_app.services.training.job import JobSpec, build_command, prepare_job, read_job
from inspector_app.services.training.preflight import TrainerStatus, preflight, trainer_status
from inspector_app.services.training.presets import QUICK_FINE_TUNE, command_arguments
from inspector_app.services.training.registry import ModelRegistry, RegistryError
from inspector_app.services.training.runs import EventTail, list_runs, read_run
from inspector_app.services.training.split import (
    class_counts,
    load_split,
    move,
    save_split,
    update_split,
)
from inspector_app.services.training.uncertainty import (
    Method,
    rank_for_annotation,
    softmax,
    uncertainty_score,
)

TABLE = ClassTable.from_labels(["scratch", "stain"])


def square(label: str, x: float = 4, flags: dict[str, bool] | None = None) -> Shape:
    return Shape(label, ((x, 4), (x + 8, 4), (x + 8, 12), (x, 12)), "polygon", flags=flags or {})


def write_image(root: Path, name: str, shapes: list[Shape] | None, **extra: object) -> None:
    cv2.imwrite(str(root / name), np.full((32, 32, 3), 128, np.uint8))
    if shapes is not None:
        json_path = (root / name).with_suffix(".json")
        save_document(
            document_for_image(root / name, json_path, shapes, height=32, width=32, **extra), json_path
        )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    for i in range(6):
        write_image(root, f"s{i}.png", [square("scratch")])
    for i in range(4):
        write_image(root, f"t{i}.png", [square("stain"), square("dent", 16)] if i < 2 else [square("stain")])
    write_image(root, "flagged.png", [square("scratch"), square("stain", 16, {"prediction": True})])
    write_image(root, "batch.png", [square("stain")], extra={"defect_inspector": {"source": "prediction"}})
    write_image(root, "todo.png", None)
    (root / "broken.png").write_bytes(b"not an image")
    (root / "broken.json").write_text("{}", encoding="utf-8")
    return root


def test_scan_keeps_human_annotations_and_reports_the_rest(project: Path) -> None:
    data = scan_project(project, TABLE)
    assert sorted(i.name for i in data.images) == [f"s{i}.png" for i in range(6)] + [
        f"t{i}.png" for i in range(4)
    ]
    assert data.unconfirmed == ("batch.png", "flagged.png")
    assert data.unannotated == ("todo.png",)
    assert [name for name, _ in data.unreadable] == ["broken.png"]
    assert data.new_classes == ("dent",)
    assert data.training_table().labels == ("_background_", "scratch", "stain", "dent")
    assert data.label_counts() == {"scratch": 6, "stain": 4, "dent": 2}
    chosen = scan_project(project, TABLE, include_predictions=True)
    assert {"batch.png", "flagged.png"} <= {i.name for i in chosen.images}


def test_split_is_stratified_stable_editable_and_stored(project: Path) -> None:
    data = scan_project(project, TABLE)
    split = update_split(data, val_fraction=0.25)
    assert set(split.train) | set(split.val) == {i.name for i in data.images}
    counts = class_counts(data, split)
    assert counts["scratch"][1] >= 1 and counts["stain"][1] >= 1 and counts["scratch"][0] >= 1
    # new images never move old ones
    write_image(project, "s9.png", [square("scratch")])
    grown = update_split(scan_project(project, TABLE), split)
    assert set(split.val) <= set(grown.val) and set(split.train) <= set(grown.train)
    assert "s9.png" in set(grown.train) | set(grown.val)
    edited = move(grown, grown.val[0], "train")
    assert edited.side_of(grown.val[0]) == "train" and grown.val[0] in edited.pinned
    save_split(project, edited)
    assert load_split(project) == edited
    assert update_split(scan_project(project, TABLE), load_split(project)) == edited
    (project / ".inspector" / "training" / "split.json").write_text("{broken", encoding="utf-8")
    with pytest.raises(ValueError, match=r"split\.json"):
        load_split(project)


def test_preflight_messages(project: Path, tmp_path: Path) -> None:
    data = scan_project(project, TABLE)
    split = update_split(data, val_fraction=0.25)
    codes = {p.code for p in preflight(data, split, TrainerStatus(torch=True, trainer=True))}
    assert codes == {"unreadable", "unconfirmed_excluded", "new_classes"}
    # all dent images in validation: the new class has no training example
    dents = [i.name for i in data.images if "dent" in i.labels]
    for name in dents:
        split = move(split, name, "val")
    problems = preflight(data, split, TrainerStatus(torch=True, trainer=True))
    assert any(p.code == "class_without_example" and "'dent'" in p.message for p in problems)
    # a class the base model already has is kept without examples: a warning about forgetting
    kept = preflight(data, split, TrainerStatus(True, True), parent_classes=["_background_", "dent"])
    assert [p.severity for p in kept if "'dent'" in p.message] == ["warning"]
    missing = preflight(data, split, TrainerStatus(torch=False, trainer=True))
    text = next(p.message for p in missing if p.code == "torch_missing")
    assert "whl/cpu" in text and "GPU" in text
    empty = tmp_path / "empty"
    empty.mkdir()
    nothing = scan_project(empty, TABLE)
    assert [p.code for p in preflight(nothing, update_split(nothing), TrainerStatus(True, True))] == [
        "no_annotations"
    ]
    assert trainer_status().trainer  # this checkout's trainer is importable


def test_the_service_finds_torch_without_importing_it() -> None:
    code = (
        "import sys\n"
        "import inspector_app.services.training.job, inspector_app.services.training.runs\n"
        "from inspector_app.services.training.preflight import trainer_status\n"
        "status = trainer_status()\n"
        "assert status.torch and status.trainer, status\n"
        "assert 'torch' not in sys.modules and 'trainer' not in sys.modules, 'imported'\n"
    )
    command = [sys.executable, "-c", code]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr


def test_job_folder_snapshot_and_command(project: Path) -> None:
    data = scan_project(project, TABLE)
    split = update_split(data, val_fraction=0.25)
    spec = JobSpec(
        QUICK_FINE_TUNE.with_options(epochs=2, export=False),
        base_checkpoint=Path("base.pt"),
        parent_model_id="abc",
    )
    job = prepare_job(project, data, split, spec, run_id="20260101-000000-quick", python="python3")
    assert job.run_dir == project / ".inspector" / "runs" / "20260101-000000-quick"
    assert job.command[:4] == ("python3", "-m", "trainer.cli", "train")
    assert job.command[job.command.index("--init") : job.command.index("--init") + 2] == ("--init", "base.pt")
    assert "--no-export" in job.command and job.command[job.command.index("--epochs") + 1] == "2"
    snapshot = sorted(p.name for p in job.data_dir.iterdir())
    assert "classes.yaml" in snapshot and "train.txt" in snapshot and "val.txt" in snapshot
    assert "flagged.png" not in snapshot and "todo.png" not in snapshot
    assert ClassTable.load(job.data_dir / "classes.yaml").labels[-1] == "dent"
    assert json.loads((job.data_dir / "s0.json").read_text())["imagePath"] == "s0.png"
    meta = read_job(job.run_dir)
    assert meta is not None and meta["parent_model_id"] == "abc" and meta["data"]["new_classes"] == ["dent"]
    with pytest.raises(FileExistsError):
        prepare_job(project, data, split, spec, run_id="20260101-000000-quick")


def test_all_gpus_run_through_torchrun(tmp_path: Path) -> None:
    spec = JobSpec(QUICK_FINE_TUNE, model="zhong", processes=2)
    command = build_command(spec, tmp_path / "run", tmp_path / "data", python="py")
    assert command[:7] == ["py", "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m"]
    assert command[7:9] == ["trainer.cli", "train"]
    assert build_command(JobSpec(QUICK_FINE_TUNE), tmp_path, tmp_path, python="py")[:3] == [
        "py",
        "-m",
        "trainer.cli",
    ]


class FixedMasks:
    """A model whose prediction for each image is given (the comparison is what is tested)."""

    def __init__(self, masks: dict[int, np.ndarray]) -> None:
        self.masks = masks

    def predict(self, image: np.ndarray) -> FixedMasks.Result:
        return FixedMasks.Result(self.masks[int(image[0, 0, 0])])

    class Result:
        def __init__(self, mask: np.ndarray) -> None:
            self.mask = mask


def test_compare_models_per_class_and_by_disagreement(tmp_path: Path) -> None:
    root = tmp_path / "p"
    root.mkdir()
    for i in range(2):  # the first pixel's value tells the image apart
        image = np.full((32, 32, 3), 100 + i, np.uint8)
        cv2.imwrite(str(root / f"i{i}.png"), image)
        json_path = root / f"i{i}.json"
        shapes = [square("scratch")] if i == 0 else [square("dent")]
        save_document(
            document_for_image(root / f"i{i}.png", json_path, shapes, height=32, width=32), json_path
        )
    current_table = TABLE  # no dent
    candidate_table = TABLE.with_labels(["dent"])[0]
    truth = {
        100 + i: rasterize(load_document(root / f"i{i}.json"), candidate_table, (32, 32)) for i in range(2)
    }
    # the current model finds the scratch only; the candidate also finds the dent
    current = FixedMasks({100: truth[100], 101: np.zeros((32, 32), np.uint8)})
    candidate = FixedMasks(truth)
    result = compare_models(root, ["i0.png", "i1.png"], current, current_table, candidate, candidate_table)
    assert result.labels == ("_background_", "scratch", "stain", "dent")
    assert result.iou_current["scratch"] == 1.0 and result.iou_current["dent"] == 0.0
    assert result.iou_candidate["dent"] == 1.0 and result.iou_candidate["stain"] is None  # absent
    assert result.miou_candidate == 1.0 and result.miou_current < 1.0
    assert [r.name for r in result.images] == ["i1.png", "i0.png"]
    assert result.images[0].disagreement > 0 and result.images[1].disagreement == 0.0


def test_command_arguments_follow_the_trainer_options() -> None:
    assert command_arguments(
        {"epochs": 3, "export": False, "rot90": True, "input_size": (480, 640), "model_options": {"base": 8}}
    ) == [
        "--epochs",
        "3",
        "--no-export",
        "--rot90",
        "--input-size",
        "480,640",
        "--model-options",
        '{"base": 8}',
    ]
    assert QUICK_FINE_TUNE.with_options(epochs=None).options.get("epochs") is None


def fake_run(
    project: Path,
    run_id: str,
    model_id: str,
    *,
    status: Literal["ok", "cancelled", "failed"] = "ok",
    parent: str | None = None,
) -> Path:
    """A run folder as the trainer leaves it (events through the protocol writer, a card)."""
    run = project / ".inspector" / "runs" / run_id
    run.mkdir(parents=True)
    events = run / "events.jsonl"
    append_event(
        events, Started(run_dir=str(run), model="zhong", device="cpu", epochs=2, num_train=4, num_val=2)
    )
    for epoch, miou in ((1, 0.4), (2, 0.6)):
        per_class = {
            "_background_": {"iou": 0.9},
            "scratch": {"iou": miou},
            "dent": {"iou": math.nan, "absent": 1.0},
        }
        append_event(
            events,
            Metrics(
                epoch=epoch,
                split="val",
                values={"miou": miou, "train_loss": 1.0 / epoch},
                per_class=per_class,
            ),
        )
    append_event(
        events,
        Finished(
            status=status,
            exit_code=0 if status == "ok" else 1,
            best_metric=0.6,
            best_epoch=2,
        ),
    )
    (run / "model.onnx").write_bytes(b"onnx-bytes-" + model_id.encode())
    (run / "model.json").write_text(json.dumps({"model_id": model_id, "name": model_id, "parent": parent}))
    (run / "best.pt").write_bytes(b"pt")
    return run


def test_run_history_reads_curves_and_metrics(project: Path) -> None:
    fake_run(project, "20260101-000000-quick", "m1")
    fake_run(project, "20260102-000000-quick", "m2", status="failed", parent="m1")
    runs = list_runs(project)
    assert [r.run_id for r in runs] == ["20260102-000000-quick", "20260101-000000-quick"]
    old = runs[1]
    assert old.status == "ok" and old.epochs == 2 and old.epochs_done == 2 and old.best_epoch == 2
    assert old.val_miou == ((1, 0.4), (2, 0.6)) and old.train_loss == ((1, 1.0), (2, 0.5))
    assert old.per_class_iou["scratch"] == 0.6 and old.absent_classes == ("dent",)
    assert runs[0].status == "failed" and runs[0].parent_model_id == "m1"
    (project / ".inspector" / "runs" / "20260103-000000-quick").mkdir()
    assert list_runs(project)[0].status == "not started"


def test_event_tail_reads_complete_lines_only(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    tail = EventTail(path)
    assert tail.poll() == []
    append_event(path, Started(run_dir="r", model="zhong", device="cpu", epochs=1, num_train=1, num_val=1))
    with open(path, "ab") as fh:
        fh.write(b'{"v": 1, "type": "finished", "status": "ok"')
    assert [type(e) for e in tail.poll()] == [Started]
    with open(path, "ab") as fh:
        fh.write(b', "exit_code": 0}\n')
    assert [type(e) for e in tail.poll()] == [Finished]


def test_promote_and_rollback_keep_every_model(project: Path) -> None:
    registry = ModelRegistry(project)
    assert registry.current() is None
    with pytest.raises(RegistryError, match="nothing to promote"):
        registry.promote(read_run(fake_run(project, "20260100-000000-quick", "bad", status="failed")))
    first = registry.promote(read_run(fake_run(project, "20260101-000000-quick", "m1")))
    second = registry.promote(read_run(fake_run(project, "20260102-000000-quick", "m2", parent="m1")))
    assert registry.current() == second and second.onnx_path.read_bytes() == b"onnx-bytes-m2"
    assert second.checkpoint_path is not None and registry.lineage("m2") == ("m2", "m1")
    assert registry.rollback() == first
    assert registry.current() == first and second.onnx_path.is_file()  # kept
    assert {e.model_id for e in registry.entries()} == {"m1", "m2"}
    assert registry.rollback() is None and registry.current() is None
    with pytest.raises(RegistryError):
        registry.rollback()
    registry.file.write_text("{not json", encoding="utf-8")
    with pytest.raises(RegistryError, match=r"registry\.json"):
        registry.current()
    assert registry.file.read_text(encoding="utf-8") == "{not json"  # never overwritten


def test_uncertainty_ranks_unsure_defects_first() -> None:
    certain_clean = np.zeros((3, 8, 8), np.float32)
    certain_clean[0] = 1.0
    confident = certain_clean.copy()
    confident[:, :2, :2] = np.array([0.02, 0.96, 0.02])[:, None, None]
    unsure = certain_clean.copy()
    unsure[:, :2, :2] = np.array([0.3, 0.36, 0.34])[:, None, None]
    assert uncertainty_score(certain_clean) == 0.0
    methods: tuple[Method, ...] = ("entropy", "margin")
    for method in methods:
        assert uncertainty_score(unsure, method) > uncertainty_score(confident, method) > 0.0
    assert uncertainty_score(np.full((3, 4, 4), 1 / 3, np.float32)) == pytest.approx(1.0, abs=1e-5)
    logits = np.random.default_rng(0).normal(size=(3, 4, 4)).astype(np.float32)
    np.testing.assert_allclose(softmax(logits).sum(axis=0), 1.0, rtol=1e-5)
    maps = {"a": confident, "b": unsure, "c": certain_clean}
    assert [n for n, _ in rank_for_annotation(sorted(maps), maps.__getitem__)] == ["b", "a", "c"]
    sigmoid = np.full((1, 4, 4), 0.5, np.float32)
    assert uncertainty_score(sigmoid) == pytest.approx(1.0, abs=1e-5)
