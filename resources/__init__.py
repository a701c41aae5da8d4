"""Bundled models (with their cards) and the demo image set.

This folder stays at the top of the repository; the build installs it as the package
``inspector_app_resources`` (pyproject.toml, [tool.setuptools]), so the installed application finds it with
``importlib.resources`` (see :mod:`inspector_app.bundled`).
"""
