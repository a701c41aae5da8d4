"""The distribution lists every Python package of the repo (pyproject lists them by hand because
resources/ is mapped to ``inspector_app_resources``): a new subpackage left out would be missing
from wheels while the editable checkout still works."""

from __future__ import annotations

import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_every_package_is_in_the_distribution() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    listed = set(config["packages"])
    found = {
        ".".join(init.parent.relative_to(REPO).parts)
        for top in ("inspector_app", "trainer")
        for init in (REPO / top).rglob("__init__.py")
    }
    assert found, "no package found"
    missing = sorted(found - listed)
    assert not missing, f"add to [tool.setuptools] packages in pyproject.toml: {missing}"
    assert config["package-dir"]["inspector_app_resources"] == "resources"
    for data in ("trainer.configs", "inspector_app_resources.demo", "inspector_app_resources.models"):
        assert data in listed
