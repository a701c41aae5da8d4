"""Defect Inspector: desktop station for surface-defect inspection.

This package must stay import-light: importing ``inspector_app`` or ``inspector_app.core``
never loads Qt, torch or onnxruntime.
"""

__version__ = "0.1.0"
