"""EVOS (Zhang et al., CVPR 2025), run as the NINT seed runs it: crossover disabled.

Each selection takes the top (r_t - r_0 / 2) N coordinates by *fitness*, the squared error from a
full no-grad forward, plus a "mutation" share of r_0 N / 2 coordinates drawn uniformly from the
rest, redrawn at every selection. Fitness is re-evaluated every int(100 - 50 p) iterations
(p = training progress) and cached in between, so most iterations pay for no full forward.
No Laplacian crossover and no Laplacian loss term (METHOD.md section 5).
"""

from __future__ import annotations

from typing import Any

import torch

from .. import select
from .base import Sampler, SelectionContext


def fitness_interval(progress: float) -> int:
    """Iterations between fitness evaluations: int(100 - 50 p), from 100 down to 50."""
    return int(100 - 50 * min(max(progress, 0.0), 1.0))


def evos_counts(k: int, ratio0: float, n: int) -> tuple[int, int]:
    """(n_fitness, n_mutation) for a batch of k: the mutation part is floor(r_0 N / 2)."""
    n_mutation = min(k, int(0.5 * ratio0 * n))
    return k - n_mutation, n_mutation


class EvosSampler(Sampler):
    """Fitness top-k plus uniform mutation, with cached fitness (crossover disabled)."""

    name = "evos"
    uses = ("residual",)
    _state_attrs = Sampler._state_attrs + ("_fitness", "_fitness_step")

    def __init__(self, n_points: int, **options: Any) -> None:
        super().__init__(n_points, **options)
        self._fitness: torch.Tensor | None = None
        self._fitness_step = -1

    def _choose(self, step: int, k: int, ctx: SelectionContext) -> torch.Tensor:
        if self._fitness is None or step - self._fitness_step >= fitness_interval(ctx.progress):
            self._fitness = ctx.residual().pow(2).sum(dim=1)
            self._fitness_step = step
        n_fit, n_mut = evos_counts(k, self.ratio, self.n_points)
        fit_idx = select.top_k(self._fitness, n_fit)
        mut_idx = select.uniform(
            self.n_points, n_mut, self.generator,
            exclude=select.mask_of(fit_idx, self.n_points), device=ctx.coords.device,
        )  # fmt: skip
        self.parts = {"error": fit_idx, "random": mut_idx}
        return torch.cat([fit_idx, mut_idx])

    def config(self) -> dict[str, Any]:
        return {**super().config(), "crossover": False}
