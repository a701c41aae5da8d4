"""Segmentation losses: weighted cross-entropy, focal, soft Dice and their sums.

Every loss is a module called as ``loss(logits, target)`` with ``logits`` of shape (B, C, H, W)
(C = 1: one sigmoid logit, the binary "defect vs background" mode) and ``target`` the uint8/long
class mask (B, H, W); binary losses use ``target > 0``. Losses are computed in float32 even under
autocast (log-softmax of bf16 logits loses the small probabilities that rare classes live on).

Names (config ``loss``):

* ``ce`` - cross-entropy with optional class weights (binary: BCE, ``pos_weight = w1 / w0``),
* ``focal`` - focal loss, gamma ``focal_gamma``, class weights as alpha,
* ``dice`` - soft Dice averaged over classes (background included; binary: the defect class),
* ``ce_dice`` - Dice + ``bce_weight`` x CE (multi-class),
* ``dice_bce`` - Dice + ``bce_weight`` x BCE, the A-Net paper's loss with weight 0.5 (binary).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F
from torch import nn

EPS = 1.0


def _binary_target(target: torch.Tensor) -> torch.Tensor:
    return (target > 0).to(torch.float32).unsqueeze(1)


class CrossEntropy(nn.Module):
    """Weighted CE (multi-class) or BCE with ``pos_weight`` (one logit)."""

    def __init__(self, weight: torch.Tensor | None = None) -> None:
        super().__init__()
        self.weight: torch.Tensor | None
        self.register_buffer("weight", weight)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        logits = logits.float()
        if logits.shape[1] == 1:
            pos_weight = None
            if self.weight is not None and len(self.weight) >= 2 and self.weight[0] > 0:
                pos_weight = self.weight[1:2] / self.weight[0]
            return F.binary_cross_entropy_with_logits(logits, _binary_target(target), pos_weight=pos_weight)
        return F.cross_entropy(logits, target.long(), weight=self.weight)


class FocalLoss(nn.Module):
    """Focal loss ``-alpha_t (1 - p_t)^gamma log p_t``, averaged with the alpha weights."""

    def __init__(self, gamma: float = 2.0, weight: torch.Tensor | None = None) -> None:
        super().__init__()
        self.gamma = gamma
        self.weight: torch.Tensor | None
        self.register_buffer("weight", weight)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        logits = logits.float()
        if logits.shape[1] == 1:
            t = _binary_target(target)
            logp_t = -F.binary_cross_entropy_with_logits(logits, t, reduction="none")
            alpha = None
            if self.weight is not None and len(self.weight) >= 2:
                alpha = torch.where(t > 0, self.weight[1], self.weight[0])
        else:
            index = target.long().unsqueeze(1)
            logp_t = torch.log_softmax(logits, dim=1).gather(1, index)
            alpha = self.weight[index] if self.weight is not None else None
        modulation = (1.0 - logp_t.exp()).clamp_min(0.0).pow(self.gamma)
        loss = -modulation * logp_t
        if alpha is None:
            return loss.mean()
        return (alpha * loss).sum() / alpha.sum().clamp_min(1e-12)


class DiceLoss(nn.Module):
    """Soft Dice ``1 - mean_c (2 |P_c T_c| + 1) / (|P_c| + |T_c| + 1)`` over the whole batch, or
    (``per_image``) per image and then averaged over the images.

    Batch Dice weighs every defect pixel alike, so when a few images hold most of the defect area
    (the magnetic tile set: ``uneven`` bands cover ~25 % of their tiles, 72 % of all defect pixels,
    blowholes 0.2 %) the gradient is theirs and the network first learns to predict nothing at all.
    Per-image Dice gives every image the same say; on an image without defects it is
    ``1 / (|P| + 1)``, which pushes false positives down.
    """

    def __init__(self, per_image: bool = False) -> None:
        super().__init__()
        self.per_image = per_image

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        logits = logits.float()
        if logits.shape[1] == 1:
            probs = torch.sigmoid(logits)
            onehot = _binary_target(target)
        else:
            probs = torch.softmax(logits, dim=1)
            onehot = F.one_hot(target.long(), logits.shape[1]).permute(0, 3, 1, 2).to(probs.dtype)
        dims = (2, 3) if self.per_image else (0, 2, 3)
        intersection = (probs * onehot).sum(dims)
        total = probs.sum(dims) + onehot.sum(dims)
        dice = (2.0 * intersection + EPS) / (total + EPS)
        return 1.0 - dice.mean()


class SumLoss(nn.Module):
    """``first + weight * second``."""

    def __init__(self, first: nn.Module, second: nn.Module, weight: float) -> None:
        super().__init__()
        self.first = first
        self.second = second
        self.weight = weight

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.first(logits, target) + self.weight * self.second(logits, target)


def build_loss(
    name: str,
    *,
    class_weights: Sequence[float] | None = None,
    focal_gamma: float = 2.0,
    bce_weight: float = 0.5,
    dice_per_image: bool = False,
) -> nn.Module:
    """The loss module named ``name`` (see the module docstring)."""
    weight = torch.tensor(list(class_weights), dtype=torch.float32) if class_weights is not None else None
    if name == "ce":
        return CrossEntropy(weight)
    if name == "focal":
        return FocalLoss(focal_gamma, weight)
    if name == "dice":
        return DiceLoss(dice_per_image)
    if name in ("ce_dice", "dice_bce"):
        return SumLoss(DiceLoss(dice_per_image), CrossEntropy(weight), bce_weight)
    raise ValueError(f"unknown loss {name!r}")


def median_frequency_weights(
    class_pixels: npt.NDArray[np.int64], image_pixels: npt.NDArray[np.int64], damping: float = 0.5
) -> list[float]:
    """Median-frequency class weights (Eigen & Fergus), raised to ``damping`` (0.5 = square root).

    ``class_pixels``: (images, classes) pixel counts; ``image_pixels``: pixels per image.
    ``freq_c`` = pixels of class c / pixels of the images that contain c; ``w_c = (median(freq) /
    freq_c) ** damping``. The undamped weights of a 0.01 %-of-pixels class run into the hundreds and
    make training unstable; the square root keeps the ordering with a tamer range. Classes absent
    from every image get weight 1. No renormalisation: weighted CE is a weighted mean, so a common
    factor cancels.
    """
    counts = np.asarray(class_pixels, dtype=np.float64)
    totals = np.asarray(image_pixels, dtype=np.float64)
    present = counts > 0
    denominators = (present * totals[:, None]).sum(axis=0)
    freq = np.divide(counts.sum(axis=0), denominators, out=np.zeros(counts.shape[1]), where=denominators > 0)
    known = freq > 0
    weights = np.ones(counts.shape[1])
    if known.any():
        weights[known] = (np.median(freq[known]) / freq[known]) ** damping
    return [round(float(w), 6) for w in weights]
