"""Atomic writes: permission bits (umask, kept modes), failures leaving the old file, no temp files."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from inspector_app.core import fileio
from inspector_app.core.classes import ClassTable
from inspector_app.core.fileio import (
    atomic_replace,
    atomic_write_bytes,
    atomic_write_text,
    default_file_mode,
)
from inspector_app.core.modelcard import embed_card, write_card_sidecar
from tests import onnx_factory as factory


def _has_proc_umask() -> bool:
    try:
        return "Umask:" in Path("/proc/self/status").read_text()
    except OSError:
        return False


needs_proc_umask = pytest.mark.skipif(
    not _has_proc_umask(), reason="the umask is read from /proc/self/status (Linux only)"
)


@pytest.fixture(params=[0o022, 0o027, 0o002])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    """Run the test under a given umask, restoring the previous one afterwards."""
    previous = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp") or p.name.startswith("."))


# ------------------------------------------------------------------------------- permission bits


@needs_proc_umask
def test_default_mode_follows_the_umask(umask: int) -> None:
    assert default_file_mode() == 0o666 & ~umask


@needs_proc_umask
def test_new_files_get_the_umask_mode_not_0600(tmp_path: Path, umask: int) -> None:
    atomic_write_bytes(tmp_path / "a.bin", b"\x00\x01")
    atomic_write_text(tmp_path / "b.txt", "x\n")
    for name in ("a.bin", "b.txt"):
        assert _mode(tmp_path / name) == 0o666 & ~umask, name  # mkstemp alone would give 0o600
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o664, 0o755])
def test_existing_mode_is_kept(tmp_path: Path, mode: int) -> None:
    target = tmp_path / "keep.txt"
    target.write_text("old\n")
    target.chmod(mode)
    atomic_write_text(target, "new\n")
    assert target.read_text() == "new\n"
    assert _mode(target) == mode


def test_text_is_written_exactly_with_the_encoding(tmp_path: Path) -> None:
    target = tmp_path / "t.yaml"
    atomic_write_text(target, "a: ä\nb: 中\n")
    assert target.read_bytes() == "a: ä\nb: 中\n".encode()  # no \r\n translation, UTF-8
    atomic_write_text(target, "é\n", encoding="latin-1")
    assert target.read_bytes() == b"\xe9\n"


def test_unencodable_text_touches_nothing(tmp_path: Path) -> None:
    target = tmp_path / "t.txt"
    target.write_text("old\n")
    with pytest.raises(UnicodeEncodeError):
        atomic_write_text(target, "中", encoding="ascii")
    assert target.read_text() == "old\n"
    assert _leftovers(tmp_path) == []


# ------------------------------------------------------------------------------------- failures


@pytest.mark.parametrize("failing", ["replace", "fsync"])
def test_failure_keeps_the_old_file_and_leaves_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    target = tmp_path / "data.bin"
    target.write_bytes(b"old contents")

    def boom(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fileio.os, failing, boom)
    with pytest.raises(OSError, match="No space left"):
        atomic_write_bytes(target, b"new contents")
    monkeypatch.undo()
    assert target.read_bytes() == b"old contents"
    assert [p.name for p in tmp_path.iterdir()] == ["data.bin"]


def test_failure_while_writing_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "data.bin"
    target.write_bytes(b"old")
    with pytest.raises(TypeError):
        atomic_write_bytes(target, "not bytes")  # type: ignore[arg-type]
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["data.bin"]


def test_missing_folder_raises_oserror_and_creates_nothing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        atomic_write_bytes(tmp_path / "nope" / "a.bin", b"x")
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------- atomic_replace


@needs_proc_umask
def test_replace_moves_a_library_written_file_with_the_umask_mode(tmp_path: Path, umask: int) -> None:
    src = tmp_path / ".model.tmp.onnx"
    src.write_bytes(b"graph")
    src.chmod(0o600)  # what mkstemp creates
    atomic_replace(src, tmp_path / "model.onnx")
    assert not src.exists()
    assert (tmp_path / "model.onnx").read_bytes() == b"graph"
    assert _mode(tmp_path / "model.onnx") == 0o666 & ~umask


def test_replace_keeps_the_mode_of_the_file_it_replaces(tmp_path: Path) -> None:
    dst = tmp_path / "model.onnx"
    dst.write_bytes(b"old")
    dst.chmod(0o640)
    src = tmp_path / ".model.tmp.onnx"
    src.write_bytes(b"new")
    src.chmod(0o600)
    atomic_replace(src, dst)
    assert (dst.read_bytes(), _mode(dst)) == (b"new", 0o640)


def test_failed_replace_leaves_the_target_and_the_source_to_the_caller(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dst = tmp_path / "model.onnx"
    dst.write_bytes(b"old")
    src = tmp_path / ".model.tmp.onnx"
    src.write_bytes(b"new")

    def boom(*args: object) -> None:
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(fileio.os, "replace", boom)
    with pytest.raises(OSError, match="cross-device"):
        atomic_replace(src, dst)
    monkeypatch.undo()
    assert dst.read_bytes() == b"old"
    assert src.read_bytes() == b"new"  # documented: the caller deletes it (try/finally)


# ------------------------------------------------------------------------ the modules using it


@needs_proc_umask
def test_model_card_sidecar_and_class_table_are_not_0600(tmp_path: Path, umask: int) -> None:
    card = factory.make_card(factory.BINARY_TABLE, 1, model_id="m")
    sidecar = write_card_sidecar(card, tmp_path / "model.onnx")
    assert _mode(sidecar) == 0o666 & ~umask  # was 0o600 with the old private mkstemp writer
    ClassTable.from_labels(["a"]).save(tmp_path / "classes.yaml")
    assert _mode(tmp_path / "classes.yaml") == 0o666 & ~umask
    assert _leftovers(tmp_path) == []


def test_embed_card_keeps_the_model_file_mode(tmp_path: Path) -> None:
    path = factory.save_model(factory.segmentation_model([[0], [1]], [0.5, 0]), tmp_path / "m.onnx")
    path.chmod(0o640)
    embed_card(path, factory.make_card(factory.BINARY_TABLE, 1, model_id="m"))
    assert _mode(path) == 0o640
    assert _leftovers(tmp_path) == []


def test_not_durable_write_skips_fsync_but_stays_atomic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out.png"
    target.write_bytes(b"old")
    calls: list[int] = []
    monkeypatch.setattr(os, "fsync", lambda fd: calls.append(fd))
    atomic_write_bytes(target, b"new", durable=False)
    assert target.read_bytes() == b"new"
    assert calls == []
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]  # no temp file left
    atomic_write_bytes(target, b"newer")
    assert calls, "the durable default must fsync"
