"""Where and how the network runs: device choice, precision switches, input normalisation.

CPU speed switches (``cpu_bf16``, ``channels_last``; ``auto`` in the config = the defaults below)
come from ``benchmarks/train_throughput.py`` on the project's 2-core Xeon (AVX-512 with
avx512_bf16, no AMX visible), single thread, best of 3 interleaved rounds, relative to fp32 NCHW:

==============  ======================  =====  =====  =============
network         size                    bf16   cl     cl + bf16
==============  ======================  =====  =====  =============
zhong           480x640                 0.90   0.77   0.81
zhong_baseline  256x320                 0.84   0.97   0.75
anet            256x256                 1.33   1.49   1.58
unet            256x320                 0.89   1.63   1.13
==============  ======================  =====  =====  =============

So channels-last is on by default for ``anet`` and ``unet`` and off for the Zhong networks
(whose few-channel, full-resolution layers oneDNN runs slower in NHWC). bfloat16 autocast is off
everywhere: it never beats the best fp32 layout by more than ~5 %, and it would cost precision.
On CUDA both are on (bf16 autocast where supported, else fp16 with gradient scaling).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import Any

import torch

from trainer import distributed as dist
from trainer.config import ConfigError, TrainConfig

#: CPU default of ``cpu_bf16: auto`` (see the table above).
CPU_BF16_DEFAULT = False
#: Networks whose CPU training is faster in channels-last layout (``channels_last: auto``).
CPU_CHANNELS_LAST_MODELS = frozenset({"anet", "unet"})


def threads_for_load(cores: int, load: float | None, own_threads: int, processes: int = 1) -> int:
    """CPU threads per process that do not oversubscribe the cores, given the 1-minute load.

    ``load`` counts this run's own ``own_threads`` x ``processes`` busy threads too; the rest is
    other people's work. Two OpenMP threads on two cores of which one is busy elsewhere are far
    slower than one thread (measured for the Zhong net: 1.1 images/s with two spinning threads,
    8.9 with two sleeping ones, 14.4 with one, at a load of ~3 on 2 cores), so the free cores are
    rounded to the nearest whole core. ``load=None`` (no load average on this OS): all cores.
    """
    limit = max(1, cores // processes)
    if load is None:
        return limit
    others = max(0.0, load - own_threads * processes)
    free = cores - others
    return int(min(limit, max(1, int(free + 0.5) // processes)))


def load_average() -> float | None:
    """The 1-minute load average, or None where the OS has none (Windows)."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def select_device(spec: str) -> torch.device:
    """``auto``: cuda (this rank's GPU) > mps > cpu; otherwise the named device, checked."""
    if spec == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", dist.local_rank() % torch.cuda.device_count())
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(spec)
    except RuntimeError:
        raise ConfigError(f"device {spec!r} is not a device name (auto, cpu, cuda, cuda:N, mps)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {spec!r}: CUDA is not available on this machine")
    if device.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ConfigError(f"device {spec!r}: MPS is not available on this machine")
    return device


@dataclass(frozen=True)
class Precision:
    """How the forward pass runs: autocast dtype (None = fp32), channels-last, grad scaling."""

    autocast_dtype: torch.dtype | None
    channels_last: bool
    grad_scaler: bool

    def autocast(self, device: torch.device) -> contextlib.AbstractContextManager[Any]:
        """The autocast context of a forward pass (a null context in fp32)."""
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=device.type, dtype=self.autocast_dtype)

    def describe(self) -> str:
        """``bf16 autocast, channels-last`` for the log."""
        parts = [
            str(self.autocast_dtype).removeprefix("torch.") + " autocast" if self.autocast_dtype else "fp32"
        ]
        if self.channels_last:
            parts.append("channels-last")
        return ", ".join(parts)


def choose_precision(config: TrainConfig, device: torch.device) -> Precision:
    """Resolve ``amp``/``cpu_bf16``/``channels_last`` (None = auto) for ``device`` and the network."""
    if device.type == "cuda":
        amp = True if config.amp is None else config.amp
        bf16 = amp and torch.cuda.is_bf16_supported()
        dtype = (torch.bfloat16 if bf16 else torch.float16) if amp else None
        channels_last = True if config.channels_last is None else config.channels_last
        return Precision(dtype, channels_last, grad_scaler=amp and not bf16)
    if device.type == "cpu":
        bf16 = CPU_BF16_DEFAULT if config.cpu_bf16 is None else config.cpu_bf16
        auto_layout = config.model in CPU_CHANNELS_LAST_MODELS
        channels_last = auto_layout if config.channels_last is None else config.channels_last
        return Precision(torch.bfloat16 if bf16 else None, channels_last, grad_scaler=False)
    return Precision(None, bool(config.channels_last), grad_scaler=False)


class InputTransform:
    """uint8 ``(B, C, H, W)`` batch -> normalised float32 on the device (channels-last if asked)."""

    def __init__(
        self, mean: list[float], std: list[float], device: torch.device, channels_last: bool
    ) -> None:
        std_t = torch.tensor(std, dtype=torch.float32)
        self.scale = (1.0 / (255.0 * std_t)).view(1, -1, 1, 1).to(device)
        self.shift = (-torch.tensor(mean, dtype=torch.float32) / std_t).view(1, -1, 1, 1).to(device)
        self.device = device
        self.channels_last = channels_last

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        x = images.to(self.device, non_blocking=True).float()
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x.mul_(self.scale).add_(self.shift)
