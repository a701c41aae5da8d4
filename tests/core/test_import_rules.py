"""The dependency rules of README.md ("Layout"): core stays Qt/torch-free, trainer stays Qt-free."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _imported_modules(package_dir: Path) -> dict[Path, set[str]]:
    found: dict[Path, set[str]] = {}
    for path in package_dir.rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
        found[path] = names
    return found


def test_import_core_loads_no_qt_and_no_torch() -> None:
    code = (
        "import sys, importlib, pkgutil\n"
        "import inspector_app.core as c\n"
        "for m in pkgutil.iter_modules(c.__path__):\n"
        "    importlib.import_module('inspector_app.core.' + m.name)\n"
        "bad = [m for m in ('PySide6', 'torch', 'trainer', 'onnxruntime', 'pyqtgraph') if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == "", f"importing inspector_app.core loaded {out.stdout.strip()}"


def test_core_imports_no_other_app_module() -> None:
    for path, names in _imported_modules(REPO / "inspector_app" / "core").items():
        for name in names:
            if name.startswith("inspector_app"):
                assert name.startswith("inspector_app.core"), f"{path} imports {name}"


def test_trainer_imports_only_core_of_the_app() -> None:
    for path, names in _imported_modules(REPO / "trainer").items():
        for name in names:
            assert not name.startswith(("PySide6", "pyqtgraph")), f"{path} imports {name}"
            if name.startswith("inspector_app"):
                assert name.startswith("inspector_app.core"), f"{path} imports {name}"


def test_import_linter_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    if not lint.exists():
        pytest.skip("import-linter is not installed")
    out = subprocess.run([str(lint)], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stdout + out.stderr
