"""EVOS (Zhang et al., CVPR 2025), run as the NINT paper runs it: crossover disabled.

Each selection takes the top (r_t - r_0 / 2) N coordinates by *fitness*, the squared error from a
full no-grad forward (under another ``loss``, each coordinate's loss value: ``nint.losses``),
plus a "mutation" share of r_0 N / 2 coordinates drawn uniformly from the rest, redrawn at every
selection. Fitness is re-evaluated every int(100 - 50 p) iterations (p = training progress) and
cached in between, so most iterations pay for no full forward.
No Laplacian crossover and no Laplacian loss term (docs/method.md section 5).

For images the crossover can be switched on (``crossover=True``, ``--evos-crossover``): fitness
becomes the public code's "add" crossover, e + lambda (Lap(gray f) - Lap(gray y))^2 per pixel
with e the squared error (mean over channels) and lambda = 1e5, so pixels whose local curvature is
wrong rank higher. Its Laplacian loss term (cross-frequency supervision) stays off: it needs a full
prediction at every step, which would charge EVOS a full forward per iteration.

Deviation from the public EVOS code: there a fitness iteration trains on *all* coordinates (the
full forward is the training forward); here, as docs/method.md describes, fitness comes from a
no-grad full forward and every iteration trains on the selected subset.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .. import select
from ..checks import NON_NEGATIVE, check_float
from ..errors import NintError
from .base import Option, Sampler, SelectionContext
from .priors import LUMA, check_raster, laplacian
from .registry import register


def fitness_interval(progress: float) -> int:
    """Iterations between fitness evaluations: int(100 - 50 p), from 100 down to 50."""
    return int(100 - 50 * min(max(progress, 0.0), 1.0))


def evos_counts(k: int, ratio0: float, n: int) -> tuple[int, int]:
    """(n_fitness, n_mutation) for a batch of k: the mutation part is floor(r_0 N / 2)."""
    n_mutation = min(k, int(0.5 * ratio0 * n))
    return k - n_mutation, n_mutation


@register
class EvosSampler(Sampler):
    """Fitness top-k plus uniform mutation, with cached fitness (crossover disabled)."""

    name = "evos"
    display_name = "EVOS"
    options = (
        Option(
            "crossover",
            "images: add the Laplacian crossover to the fitness (off, as in the paper)",
            bool,
            flag="--evos-crossover",
        ),
        Option("crossover_weight", "weight of the Laplacian term (1e5)", allowed=NON_NEGATIVE),
    )
    uses = ("residual",)
    needs_fixed_points = True  # cached fitness is per coordinate
    _state_attrs = Sampler._state_attrs + ("_fitness", "_fitness_step")

    def __init__(
        self,
        n_points: int,
        *,
        raster: np.ndarray | None = None,
        crossover: bool = False,
        crossover_weight: float = 1e5,
        **options: Any,
    ) -> None:
        super().__init__(n_points, **options)
        self.crossover = bool(crossover)
        self.crossover_weight = check_float(crossover_weight, "crossover_weight", NON_NEGATIVE)
        self._shape: tuple[int, int] | None = None
        self._target_laplacian: torch.Tensor | None = None
        if self.crossover:
            if raster is None:
                raise NintError(
                    "--evos-crossover needs an image (a Laplacian over pixels); "
                    "audio and 3D shapes run EVOS without it"
                )
            image = check_raster(raster, self.name, n_points)
            self._shape = image.shape[:2]
            self._target_laplacian = laplacian(gray(image))
        self._fitness: torch.Tensor | None = None
        self._fitness_step = -1

    def fitness(self, ctx: SelectionContext) -> torch.Tensor:
        """(N,) each coordinate's loss (the MSE's: squared error, mean over channels), plus the
        Laplacian term with crossover."""
        residual = ctx.residual()
        error = ctx.loss.values(residual)
        if not self.crossover:
            return error
        assert self._shape is not None and self._target_laplacian is not None
        prediction = (residual + ctx.targets).reshape(*self._shape, -1)
        predicted = laplacian(gray(prediction))
        target = self._target_laplacian.to(predicted)
        return error + self.crossover_weight * (predicted - target).pow(2).reshape(-1)

    def choose(self, step: int, k: int, ctx: SelectionContext) -> torch.Tensor:
        if self._fitness is None or step - self._fitness_step >= fitness_interval(ctx.progress):
            self._fitness = self.fitness(ctx)
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
        extra: dict[str, Any] = {"crossover": self.crossover}
        if self.crossover:
            extra["crossover_weight"] = self.crossover_weight
        return {**super().config(), **extra}


def gray(image: np.ndarray | torch.Tensor) -> torch.Tensor:
    """(H, W) luma of an (H, W, C) image, as a tensor (C = 1 is taken as is)."""
    data = torch.as_tensor(image)
    if data.shape[2] == 1:
        return data[:, :, 0]
    return data @ torch.as_tensor(LUMA, dtype=data.dtype, device=data.device)
