"""Weight digests of data-parallel replicas: the instrument of tests/trainer/test_distributed.py."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import torch
import torch.distributed as tdist
from torch import nn


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


def gather_digests(model: nn.Module) -> list[str]:
    """The :func:`state_digest` of ``model`` on every rank, in rank order (collective call).

    In a single process (no process group) this is just ``[state_digest(model)]``.
    """
    mine = state_digest(model)
    if not (tdist.is_available() and tdist.is_initialized()):
        return [mine]
    digests: list[object] = [None] * tdist.get_world_size()
    tdist.all_gather_object(digests, mine)
    return [str(d) for d in digests]
