"""A wheel built from the repository works on its own: bundled models, demo and configs included.

Builds the wheel from a copy of the tracked files (so the checkout gets no build/ or egg-info),
installs it with ``--no-deps`` into a fresh target folder (the dependencies already installed
are reused), and runs the console scripts from a folder outside the checkout with only the
installed copy on ``PYTHONPATH``: ``defect-inspector --screenshot`` on the bundled demo with the
bundled model, and ``defect-train models``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.gui]


def _tracked_copy(target: Path) -> None:
    """Copy the files git tracks (plus untracked, not ignored ones) to ``target``."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO, capture_output=True, check=False,
    )  # fmt: skip
    if listed.returncode != 0:
        pytest.skip("not a git checkout: cannot tell the repository's files from build output")
    for name in filter(None, listed.stdout.decode().split("\0")):
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{command}\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    return done


def test_wheel_runs_station_and_trainer_outside_the_checkout(tmp_path: Path) -> None:
    source, dist, site, work = (tmp_path / n for n in ("src", "dist", "site", "work"))
    for folder in (source, dist, site, work):
        folder.mkdir()
    _tracked_copy(source)
    build_env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    build = [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(dist), str(source)]
    _run(build, tmp_path, build_env)
    (wheel,) = dist.glob("defect_inspector-*.whl")
    install = [*pip, "install", "--no-deps", "--no-compile", "--target", str(site), str(wheel)]
    _run(install, tmp_path, build_env)

    env = {
        **build_env,
        "PYTHONPATH": str(site),  # the installed copy only; dependencies from the environment
        "QT_QPA_PLATFORM": "offscreen",
        "HOME": str(tmp_path / "home"),
        "XDG_DATA_HOME": str(tmp_path / "home" / "data"),
    }
    env.pop("DEFECT_INSPECTOR_RESOURCES", None)
    where = _run(
        [
            sys.executable, "-c",
            "import inspector_app, trainer\n"
            "from inspector_app.bundled import default_model_path, demo_dir\n"
            "from trainer.config import find_config_file\n"
            "for p in (inspector_app.__file__, trainer.__file__, default_model_path(), demo_dir(),"
            " find_config_file('aluminum_zhong')): print(p)",
        ],
        work, env,
    ).stdout.split()  # fmt: skip
    assert len(where) == 5 and all(Path(p).is_relative_to(site) for p in where), where
    model, demo, config = (Path(p) for p in where[2:])
    assert model.is_file() and (demo / "classes.yaml").is_file() and config.is_file()

    shot = work / "station.png"
    _run([str(site / "bin" / "defect-inspector"), "--screenshot", str(shot), "--size", "960x640"], work, env)
    image = cv2.imread(str(shot))
    assert image is not None and image.shape == (640, 960, 3)
    assert float(np.std(image)) > 10  # a real rendering, not a blank window

    models = _run([str(site / "bin" / "defect-train"), "models"], work, env).stdout
    assert "zhong" in models and "anet" in models and "GMAC" in models
