"""No tracked file holds an absolute path of somebody's machine (home or workspace folders).

Model cards, checkpoints, docs and code must work (and read sensibly) on any machine, and must not
leak where they were made. Binary files (.onnx, .pt, images) are searched as bytes too: a card is
embedded in the ONNX metadata, and a checkpoint pickles its training config.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# Assembled from pieces so that this file does not match itself.
_SLASH, _BACKSLASH = b"/", b"\\"
FOLDERS = (b"work", b"home", b"root", b"Users")
PATTERN = re.compile(
    b"|".join(re.escape(_SLASH + name + _SLASH) for name in FOLDERS)
    + b"|" + re.escape(b"C:" + _BACKSLASH + b"Users")
    + b"|" + re.escape(b"C:" + _BACKSLASH * 2 + b"Users"),  # as written inside JSON strings
    re.IGNORECASE,
)  # fmt: skip


def _tracked_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=False)
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    return [REPO / name for name in listed.stdout.decode().split("\0") if name]


def test_the_pattern_catches_what_it_should() -> None:
    examples = [_SLASH + b"home" + _SLASH + b"ann/runs", b'"C:' + _BACKSLASH * 2 + b'Users\\\\bob"']
    assert all(PATTERN.search(example) for example in examples)
    assert not PATTERN.search(b"../shared/datasets/aluminum and runs/al_zhong")


def test_no_tracked_file_holds_a_machine_path() -> None:
    offenders = []
    for path in _tracked_files():
        if not path.is_file():  # deleted in the working tree, not yet committed
            continue
        match = PATTERN.search(path.read_bytes())
        if match:
            offenders.append(f"{path.relative_to(REPO)}: {match.group().decode(errors='replace')!r}")
    assert not offenders, "absolute machine paths in tracked files:\n" + "\n".join(offenders)
