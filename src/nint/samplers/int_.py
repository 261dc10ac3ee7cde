"""INT (Zhang et al., ICML 2024): the top-B coordinates by current error."""

from __future__ import annotations

from typing import Any

import torch

from ..errors import NintError
from ..fast_selection import OPTIONS as FAST_OPTIONS
from ..fast_selection import FastResiduals, fast_source
from .base import Option, Sampler, SelectionContext
from .registry import register


@register
class IntSampler(Sampler):
    """Top-k by ||f(x_i) - y_i|| over channels, from a full no-grad forward; under a loss other
    than the MSE (``fit(..., loss=...)``) by each coordinate's loss value instead.

    Args:
        error_norm: "l1" (default, as INT's released code sums absolute errors over channels)
            or "l2".
        selection: "exact" (default) or "fast": the top k among ``candidates`` x k coordinates
            with the largest last-measured errors, re-measured at the current weights, in
            reduced ``precision`` where native, with a full pass every ``refresh_every``
            selections (``nint.fast_selection``; an approximation, not INT's method).
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
        *FAST_OPTIONS,
    )
    shardable = True
    uses = ("residual",)
    _state_attrs = Sampler._state_attrs + ("fast",)

    def __init__(
        self,
        n_points: int,
        *,
        error_norm: str = "l1",
        selection: str = "exact",
        candidates: float | None = None,
        refresh_every: int | None = None,
        precision: str | None = None,
        **options: Any,
    ) -> None:
        super().__init__(n_points, **options)
        if error_norm not in ("l1", "l2"):
            raise NintError(f"error norm must be 'l1' or 'l2', got {error_norm!r}")
        self.error_norm = error_norm
        self.selection = selection
        #: the fast mode's residual source (None: exact), which the fit runs the selection with
        self.fast: FastResiduals | None = fast_source(
            selection, candidates, refresh_every, precision, norm=error_norm, strategy="int"
        )
        # the fast mode's candidates index one process's coordinates
        self.shardable = self.fast is None

    def choose(self, step: int, k: int, ctx: SelectionContext) -> torch.Tensor:
        idx = ctx.error_part(k, self.error_norm)
        self.parts = {"error": idx}
        return idx

    def residual_source(self) -> FastResiduals | None:
        return self.fast

    def config(self) -> dict[str, Any]:
        config = {**super().config(), "error_norm": self.error_norm, "selection": self.selection}
        return config | ({} if self.fast is None else self.fast.config())
