"""Data-parallel training under ``torchrun``: ranks, the process group, replica checks.

``torchrun --nproc_per_node N -m trainer.cli train ...`` sets ``RANK``, ``LOCAL_RANK`` and
``WORLD_SIZE``; without them everything here degrades to a single process (rank 0 of 1) and never
touches ``torch.distributed``. Only rank 0 writes files and events (see :mod:`trainer.engine`).

Process-group plumbing: rank/world, :func:`init` (nccl on CUDA, gloo on CPU),
:func:`barrier`, :func:`all_reduce_sum` (used by ``ConfusionMatrix.all_reduce``), :func:`shutdown`.

Replica checks: DDP keeps the *parameters* identical by all-reducing gradients, but buffers
(BatchNorm running statistics) only by broadcasting them from rank 0 at the start of each training
forward: after the last step each rank holds the statistics of its own last batch. Nothing crashes
when replicas drift apart; rank 0's checkpoint then stands for only one of them, and sharded
validation scores each shard with a different model. :func:`broadcast_buffers` realigns them;
tests/trainer/test_distributed.py compares weight digests of the replicas to show it.
"""

from __future__ import annotations

import os
from datetime import timedelta

import torch
import torch.distributed as tdist
from torch import nn


def world_size() -> int:
    """Number of training processes (1 when not launched by torchrun)."""
    if tdist.is_available() and tdist.is_initialized():
        return tdist.get_world_size()
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    """Global rank of this process (0 when not launched by torchrun)."""
    if tdist.is_available() and tdist.is_initialized():
        return tdist.get_rank()
    return int(os.environ.get("RANK", "0"))


def local_rank() -> int:
    """Rank on this machine (selects the GPU)."""
    return int(os.environ.get("LOCAL_RANK", "0"))


def is_distributed() -> bool:
    """True when a process group is up with more than one process."""
    return tdist.is_available() and tdist.is_initialized() and tdist.get_world_size() > 1


def init(device: torch.device) -> bool:
    """Start the process group when ``WORLD_SIZE > 1`` (nccl on CUDA, gloo otherwise).

    Returns True when a group was started. Safe to call when already initialised.
    """
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or not tdist.is_available():
        return False
    if tdist.is_initialized():
        return True
    backend = "nccl" if device.type == "cuda" else "gloo"
    tdist.init_process_group(backend=backend, timeout=timedelta(minutes=30))
    return True


def shutdown(*, together: bool = True) -> None:
    """Destroy the process group if one is up.

    With ``together`` (every rank got here normally) the ranks first meet at a barrier: a rank
    that closes its gloo sockets while a peer is still reading the last collective's messages
    resets the connection, and the peer's gloo thread then aborts the process (SIGABRT) although
    training succeeded. After a crash on one rank the others may never arrive, so no barrier.
    """
    if tdist.is_available() and tdist.is_initialized():
        if together and tdist.get_world_size() > 1:
            tdist.barrier()
        tdist.destroy_process_group()


def all_reduce_sum(tensor: torch.Tensor) -> torch.Tensor:
    """Sum ``tensor`` over all processes in place (no-op in a single process); returns it."""
    if is_distributed():
        tdist.all_reduce(tensor, op=tdist.ReduceOp.SUM)
    return tensor


def any_true(flag: bool, device: torch.device) -> bool:
    """True if ``flag`` is true on any process (used to stop all ranks together)."""
    if not is_distributed():
        return flag
    value = torch.tensor([1.0 if flag else 0.0], device=device)
    tdist.all_reduce(value, op=tdist.ReduceOp.MAX)
    return bool(value.item() > 0)


def barrier() -> None:
    """Wait for every process (no-op in a single process)."""
    if is_distributed():
        tdist.barrier()


# --- replicas ------------------------------------------------------------------------------

def broadcast_buffers(model: nn.Module, src: int = 0) -> None:
    """Copy rank ``src``'s buffers (BatchNorm running statistics) to every rank (collective).

    DDP broadcasts buffers only at the start of each training forward, so after the last step of
    an epoch every rank keeps the statistics of its own last batch: call this before validating
    (validation is sharded, so each rank would score its shard with different statistics) and
    before saving, so that the metrics, the checkpoint and every replica describe one model.
    No-op in a single process.
    """
    if not is_distributed():
        return
    with torch.no_grad():
        for buffer in model.buffers():
            tdist.broadcast(buffer, src)
