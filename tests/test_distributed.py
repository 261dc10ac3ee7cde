"""Sharded fitting: two gloo processes on the CPU do what one process does."""

import datetime
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from conftest import synthetic_image
from PIL import Image

from nint import fit
from nint.distributed import Shard, join_if_launched, split_range
from nint.errors import NintError
from nint.models import Siren
from nint.ntk import kernel_residual_product
from nint.samplers import SAMPLERS
from nint.signals.image import ImageSignal

STRATEGIES = ("standard", "uniform", "int", "nint")
FIT = dict(iterations=6, eval_every=3, width=32, depth=3, seed=3, device="cpu")
TIMED = dict(width=32, depth=3, seed=3, device="cpu", distributed=True)
OPTIONS = {"nint": {"alpha": 2}, "int": {}, "uniform": {}, "standard": {}}


def recording(name: str, n: int):
    """A sampler of strategy ``name`` that keeps a copy of every selection."""
    cls = SAMPLERS[name]

    class Recording(cls):
        def select(self, step, ctx):
            idx = super().select(step, ctx)
            self.record.append(idx.clone())
            return idx

    sampler = Recording(n, seed=FIT["seed"], **OPTIONS[name])
    sampler.record = []
    return sampler


def ntk_case():
    torch.manual_seed(0)
    model = Siren(2, 3, width=32, depth=3)
    g = torch.Generator().manual_seed(1)
    coords = torch.rand(203, 2, generator=g) * 2 - 1
    residual = torch.randn(203, 3, generator=g)
    return model, coords, residual


def run_everything(shard: Shard | None) -> dict:
    """What both the sharded and the one-process runs compute, returned for comparison."""
    model, coords, residual = ntk_case()
    lo, hi = (0, len(coords)) if shard is None else (shard.lo, shard.hi)
    reduce = None if shard is None else shard.all_reduce_sum
    out = {"ntk": kernel_residual_product(model, coords[lo:hi], residual[lo:hi], 37, reduce)}
    scores = torch.linalg.vector_norm(residual, dim=1)
    exclude = torch.zeros(len(coords), dtype=torch.bool)
    exclude[::3] = True
    if shard is None:
        from nint import select

        out["top"] = select.top_k(scores, 50, exclude=exclude)
    else:
        out["top"] = shard.top_k(scores[lo:hi], 50, exclude=exclude)
    signal = ImageSignal(synthetic_image(24, 20), name="synthetic")
    for name in STRATEGIES:
        sampler = recording(name, signal.n_points)
        result = fit(signal, sampler, distributed=shard is not None, **FIT)
        out[name] = {
            "record": sampler.record,
            "weights": {k: v.detach().clone() for k, v in result.model.state_dict().items()},
            "history": result.history,
        }
    return out


class TickingClock:
    """A clock that moves on by ``tick`` seconds at each reading and never otherwise."""

    def __init__(self, tick: float) -> None:
        self.tick, self.now = tick, 0.0

    def __call__(self) -> float:
        self.now += self.tick
        return self.now


def _worker(rank: int, world: int, store: str, folder: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group(
        "gloo",
        init_method=f"file://{store}",
        rank=rank,
        world_size=world,
        timeout=datetime.timedelta(seconds=300),  # a collective left waiting fails, not hangs
    )
    try:
        shard = Shard.join(203, torch.device("cpu"))
        out = run_everything(shard)
        # a time budget: every rank follows rank 0's clock, so they stop together. Each rank's
        # clock ticks at each reading, rank 1's faster than rank 0's (a rank that followed its
        # own clock would stop early and leave the other waiting, until the group's timeout),
        # so the budget is spent after the same iterations however busy the machine: real
        # seconds made one INT step outlast the budget on a saturated CPU
        import nint.timing

        nint.timing.clock = TickingClock(0.01 if rank == 0 else 0.013)
        signal = ImageSignal(synthetic_image(24, 20), name="synthetic")
        sampler = recording("int", signal.n_points)
        timed = fit(signal, sampler, seconds=0.6, eval_every_seconds=0.2, **TIMED)
        out["timed"] = {"record": sampler.record, "history": timed.history}
        gathered = [None] * world
        dist.all_gather_object(gathered, out["ntk"])
        out["ntk"] = torch.cat(gathered)
        torch.save(out, Path(folder) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ranks")
    mp.spawn(_worker, args=(2, str(folder / "store"), str(folder)), nprocs=2, join=True)
    return [torch.load(folder / f"rank{r}.pt", weights_only=False) for r in range(2)]


@pytest.fixture
def image_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("image") / "pic.png"
    Image.fromarray((synthetic_image(24, 20) * 255).astype(np.uint8)).save(path)
    return path


@pytest.fixture(scope="module")
def one_process():
    return run_everything(None)


def test_split_range_covers_everything_once():
    for n, world in [(10, 3), (7, 7), (203, 2), (5, 1)]:
        slices = [split_range(n, world, r) for r in range(world)]
        assert slices[0][0] == 0 and slices[-1][1] == n
        assert all(a[1] == b[0] for a, b in zip(slices, slices[1:], strict=False))
        sizes = [hi - lo for lo, hi in slices]
        assert max(sizes) - min(sizes) <= 1
    with pytest.raises(ValueError):
        split_range(10, 2, 2)


def test_ntk_product_summed_across_ranks_equals_one_process(two_ranks, one_process):
    torch.testing.assert_close(two_ranks[0]["ntk"], one_process["ntk"], rtol=1e-4, atol=1e-5)


def test_global_top_k_across_ranks(two_ranks, one_process):
    for rank in two_ranks:
        assert torch.equal(rank["top"], one_process["top"])


@pytest.mark.parametrize("name", STRATEGIES)
def test_sharded_fit_selects_and_updates_like_one_process(two_ranks, one_process, name):
    alone = one_process[name]
    for rank in two_ranks:
        got = rank[name]
        assert len(got["record"]) == FIT["iterations"]
        for a, b in zip(got["record"], alone["record"], strict=True):
            assert torch.equal(a, b)
        for key, value in alone["weights"].items():
            torch.testing.assert_close(got["weights"][key], value, rtol=1e-4, atol=1e-6)
    # both replicas hold the same weights, bit for bit (the summed gradients are the same)
    for key in alone["weights"]:
        assert torch.equal(two_ranks[0][name]["weights"][key], two_ranks[1][name]["weights"][key])
    # rank 0 evaluates (same metrics as one process); the other rank keeps no record
    assert [row["iteration"] for row in two_ranks[0][name]["history"]] == [0, 3, 6]
    for a, b in zip(two_ranks[0][name]["history"], alone["history"], strict=True):
        assert a["psnr"] == pytest.approx(b["psnr"], abs=1e-3)
    assert two_ranks[1][name]["history"] == []


def test_time_budget_follows_rank_zeros_clock(two_ranks):
    records = [rank["timed"]["record"] for rank in two_ranks]
    assert len(records[0]) == len(records[1]) > 1
    assert all(torch.equal(a, b) for a, b in zip(*records, strict=True))
    history = two_ranks[0]["timed"]["history"]
    assert history[-1]["train_seconds"] >= 0.6 and len(history) >= 3


def test_distributed_without_a_process_group_is_one_clear_error(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    with pytest.raises(NintError, match="torchrun"):
        join_if_launched(100, torch.device("cpu"), True)
    assert join_if_launched(100, torch.device("cpu"), None) == (None, torch.device("cpu"))


def test_nint_fit_under_torchrun_writes_one_run_folder(tmp_path, image_file):
    out = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    cmd += ["-m", "nint", "fit", str(image_file), "--strategy", "nint", "--iterations", "4"]
    cmd += ["--width", "32", "--depth", "2", "--device", "cpu", "--out", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    folders = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert folders == [out]

    summary = json.loads((out / "summary.json").read_text())
    config = json.loads((out / "config.json").read_text())
    assert summary["iterations"] == 4 and config["world_size"] == 2
    assert done.stdout.count("after 4 iterations") == 1  # one report, from rank 0


def test_unshardable_strategy_under_torchrun_fails_in_one_line(tmp_path, image_file):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    cmd += ["-m", "nint", "fit", str(image_file), "--strategy", "egra", "--iterations", "2"]
    cmd += ["--device", "cpu", "--out", str(tmp_path / "run")]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert done.returncode != 0
    assert "nint: error: strategy 'egra' cannot be sharded" in done.stderr
    assert not (tmp_path / "run").exists()
