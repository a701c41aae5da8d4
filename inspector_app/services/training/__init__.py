"""Training jobs for the station, Qt-free and torch-free (issue 9; docs/training-jobs.md).

The station knows the trainer only as a command line (``python -m trainer.cli train``), the run
folder ``.inspector/runs/<id>/`` and the JSON-lines event stream read through
:mod:`inspector_app.core.protocol`. Modules:

* :mod:`.dataset` - which project images can be trained on; new classes; unreadable files;
* :mod:`.split` - the stable, stratified, editable train/validation split with per-class counts;
* :mod:`.presets` - "quick fine-tune" / "full training" as visible trainer options;
* :mod:`.job` - the run folder, its data snapshot and the command line;
* :mod:`.preflight` - checks with messages, trainer availability, the device probe and estimate;
* :mod:`.runs` - run history and live event reading;
* :mod:`.registry` - promoted models, promote / rollback, lineage;
* :mod:`.uncertainty` - the "annotate next" ordering.
"""
