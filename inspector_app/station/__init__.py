"""Behaviour of the main window, one concern per module (mixins of ``MainWindow``).

``navigation`` (file list, decoding hand-over), ``predictions`` (model, overlay), ``annotations``
(save, autosave, class table, accept prediction), ``review`` (verdicts, summary, CSV),
``dialogs``. The window (``inspector_app.main_window``) builds the widgets and wires the signals.
"""
