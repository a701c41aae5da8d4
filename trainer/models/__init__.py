"""Segmentation networks and their registry.

``create_model(name, num_classes=..., **options)`` builds a network; ``list_models()`` lists the
names. Importing this package registers every model module.
"""

from trainer.models.registry import (
    ModelSpec,
    SegmentationModel,
    create_model,
    list_models,
    model_arguments,
    model_spec,
    register_model,
)

from . import anet, unet, zhong

__all__ = [
    "ModelSpec",
    "SegmentationModel",
    "anet",
    "create_model",
    "list_models",
    "model_arguments",
    "model_spec",
    "register_model",
    "unet",
    "zhong",
]
