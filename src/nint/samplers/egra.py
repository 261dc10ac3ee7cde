"""EGRA (edge-guided ray allocation) for images: an edge-weighted density, multinomial draws.

The density is p_i proportional to edge_p * e_i + (1 - edge_p) * base, with e the Canny edge map
of the ground truth (thresholds 30 / 40 on 8-bit luma) and base = 4096 / 800^2, the constants of
the public port (its base is a NeRF-synthetic batch over an image's pixels). Before each draw the
edge map is jittered: every edge pixel moves forward in raster order by a random 6..9 pixels
(modulo N), as in that port. k pixels are then drawn without replacement from p. The prior needs
only the image, so the strategy never pays for a forward.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..checks import NON_NEGATIVE, UNIT, check_float
from ..errors import NintError
from .base import Option, Sampler, SelectionContext
from .priors import canny, check_raster, gray_uint8
from .registry import register

#: the public port's uniform floor: a 4096-ray batch over an 800 x 800 NeRF-synthetic view
BASE = 4096 / (800 * 800)


def egra_density(edges: torch.Tensor, edge_p: float, base: float = BASE) -> torch.Tensor:
    """(N,) float64 draw weights from an (N,) bool edge map (not normalised)."""
    return edges.double() * edge_p + (1.0 - edge_p) * base


def jitter(edge_idx: torch.Tensor, n: int, generator: torch.Generator, lo: int = 6, hi: int = 9):
    """Edge indices shifted forward in raster order by a random lo..hi each, modulo n."""
    shift = torch.randint(lo, hi + 1, edge_idx.shape, generator=generator)
    return (edge_idx + shift) % n


@register
class EgraSampler(Sampler):
    """Multinomial draws from a jittered Canny-edge density mixed with a uniform one."""

    name = "egra"
    display_name = "EGRA"
    options = (
        Option("edge_p", "weight of the edge density (0.0025)", allowed=UNIT),
        Option("canny_low", "lower Canny threshold (30)", allowed=NON_NEGATIVE),
        Option("canny_high", "upper Canny threshold (40)", allowed=NON_NEGATIVE),
    )
    needs_image = True
    uses = ("image prior",)

    def __init__(
        self,
        n_points: int,
        *,
        raster: np.ndarray | None = None,
        edge_p: float = 0.0025,
        canny_low: float = 30.0,
        canny_high: float = 40.0,
        **options: Any,
    ) -> None:
        super().__init__(n_points, **options)
        image = check_raster(raster, self.name, n_points)
        check_float(edge_p, "egra's edge_p", UNIT)
        check_float(canny_low, "egra's canny_low", NON_NEGATIVE)
        check_float(canny_high, "egra's canny_high", NON_NEGATIVE)
        if not canny_low <= canny_high:
            raise NintError(
                f"egra's Canny thresholds need 0 <= low <= high, got {canny_low}, {canny_high}"
            )
        self.edge_p, self.canny_low, self.canny_high = float(edge_p), canny_low, canny_high
        edges = canny(gray_uint8(image), canny_low, canny_high).reshape(-1)
        self.edge_idx = torch.from_numpy(np.flatnonzero(edges).astype(np.int64))

    def density(self) -> torch.Tensor:
        """(N,) the weights of the next draw, with a freshly jittered edge map."""
        moved = torch.zeros(self.n_points, dtype=torch.bool)
        moved[jitter(self.edge_idx, self.n_points, self.generator)] = True
        return egra_density(moved, self.edge_p)

    def choose(self, step: int, k: int, ctx: SelectionContext) -> torch.Tensor:
        idx = torch.multinomial(self.density(), k, replacement=False, generator=self.generator)
        idx = idx.to(ctx.coords.device)
        self.parts = {"edge-guided": idx}
        return idx

    def config(self) -> dict[str, Any]:
        return {
            **super().config(),
            "edge_p": self.edge_p,
            "canny": [self.canny_low, self.canny_high],
            "edge_pixels": int(self.edge_idx.numel()),
        }
