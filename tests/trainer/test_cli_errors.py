"""Bad input and bad configuration: exit code 2 with a message that names the problem."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from inspector_app.core.protocol import TrainerError, from_line, read_events
from trainer.cli import main

Maker = Callable[..., Path]
FAST = ["--epochs", "1", "--threads", "1", "--no-export"]


def run_train(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Exit code, the error event's message (or ''), and stderr."""
    code = main(["train", *args])
    captured = capsys.readouterr()
    events = [from_line(line) for line in captured.out.splitlines() if line.strip()]
    errors = [e for e in events if isinstance(e, TrainerError)]
    if code != 0:
        assert events[-1].type == "finished" and events[-1].exit_code == code
    return code, errors[0].message if errors else "", captured.err


def test_unknown_labels(dataset_maker: Maker, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = dataset_maker(labels_of=lambda i: ["stain", "dent"] if i in (1, 4) else ["stain"])
    code, message, err = run_train(
        capsys, "--data", str(data), "--model", "zhong", "--run-dir", str(tmp_path / "r"), *FAST
    )
    assert code == 2
    assert "'dent'" in message and "img_001.json" in message and "img_004.json" in message
    assert "dent" in err  # also logged for people
    # and the same run goes through when unknown classes may be added
    code, _, _ = run_train(
        capsys,
        "--data",
        str(data),
        "--model",
        "zhong",
        "--run-dir",
        str(tmp_path / "r2"),
        *FAST,
        "--add-unknown-classes",
    )
    assert code == 0
    warnings = [e for e in read_events(tmp_path / "r2" / "events.jsonl") if e.type == "warning"]
    assert any("dent" in w.message for w in warnings)


def test_size_mismatch(dataset_maker: Maker, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = dataset_maker()
    path = data / "img_003.json"
    document = json.loads(path.read_text())
    document["imageWidth"] = 200
    path.write_text(json.dumps(document))
    code, message, _ = run_train(
        capsys, "--data", str(data), "--model", "zhong", "--run-dir", str(tmp_path / "r"), *FAST
    )
    assert code == 2 and "img_003.json" in message and "size mismatch" in message


def test_bad_fraction_threshold_from_the_command_line(
    dataset_maker: Maker, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = dataset_maker(n=10)
    (data / "img_007.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    args = ["--data", str(data), "--model", "zhong_baseline", *FAST]
    code, message, _ = run_train(capsys, *args, "--run-dir", str(tmp_path / "a"))
    assert code == 2 and "img_007.png" in message and "max_bad_fraction" in message
    code, _, _ = run_train(capsys, *args, "--run-dir", str(tmp_path / "b"), "--max-bad-fraction", "0.1")
    assert code == 0
    warnings = [e.message for e in read_events(tmp_path / "b" / "events.jsonl") if e.type == "warning"]
    assert any("img_007.png" in w for w in warnings)


def test_empty_dataset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "data").mkdir()
    code, message, _ = run_train(
        capsys, "--data", str(tmp_path / "data"), "--model", "zhong", "--run-dir", str(tmp_path / "r"), *FAST
    )
    assert code == 2 and "empty dataset" in message


def test_split_naming_missing_files(
    dataset_maker: Maker, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = dataset_maker(split=(4, 2))
    (data / "test.txt").write_text("img_004\nimg_099\n")
    code, message, _ = run_train(
        capsys, "--data", str(data), "--model", "zhong", "--run-dir", str(tmp_path / "r"), *FAST
    )
    assert code == 2 and "img_099" in message and "test.txt" in message


def test_unknown_model(tiny_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, message, _ = run_train(
        capsys, "--data", str(tiny_dataset), "--model", "segformer", "--run-dir", str(tmp_path / "r"), *FAST
    )
    assert code == 2 and "segformer" in message and "zhong" in message  # names the known ones


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--input-size", "100x100"], "multiples of 32"),
        (["--optimizer", "lion"], "optimizer"),
        (["--loss", "dice_bce"], "binary"),
        (["--class-weights", "1,2"], "class_weights"),
        (["--model-options", '{"wings": 2}'], "wings"),
        (["--epochs", "two"], "epochs"),
    ],
)
def test_bad_option_values(
    tiny_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], expected: str
) -> None:
    base = [
        "--data",
        str(tiny_dataset),
        "--model",
        "zhong",
        "--run-dir",
        str(tmp_path / "r"),
        "--threads",
        "1",
        "--no-export",
    ]
    code, message, _ = run_train(capsys, *base, *args)
    assert code == 2 and expected in message


def test_unknown_key_in_config_file(
    tiny_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump({"epochs": 1, "learning_rate": 0.1}))
    code, message, _ = run_train(
        capsys,
        "--config",
        str(config),
        "--data",
        str(tiny_dataset),
        "--model",
        "zhong",
        "--run-dir",
        str(tmp_path / "r"),
    )
    assert code == 2 and "learning_rate" in message and "run.yaml" in message


def test_resume_without_checkpoint_and_reusing_a_run_folder(
    tiny_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "r"
    args = ["--data", str(tiny_dataset), "--model", "zhong_baseline", "--run-dir", str(run), *FAST]
    code, message, _ = run_train(capsys, *args, "--resume")
    assert code == 2 and "last.pt" in message
    assert run_train(capsys, *args)[0] == 0
    code, message, _ = run_train(capsys, *args)
    assert code == 2 and "--resume" in message


def test_fine_tune_refuses_removed_classes(
    dataset_maker: Maker, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = dataset_maker("a")
    parent = tmp_path / "parent"
    assert (
        run_train(capsys, "--data", str(data), "--model", "zhong_baseline", "--run-dir", str(parent), *FAST)[
            0
        ]
        == 0
    )
    smaller = dataset_maker("b", labels_of=lambda i: ["stain"])
    table = yaml.safe_load((smaller / "classes.yaml").read_text())
    table["classes"] = [c for c in table["classes"] if c["label"] != "pit"]
    (smaller / "classes.yaml").write_text(yaml.safe_dump(table))
    code, message, _ = run_train(
        capsys, "--data", str(smaller), "--init", str(parent), "--run-dir", str(tmp_path / "child"), *FAST
    )
    assert code == 2 and "pit" in message and "removing classes is not supported" in message


def test_init_missing(tiny_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, message, _ = run_train(
        capsys,
        "--data",
        str(tiny_dataset),
        "--init",
        str(tmp_path / "nothing"),
        "--run-dir",
        str(tmp_path / "r"),
        *FAST,
    )
    assert code == 2 and "nothing" in message


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["train", "--no-such-option"])
    assert info.value.code == 2
    assert main([]) == 2
    code, message, _ = run_train(capsys, "--model", "zhong")
    assert code == 2 and "--data" in message
