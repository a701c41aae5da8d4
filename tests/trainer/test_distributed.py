"""Data-parallel training under a real ``torchrun`` (2 CPU processes, gloo).

The run goes through ``trainer.cli`` unchanged; a small launcher (written below, run by torchrun
instead of ``-m trainer.cli``) only *observes*: it wraps the public ``Trainer.setup``/``Trainer.run``
to record, on every rank, the digest of the bare network at the start and at the end of training,
what :func:`tests.trainer.replicas.gather_digests` (an all-gather over gloo) says, and the state
after :func:`trainer.distributed.broadcast_buffers`. The digests go to a folder outside the run
folder, so "only rank 0 writes into the run" stays checkable. One torchrun (~10 s) serves all tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from inspector_app.core.protocol import Checkpoint, Progress, read_events
from tests.trainer.conftest import make_dataset
from tests.trainer.replicas import gather_digests, state_digest
from trainer.distributed import broadcast_buffers

LAUNCHER = textwrap.dedent(
    """
    import json, os, sys
    from pathlib import Path

    from trainer import engine
    from trainer.cli import main
    from tests.trainer.replicas import gather_digests, state_digest
    from trainer.distributed import broadcast_buffers

    out = Path(os.environ["DIGEST_DIR"]) / f"rank{os.environ['RANK']}.json"
    record = {}
    setup, run = engine.Trainer.setup, engine.Trainer.run

    def observed_setup(self, *args, **kwargs):
        session = setup(self, *args, **kwargs)
        record["initial"] = state_digest(session.model)
        record["session"] = session
        return session

    def observed_run(self, *args, **kwargs):
        code = run(self, *args, **kwargs)
        model = record.pop("session").model
        state = model.state_dict()
        record["final"] = state_digest(state)
        names = dict(model.named_parameters())
        names = dict(model.named_parameters())
        record["final_parameters"] = state_digest({k: v for k, v in state.items() if k in names})
        record["in_sync"] = len(set(gather_digests(model))) == 1  # collectives: the group is still up here
        broadcast_buffers(model)
        record["in_sync_after_broadcast"] = len(set(gather_digests(model))) == 1
        record["after_broadcast"] = state_digest(model)
        return code

    engine.Trainer.setup, engine.Trainer.run = observed_setup, observed_run
    code = main(sys.argv[1:])
    record["exit_code"] = code
    out.write_text(json.dumps(record))
    sys.exit(code)
    """
)
EPOCHS = 2


@dataclass(frozen=True)
class DdpRun:
    run: Path
    logs: Path
    ranks: list[dict[str, Any]]


def _rank_logs(logs: Path) -> str:
    """What each rank printed (torchrun redirects it into ``--log-dir``), for a failure message."""
    parts = [f"\n--- {log.relative_to(logs)} ---\n{log.read_text(errors='replace')[-3000:]}"
             for log in sorted(logs.rglob("*.log"))]  # fmt: skip
    return "".join(parts)


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory: pytest.TempPathFactory) -> DdpRun:
    """``defect-train train`` under ``torchrun --standalone --nproc_per_node 2`` (gloo, CPU)."""
    tmp = tmp_path_factory.mktemp("ddp")
    data = make_dataset(tmp / "data", n=10, size=(64, 64), split=(8, 2))
    (data / "test.txt").rename(data / "val.txt")  # 8 train + 2 validation images, no test split
    run, digests, logs = tmp / "run", tmp / "digests", tmp / "logs"
    digests.mkdir()
    launcher = tmp / "launch_train.py"
    launcher.write_text(LAUNCHER)
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        "--log-dir", str(logs), "--redirects", "3", str(launcher),
        "train", "--data", str(data), "--run-dir", str(run), "--model", "zhong",
        "--epochs", str(EPOCHS), "--batch-size", "2", "--device", "cpu", "--threads", "1",
        "--no-export", "--no-progress", "--log-every", "1",
    ]  # fmt: skip
    # the launcher imports the digest helper from tests/ (not an installed package)
    root = str(Path(__file__).resolve().parents[2])
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "DIGEST_DIR": str(digests), "OMP_NUM_THREADS": "1", "PYTHONPATH": path}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:] + _rank_logs(logs)
    ranks = [json.loads((digests / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["exit_code"] for r in ranks] == [0, 0]
    return DdpRun(run, logs, ranks)


def test_state_digest() -> None:
    torch.manual_seed(0)
    a = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
    b = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
    b.load_state_dict(a.state_dict())
    assert state_digest(a) == state_digest(b) == state_digest(a.state_dict())
    b[1].running_mean += 1e-7  # buffers count, to the last bit
    assert state_digest(a) != state_digest(b)
    # a single process: the gathered list is this process's digest only, broadcasting is a no-op
    assert gather_digests(a) == [state_digest(a)]
    broadcast_buffers(b)
    assert state_digest(a) != state_digest(b)


def test_ranks_train_the_same_parameters(ddp_run: DdpRun) -> None:
    first, second = ddp_run.ranks
    # training moved the weights, and both ranks started from the same ones
    assert first["initial"] == second["initial"] != first["final"]
    # the parameters end bit-identical (equality is not trivial: the ranks saw different shards of
    # the data, so unsynchronised gradients would diverge)
    assert first["final_parameters"] == second["final_parameters"]


def test_checkpoint_holds_rank0_weights(ddp_run: DdpRun) -> None:
    last = torch.load(ddp_run.run / "last.pt", map_location="cpu", weights_only=True)
    assert state_digest(last["state_dict"]) == ddp_run.ranks[0]["final"]


def test_broadcast_buffers_over_gloo(ddp_run: DdpRun) -> None:
    """The collectives run over gloo and leave every rank with rank 0's state (the engine itself
    calls broadcast_buffers each epoch, so here they change nothing)."""
    first, second = ddp_run.ranks
    assert first["in_sync_after_broadcast"] is True and second["in_sync_after_broadcast"] is True
    assert first["after_broadcast"] == second["after_broadcast"] == first["final"]


def test_replicas_fully_in_sync_after_training(ddp_run: DdpRun) -> None:
    """Buffers too: DDP alone leaves each rank with the BatchNorm statistics of its own last batch;
    the engine broadcasts rank 0's before validating and saving (trainer.distributed.broadcast_buffers)."""
    first, second = ddp_run.ranks
    assert first["final"] == second["final"]
    assert first["in_sync"] is True and second["in_sync"] is True


def test_only_rank0_writes_files_and_events(ddp_run: DdpRun) -> None:
    run, logs = ddp_run.run, ddp_run.logs
    # one set of files, nothing per rank
    assert sorted(p.name for p in run.iterdir()) == sorted(
        ["best.pt", "config.yaml", "events.jsonl", "last.pt", "split.json", "train.log"]
    )
    assert "[rank 1]" not in (run / "train.log").read_text()
    # rank 1 printed no event, rank 0 printed exactly what events.jsonl holds
    stdout = {r: next(logs.rglob(f"attempt_0/{r}/stdout.log")).read_text() for r in (0, 1)}
    assert stdout[1] == ""
    assert stdout[0].splitlines() == (run / "events.jsonl").read_text().splitlines()
    # the events of one process: one start, one finish, one metrics + one last checkpoint per
    # epoch, and one progress event per step with no (epoch, step) twice
    events = read_events(run / "events.jsonl")
    kinds = [e.type for e in events]
    assert kinds.count("started") == 1 and kinds[0] == "started"
    assert kinds.count("finished") == 1 and kinds[-1] == "finished"
    assert kinds.count("metrics") == EPOCHS
    assert sum(1 for e in events if isinstance(e, Checkpoint) and e.kind == "last") == EPOCHS
    progress = [(e.epoch, e.step, e.steps) for e in events if isinstance(e, Progress)]
    steps = progress[0][2]
    assert steps == 2  # 8 images, batch 2 per process, 2 processes
    assert sorted((epoch, step) for epoch, step, _ in progress) == [
        (epoch, step) for epoch in range(1, EPOCHS + 1) for step in range(1, steps + 1)
    ]
