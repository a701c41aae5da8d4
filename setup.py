"""Only what pyproject.toml cannot say: the top-level ``resources/`` folder installs as a package.

The repository layout keeps bundled models and the demo in ``resources/``; an installation has
them as the package ``inspector_app_resources`` (found with importlib.resources by
``inspector_app.bundled``). The data folders are listed as packages of their own, as setuptools
wants for folders of package data; their files are chosen in pyproject.toml
(``[tool.setuptools.package-data]``), like everything else about the build.
"""

from setuptools import find_packages, setup

DATA_FOLDERS = ["trainer.configs", "inspector_app_resources.demo", "inspector_app_resources.models"]

setup(
    packages=[
        *find_packages(include=["inspector_app", "inspector_app.*", "trainer", "trainer.*"]),
        "inspector_app_resources",
        *DATA_FOLDERS,
    ],
    package_dir={"inspector_app_resources": "resources"},
)
