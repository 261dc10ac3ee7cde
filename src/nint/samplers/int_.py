"""INT (Zhang et al., ICML 2024): the top-B coordinates by current error."""

from __future__ import annotations

from typing import Any

import torch

from ..errors import NintError
from ..ntk import error_scores
from .base import Option, Sampler, SelectionContext
from .registry import register


@register
class IntSampler(Sampler):
    """Top-k by ||f(x_i) - y_i|| over channels, from a full no-grad forward.

    Args:
        error_norm: "l1" (default, as INT's released code sums absolute errors over channels)
            or "l2".
        **options: the common sampler options (ratio, scheduler, interval, dense2_every, seed).
    """

    name = "int"
    display_name = "INT"
    options = (
        Option(
            "error_norm",
            "error norm over channels (int: l1; nint: l2, official variant l1)",
            str,
            choices=("l1", "l2"),
        ),
    )
    shardable = True
    uses = ("residual",)

    def __init__(self, n_points: int, *, error_norm: str = "l1", **options: Any) -> None:
        super().__init__(n_points, **options)
        if error_norm not in ("l1", "l2"):
            raise NintError(f"error norm must be 'l1' or 'l2', got {error_norm!r}")
        self.error_norm = error_norm

    def choose(self, step: int, k: int, ctx: SelectionContext) -> torch.Tensor:
        idx = ctx.top_k(error_scores(ctx.residual(), self.error_norm), k)
        self.parts = {"error": idx}
        return idx

    def config(self) -> dict[str, Any]:
        return {**super().config(), "error_norm": self.error_norm}
