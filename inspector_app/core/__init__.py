"""Qt-free, torch-free domain layer shared by the desktop app and the trainer.

Modules: ``annotations`` (LabelMe documents), ``classes`` (class table), ``masks``
(shapes <-> class masks), ``modelcard`` and ``predictor`` (ONNX models), ``protocol``
(trainer event stream).
"""
