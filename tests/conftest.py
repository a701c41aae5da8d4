"""Shared test configuration: offscreen Qt, paths to the real datasets (skipped when absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Qt must never try to open a real display in tests; set before anything imports PySide6.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO_ROOT = Path(__file__).resolve().parents[1]
DATASETS = Path(os.environ.get("DEFECT_INSPECTOR_DATASETS", REPO_ROOT.parent / "shared" / "datasets"))


def _dataset(name: str) -> Path:
    path = DATASETS / name
    if not path.is_dir():
        pytest.skip(f"real dataset {path} is absent (it lives in ../shared/datasets)")
    return path


@pytest.fixture(scope="session")
def aluminum_dir() -> Path:
    """The Zhong paper's aluminium set (images/, labelme/, masks/, classes.yaml)."""
    return _dataset("aluminum")


@pytest.fixture(scope="session")
def magnetic_tile_dir() -> Path:
    """The A-Net magnetic tile set (images/, masks/, train/test/free lists)."""
    return _dataset("magnetic_tile")
