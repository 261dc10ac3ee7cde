"""Sharded fitting over several processes with torch.distributed (launched by ``torchrun``).

Each rank holds a contiguous slice of the coordinates (its shard) and a full copy of the model.
Selection stays exactly the single-process one, expressed in global coordinate indices:

- a top-k over scores spread across ranks takes each rank's k best candidates, gathers them and
  keeps the k best of those, which contain the global k best;
- uniform draws are made from the same seeded generator on every rank over the same global mask,
  so every rank draws the same global indices without communicating;
- the NTK product K r = J (J^T r) sums the ranks' J^T r before each rank's J v on its own rows.

Each rank then trains on the chosen coordinates that fall in its shard, with the loss normalised by
the global k, and the gradients are summed across ranks before the optimiser step: the update equals
the single-process one up to floating-point summation order. Evaluation runs on rank 0 alone, off
the training clock, while the other ranks wait; time budgets follow rank 0's clock.

Backends: gloo on CPUs, NCCL on CUDA devices (one device per rank, ``cuda:LOCAL_RANK``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from . import select
from .errors import NintError
from .timing import PartTimer


def split_range(n: int, world: int, rank: int) -> tuple[int, int]:
    """The [lo, hi) coordinate slice of ``rank`` when n are split into ``world`` contiguous
    shards whose sizes differ by at most one (the first n % world shards hold one more)."""
    if not 0 <= rank < world:
        raise ValueError(f"rank {rank} outside a world of {world}")
    base, extra = divmod(n, world)
    lo = rank * base + min(rank, extra)
    return lo, lo + base + (1 if rank < extra else 0)


def launched_by_torchrun() -> bool:
    """True when the environment describes a process group of more than one process."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


@dataclass
class Shard:
    """This rank's place in the process group and its slice [lo, hi) of the N coordinates."""

    rank: int
    world: int
    n_points: int
    lo: int
    hi: int

    @classmethod
    def join(cls, n_points: int, device: torch.device) -> Shard:
        """Join the process group torchrun describes (initialising it if needed) and take this
        rank's shard of n_points coordinates."""
        if not dist.is_available():
            raise NintError("this PyTorch build has no torch.distributed")
        if not dist.is_initialized():
            backend = "nccl" if device.type == "cuda" else "gloo"
            dist.init_process_group(backend)
        world, rank = dist.get_world_size(), dist.get_rank()
        if n_points < world:
            raise NintError(f"{n_points} coordinates cannot be split over {world} processes")
        lo, hi = split_range(n_points, world, rank)
        return cls(rank, world, n_points, lo, hi)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def local(self, idx: torch.Tensor) -> torch.Tensor:
        """The global indices ``idx`` that fall in this shard, as local row numbers."""
        inside = (idx >= self.lo) & (idx < self.hi)
        return idx[inside] - self.lo

    def top_k(
        self, scores: torch.Tensor, k: int, exclude: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Global indices of the k largest scores across all ranks, in descending order.

        Args:
            scores: (hi - lo,) this rank's scores.
            k: how many; clipped to the number of coordinates not excluded, as ``select.top_k``.
            exclude: (N,) global bool mask of coordinates that may not be picked, the same on
                every rank.

        Returns:
            (k',) int64 global indices, identical on every rank.
        """
        if exclude is not None:
            k = min(k, self.n_points - int(exclude.sum()))
        if k <= 0:
            return torch.empty(0, dtype=torch.long, device=scores.device)
        local_exclude = None if exclude is None else exclude[self.lo : self.hi]
        mine = select.top_k(scores, k, exclude=local_exclude)
        # pad to k so that every rank contributes a tensor of the same shape
        values = torch.full((k,), -torch.inf, dtype=scores.dtype, device=scores.device)
        where = torch.full((k,), -1, dtype=torch.long, device=scores.device)
        values[: mine.numel()] = scores[mine]
        where[: mine.numel()] = mine + self.lo
        all_values = [torch.empty_like(values) for _ in range(self.world)]
        all_where = [torch.empty_like(where) for _ in range(self.world)]
        dist.all_gather(all_values, values)
        dist.all_gather(all_where, where)
        best = torch.topk(torch.cat(all_values), k).indices
        return torch.cat(all_where)[best]

    def all_reduce_sum(self, tensors: list[torch.Tensor]) -> list[torch.Tensor]:
        """Sum each tensor over the ranks, in one collective; returns new tensors."""
        flat = torch.cat([t.reshape(-1) for t in tensors])
        dist.all_reduce(flat)
        out, start = [], 0
        for t in tensors:
            out.append(flat[start : start + t.numel()].view_as(t))
            start += t.numel()
        return out

    def sum_gradients(self, model: nn.Module, extra: list[torch.Tensor]) -> list[torch.Tensor]:
        """Replace every parameter's gradient by its sum over the ranks (a rank that trained on
        none of the chosen coordinates contributes zeros); ``extra`` tensors (the step's loss)
        ride along in the same collective and their sums are returned."""
        params = [p for p in model.parameters() if p.requires_grad]
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
        summed = self.all_reduce_sum(grads + extra)
        for p, g in zip(params, summed, strict=False):
            p.grad = g
        return summed[len(params) :]

    def broadcast_parameters(self, model: nn.Module) -> None:
        """Copy rank 0's parameters and buffers to every rank."""
        with torch.no_grad():
            for t in list(model.parameters()) + list(model.buffers()):
                dist.broadcast(t.data, src=0)

    def broadcast_float(self, value: float, device: torch.device) -> float:
        """Rank 0's value on every rank (for decisions taken on rank 0's clock)."""
        t = torch.tensor([value], dtype=torch.float64, device=device)
        dist.broadcast(t, src=0)
        return float(t)


class SingleProcess:
    """The communicator of a one-process fit: every collective is the identity.

    The training loop talks to its process group only through a communicator, so it reads the
    same for one process and many; ``Sharded`` is the torch.distributed one.
    """

    #: this rank's shard, handed to selection contexts (None: all coordinates are here)
    shard: Shard | None = None
    is_main = True
    world = 1

    def own(
        self, coords: torch.Tensor, targets: torch.Tensor, device: torch.device
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """This process's rows of a training set, on ``device``."""
        return coords.to(device), targets.to(device)

    def local(self, idx: torch.Tensor) -> torch.Tensor:
        """The rows of global indices ``idx`` that this process trains on."""
        return idx

    def sum_gradients(self, model: nn.Module, loss: torch.Tensor, timer: PartTimer) -> torch.Tensor:
        """Make every gradient (and the loss, returned) the sum over the processes."""
        return loss

    def clock(self, timer: PartTimer) -> float:
        """The training clock every process decides by."""
        return timer.total()

    def agree(self, flag: bool, device: torch.device) -> bool:
        """Rank 0's ``flag`` on every process."""
        return flag

    def share_parameters(self, model: nn.Module) -> None:
        """Give every process rank 0's weights."""


class Sharded(SingleProcess):
    """The communicator of one rank of a sharded fit.

    Args:
        shard: this rank's place and slice of the coordinates.
        clock_decides: a decision is taken on the training clock (a time budget or a cadence in
            seconds), so the clock is rank 0's, broadcast (and charged to "comm") when read.
    """

    shard: Shard  # never None here

    def __init__(self, shard: Shard, clock_decides: bool) -> None:
        self.shard = shard
        self.is_main = shard.is_main
        self.world = shard.world
        self.clock_decides = clock_decides

    def own(
        self, coords: torch.Tensor, targets: torch.Tensor, device: torch.device
    ) -> tuple[torch.Tensor, torch.Tensor]:
        lo, hi = self.shard.lo, self.shard.hi
        return coords[lo:hi].to(device), targets[lo:hi].to(device)

    def local(self, idx: torch.Tensor) -> torch.Tensor:
        return self.shard.local(idx)

    def sum_gradients(self, model: nn.Module, loss: torch.Tensor, timer: PartTimer) -> torch.Tensor:
        with timer.measure("comm"):
            return self.shard.sum_gradients(model, [loss])[0]

    def clock(self, timer: PartTimer) -> float:
        if not self.clock_decides:
            return timer.total()
        with timer.measure("comm"):
            return self.shard.broadcast_float(timer.total(), timer.device)

    def agree(self, flag: bool, device: torch.device) -> bool:
        return self.shard.broadcast_float(float(flag), device) > 0

    def share_parameters(self, model: nn.Module) -> None:
        self.shard.broadcast_parameters(model)


def communicator(
    n_points: int, device: torch.device, distributed: bool | None, clock_decides: bool
) -> tuple[SingleProcess, torch.device]:
    """The communicator of this process and its device (see ``join_if_launched``)."""
    shard, device = join_if_launched(n_points, device, distributed)
    if shard is None:
        return SingleProcess(), device
    return Sharded(shard, clock_decides), device


def join_if_launched(
    n_points: int, device: torch.device, distributed: bool | None
) -> tuple[Shard | None, torch.device]:
    """The shard of this process and its device, or (None, device) for a one-process fit.

    Args:
        distributed: True: join the process group (an error unless torchrun or the caller set
            one up); False: fit alone; None: join when launched by torchrun with more than one
            process or when a process group is already initialised.
    """
    joined = dist.is_available() and dist.is_initialized()
    if distributed is None:
        distributed = joined or launched_by_torchrun()
    if not distributed:
        return None, device
    if not (joined or launched_by_torchrun()):
        raise NintError(
            "a sharded fit needs a process group: launch with "
            "`torchrun --nproc_per_node K -m nint fit ...`"
        )
    if device.type == "cuda" and device.index is None:
        # one device per rank, as torchrun numbers them on each machine
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return Shard.join(n_points, device), device
