"""Optimisers and the learning-rate schedule (a pure function of the optimiser step).

The schedule is applied by setting each parameter group's ``lr`` before every step from
:func:`lr_factor`; its only state is the step count, which the checkpoint stores, so a resumed run
continues the exact curve whatever ``--epochs`` it is given.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch
from torch import nn

from trainer.config import TrainConfig


def build_optimizer(config: TrainConfig, params: Iterator[nn.Parameter]) -> torch.optim.Optimizer:
    """Adam / AdamW / SGD (momentum, Nesterov off) with the config's lr and weight decay."""
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)


def lr_factor(config: TrainConfig, step: int, steps_per_epoch: int, total_steps: int) -> float:
    """Learning-rate multiplier at optimiser step ``step`` (0-based); a pure function of the step.

    Warm-up: linear from 1/100 over ``warmup_epochs``. Then ``multistep`` (x ``lr_gamma`` at each
    milestone), ``cosine`` (to ``min_lr``) or ``onecycle`` (cosine up from lr/25 for 30 % of the
    run, cosine down to lr/25e4; it brings its own warm-up).
    """
    if config.scheduler == "onecycle":
        peak = max(1, int(0.3 * total_steps))
        if step < peak:
            start = 1.0 / 25.0
            return start + (1.0 - start) * 0.5 * (1.0 - math.cos(math.pi * step / peak))
        end = 1.0 / 25e4
        progress = min(1.0, (step - peak) / max(1, total_steps - peak))
        return end + (1.0 - end) * 0.5 * (1.0 + math.cos(math.pi * progress))
    warmup = int(config.warmup_epochs * steps_per_epoch)
    if step < warmup:
        return 0.01 + 0.99 * step / warmup
    if config.scheduler == "multistep":
        marks = [m * total_steps if m < 1 else m * steps_per_epoch for m in config.milestones]
        return float(config.lr_gamma ** sum(1 for m in marks if step >= m))
    if config.scheduler == "cosine":
        floor = config.min_lr / config.lr
        progress = min(1.0, (step - warmup) / max(1, total_steps - warmup))
        return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))
    return 1.0
