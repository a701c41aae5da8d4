"""Checks that data-parallel replicas really hold the same weights (torchrun / DDP).

The process-group plumbing lives in :mod:`trainer.dist` (rank/world/is_main, ``init`` with nccl on
CUDA and gloo on CPU, barrier, ``all_reduce_sum`` used by ``ConfusionMatrix.all_reduce``,
shutdown); this module adds only what that one does not have: a digest of a model's weights, a
collective comparison of the digests of all ranks, and :func:`broadcast_buffers`.

DDP keeps the *parameters* identical by all-reducing gradients, but buffers (BatchNorm running
statistics) only by broadcasting them from rank 0 at the start of each training forward: after
the last step each rank holds the statistics of its own last batch. Nothing crashes when replicas
drift apart; rank 0's checkpoint then stands for only one of them, and sharded validation scores
each shard with a different model. The digests make such drift visible (tests/trainer/test_distributed.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import torch
import torch.distributed as tdist
from torch import nn

from trainer import dist


def state_digest(state: nn.Module | Mapping[str, torch.Tensor]) -> str:
    """SHA-256 of a model's ``state_dict`` (names, dtypes, shapes and exact bytes, sorted by name).

    Parameters and buffers (BatchNorm statistics) count. A DDP wrapper gives the digest of the
    wrapped network, so a replica and the bare model a checkpoint stores compare equal.
    """
    if isinstance(state, nn.parallel.DistributedDataParallel):
        state = state.module
    tensors = state.state_dict() if isinstance(state, nn.Module) else state
    digest = hashlib.sha256()
    for name in sorted(tensors):
        tensor = tensors[name].detach().to("cpu").contiguous()
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        # bytes through uint8 so that every dtype (bfloat16 too) hashes its exact bit pattern
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def broadcast_buffers(model: nn.Module, src: int = 0) -> None:
    """Copy rank ``src``'s buffers (BatchNorm running statistics) to every rank (collective).

    DDP broadcasts buffers only at the start of each training forward, so after the last step of
    an epoch every rank keeps the statistics of its own last batch: call this before validating
    (validation is sharded, so each rank would score its shard with different statistics) and
    before saving, so that the metrics, the checkpoint and every replica describe one model.
    No-op in a single process.
    """
    if not dist.is_distributed():
        return
    with torch.no_grad():
        for buffer in model.buffers():
            tdist.broadcast(buffer, src)


def gather_digests(model: nn.Module) -> list[str]:
    """The :func:`state_digest` of ``model`` on every rank, in rank order (collective call).

    In a single process (no process group) this is just ``[state_digest(model)]``.
    """
    mine = state_digest(model)
    if not dist.is_distributed():
        return [mine]
    digests: list[object] = [None] * dist.world_size()
    tdist.all_gather_object(digests, mine)
    return [str(d) for d in digests]


def replicas_in_sync(model: nn.Module) -> bool:
    """True when every rank holds bit-identical weights and buffers (collective call)."""
    return len(set(gather_digests(model))) == 1


def assert_replicas_in_sync(model: nn.Module, where: str = "") -> None:
    """Raise ``RuntimeError`` naming the ranks whose weights differ from rank 0's (collective)."""
    digests = gather_digests(model)
    differing = [rank for rank, d in enumerate(digests) if d != digests[0]]
    if differing:
        suffix = f" {where}" if where else ""
        raise RuntimeError(
            f"data-parallel replicas out of sync{suffix}: ranks {differing} differ from rank 0"
        )
