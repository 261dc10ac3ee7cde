"""Unif.: B coordinates uniformly at random, without replacement, at every selection."""

from __future__ import annotations

import torch

from .. import select
from .base import Sampler, SelectionContext
from .registry import register


@register
class UniformSampler(Sampler):
    """k = floor(r_t N) coordinates drawn uniformly; never asks for a forward pass."""

    name = "uniform"
    display_name = "Unif."
    shardable = True

    def choose(self, step: int, k: int, ctx: SelectionContext) -> torch.Tensor:
        idx = select.uniform(self.n_points, k, self.generator, device=ctx.coords.device)
        self.parts = {"random": idx}
        return idx
