"""Stand.: every coordinate at every iteration (B = 100 %)."""

from __future__ import annotations

from typing import Any

import torch

from .base import Sampler, SelectionContext
from .registry import register


@register
class StandardSampler(Sampler):
    """All N coordinates every iteration.

    It accepts the common options so that one command line serves every strategy, but the batch
    ratio is fixed at 1 and the scheduler and interval have no effect (recorded in the config).
    """

    name = "standard"
    display_name = "Stand."
    shardable = True

    def __init__(self, n_points: int, **options: Any) -> None:
        options["ratio"] = 1.0
        super().__init__(n_points, **options)
        self._all = torch.arange(n_points)

    def choose(self, step: int, k: int, ctx: SelectionContext) -> torch.Tensor:
        if self._all.device != ctx.coords.device:
            self._all = self._all.to(ctx.coords.device)
        self.parts = {"all": self._all}
        return self._all
