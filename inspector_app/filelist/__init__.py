"""File list: entries and scanning (Qt-free, :mod:`.entries`), models, scanner thread and view.

Import-light on purpose: :mod:`inspector_app.filelist.entries` is used by headless batch code.
"""
