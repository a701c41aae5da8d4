"""The bundled models and demo images: package data, found with :mod:`importlib.resources`.

The repository keeps them in its top-level ``resources/`` folder; the build installs that folder
as the package ``inspector_app_resources`` (pyproject.toml, ``[tool.setuptools]``), so a wheel,
``pip install .`` and an
editable install all find them the same way. Two overrides come first: ``$DEFECT_INSPECTOR_RESOURCES``
(a folder laid out like ``resources/``, e.g. an empty one in tests) and a PyInstaller bundle, which
carries the folder as ``resources`` beside the executable (installer/defect_inspector.spec).
"""

from __future__ import annotations

import importlib.resources
import os
import sys
from pathlib import Path

#: The installed name of the repository's ``resources/`` folder.
RESOURCES_PACKAGE = "inspector_app_resources"
#: File name of the bundled default model (delivered by the trainer).
DEFAULT_MODEL_NAME = "aluminum_zhong.onnx"


def resources_dir() -> Path:
    """The folder holding ``models/`` and ``demo/`` for this installation."""
    override = os.environ.get("DEFECT_INSPECTOR_RESOURCES")
    if override:
        return Path(override)
    frozen = getattr(sys, "_MEIPASS", None)  # PyInstaller bundle
    if frozen:
        return Path(frozen) / "resources"
    try:
        root = importlib.resources.files(RESOURCES_PACKAGE)
    except ModuleNotFoundError:
        # A source checkout used without installing it (PYTHONPATH=.): nothing maps the folder
        # to its package name, but it is right there beside this package.
        return Path(__file__).resolve().parent.parent / "resources"
    # Installed packages are plain folders (never zipped), so the traversable is a real path.
    return Path(str(root))


def default_model_path() -> Path:
    """The bundled model (may be absent)."""
    return resources_dir() / "models" / DEFAULT_MODEL_NAME


def demo_dir() -> Path:
    """The bundled demo images."""
    return resources_dir() / "demo"
