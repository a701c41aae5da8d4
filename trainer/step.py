"""One training step, shared by the engine and ``benchmarks/train_throughput.py``.

uint8 batch -> :class:`~trainer.runtime.InputTransform` -> forward under the run's
:class:`~trainer.runtime.Precision` -> loss -> backward (through the gradient scaler on CUDA fp16)
-> optional gradient clipping -> optimiser step. The learning-rate schedule, progress and
cancellation stay in :mod:`trainer.engine`; the benchmark times exactly this function.
"""

from __future__ import annotations

import torch
from torch import nn

from trainer.runtime import InputTransform, Precision


class NonFiniteLoss(FloatingPointError):
    """The loss of a step was NaN or infinite; the weights were not updated."""

    def __init__(self, value: float) -> None:
        super().__init__(f"the loss became {value}")
        self.value = value


def train_step(
    net: nn.Module,
    loss_fn: nn.Module,
    optimizer: torch.optim.Optimizer,
    transform: InputTransform,
    precision: Precision,
    images: torch.Tensor,
    masks: torch.Tensor,
    *,
    scaler: torch.amp.GradScaler | None = None,
    grad_clip: float | None = None,
) -> float:
    """Run one optimiser step on ``images`` (uint8 B x C x H x W) and ``masks``; returns the loss.

    Raises :class:`NonFiniteLoss` before touching the weights when the loss is not finite.
    """
    device = transform.device
    x = transform(images)
    target = masks.to(device, non_blocking=True)
    with precision.autocast(device):
        logits = net(x)
    loss = loss_fn(logits, target)
    if not torch.isfinite(loss):
        raise NonFiniteLoss(float(loss.detach()))
    optimizer.zero_grad(set_to_none=True)
    if scaler is not None:
        scaler.scale(loss).backward()
        if grad_clip:
            scaler.unscale_(optimizer)
            nn.utils.clip_grad_norm_(net.parameters(), grad_clip)
        scaler.step(optimizer)
        scaler.update()
    else:
        loss.backward()
        if grad_clip:
            nn.utils.clip_grad_norm_(net.parameters(), grad_clip)
        optimizer.step()
    return float(loss.detach())
