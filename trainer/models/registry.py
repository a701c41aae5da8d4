"""Name -> constructor registry for the segmentation networks.

A model is rebuilt from ``(name, num_classes, options)``: the checkpoint and ``config.yaml`` store
exactly those three things (docs/api-contract.md), and every model class exposes the constructor
arguments it was built with through :meth:`SegmentationModel.options`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn


class ImageStandardize(nn.Module):
    """Per-image input standardisation: ``(x - mean) / sqrt(var + eps)`` over C, H, W of each image.

    The magnetic tile set's grey tiles vary in brightness (per-tile mean 0.19-0.81 of full scale)
    and above all in contrast (per-tile std 0.04-0.22, against 0.18 over the whole set), so a
    dataset-wide mean/std leaves the low-contrast tiles' defects - and the faint ``uneven`` bands -
    a fraction of a unit apart from their background. Standardising each image inside the network
    makes the model card's mean/std irrelevant (any per-channel affine input map cancels for grey
    input) and travels with the ONNX graph, so the station needs nothing new. No parameters.
    """

    def __init__(self, eps: float = 1e-4) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Same shape as ``x``, each image with zero mean and unit variance."""
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        centred = x - mean
        var = (centred * centred).mean(dim=(1, 2, 3), keepdim=True)
        return centred * torch.rsqrt(var + self.eps)


def input_layer(image_norm: bool) -> nn.Module:
    """The first layer of a registered network: :class:`ImageStandardize` or the identity."""
    return ImageStandardize() if image_norm else nn.Identity()


class SegmentationModel(nn.Module):
    """Base class of the registered networks: remembers its constructor arguments.

    Subclasses call ``super().__init__()`` first and then :meth:`_remember` with their own
    arguments; ``options()`` returns everything except ``num_classes`` so that
    ``create_model(name, num_classes=model.num_classes, **model.options())`` rebuilds the same
    architecture (config keys equal constructor arguments).
    """

    def __init__(self) -> None:
        super().__init__()
        self._init_args: dict[str, Any] = {}
        self.num_classes: int = 0

    def _remember(self, **kwargs: Any) -> None:
        """Record the constructor arguments (called once by each subclass constructor)."""
        self._init_args = dict(kwargs)
        self.num_classes = int(kwargs["num_classes"])

    def options(self) -> dict[str, Any]:
        """Constructor arguments other than ``num_classes`` (JSON/YAML-serialisable)."""
        return {k: v for k, v in self._init_args.items() if k != "num_classes"}

    def config(self) -> dict[str, Any]:
        """All constructor arguments, ``num_classes`` included."""
        return dict(self._init_args)


@dataclass(frozen=True)
class ModelSpec:
    """One registry entry."""

    name: str
    factory: Callable[..., SegmentationModel]
    description: str
    #: input size (H, W) the network was published for; used for default cost reports
    paper_input_size: tuple[int, int]
    #: class count of the published network
    default_num_classes: int


_REGISTRY: dict[str, ModelSpec] = {}


def register_model(
    name: str, *, description: str, paper_input_size: tuple[int, int], default_num_classes: int
) -> Callable[[type[SegmentationModel]], type[SegmentationModel]]:
    """Class decorator adding a :class:`SegmentationModel` subclass to the registry."""

    def decorate(cls: type[SegmentationModel]) -> type[SegmentationModel]:
        if name in _REGISTRY:
            raise ValueError(f"model name {name!r} registered twice")
        _REGISTRY[name] = ModelSpec(name, cls, description, paper_input_size, default_num_classes)
        return cls

    return decorate


def list_models() -> list[str]:
    """Registered model names, sorted."""
    return sorted(_REGISTRY)


def model_spec(name: str) -> ModelSpec:
    """The registry entry of ``name``; ``KeyError`` naming the known models when unknown."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown model {name!r}; known models: {', '.join(list_models())}") from None


def model_arguments(name: str) -> dict[str, Any]:
    """Constructor arguments of ``name`` with their defaults (``inspect.Parameter.empty`` if none)."""
    signature = inspect.signature(model_spec(name).factory)
    return {p.name: p.default for p in signature.parameters.values() if p.name != "self"}


def create_model(name: str, num_classes: int | None = None, **options: Any) -> SegmentationModel:
    """Build model ``name`` with ``num_classes`` outputs (default: the paper's) and ``options``.

    Unknown option names raise ``TypeError`` naming the accepted ones, so a typo in a config file
    fails loudly instead of being ignored.
    """
    spec = model_spec(name)
    accepted = set(model_arguments(name)) - {"num_classes"}
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise TypeError(f"model {name!r} has no option(s) {unknown}; accepted: {sorted(accepted)}")
    classes = spec.default_num_classes if num_classes is None else int(num_classes)
    if classes < 1:
        raise ValueError(f"num_classes must be >= 1, got {classes}")
    return spec.factory(num_classes=classes, **options)
