"""NINT: NTK-guided implicit neural teaching (Zhang, Zuo et al., CVPR 2026).

Each selection of k coordinates is split into three disjoint parts, picked in this order:

1. NTK part: the top coordinates by the NINT score ||(K r)_i||_2, a share s_t of k;
2. error part: the top coordinates by ||r_i|| among those not yet chosen;
3. random part: uniform without replacement from what is left, a share xi of k.

The NTK share decays as s_t = (1 - xi) exp(-lambda t / alpha); the scores are refreshed every
alpha iterations and reused in between, and once s_t falls below the cut-off they are no longer
computed. Two variants:

- ``paper`` (default): the formulas above with t the iteration, the error ranked by the L2 norm
  over channels, n_ntk = floor(s_t k), n_random = round(xi k), the error part the rest, and cached
  *scores* re-ranked at every selection. Once s_t < cut-off the NTK part is empty.
- ``official``: the released code's exact counts (docs/method.md section 3). A counter c starts at 1
  and grows by one per selection; at c = 1 and whenever c is a multiple of alpha the share is reset
  to (1 - xi) exp(floor(-lambda c / alpha)), so the first window already uses 0.3 / e. Counts are
  n_ntk = floor(s k), n_error = floor((1 - xi - s) k), n_random = the rest; the error part ranks by
  the L1 norm; the NTK part reuses the *indices* cached at the last refresh (truncated to n_ntk),
  and after the cut-off the last cached indices keep serving the tiny NTK part.
  Deviations from the released code: randomness comes from the sampler's own generator instead of
  the global RNG, and the residual pass never builds an autograd graph.

Under a loss other than the MSE (``fit(..., loss="l1" | "huber")``, ``nint.losses``) K multiplies
the loss gradient instead of r and the error part ranks by each coordinate's loss value, in both
variants and in the fast mode (docs/deviations.md, "Loss").

``selection="fast"`` (paper variant only) keeps the three parts and their counts but takes the
error part from re-measured candidates, runs the passes in reduced precision where native and
raises the default NTK cut-off to 0.02 (``nint.fast_selection``); an approximation, not the
paper's method.

On signals whose coordinates are redrawn every iteration (3D shapes, ``ctx.fresh``) nothing cached
per index describes the new points, so both variants score anew at every selection while the NTK
share is above the cut-off (about the first 6 alpha iterations): more NTK products than on a fixed
signal, charged to the clock like the others. The released code has no such signals.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from .. import select
from ..checks import NON_NEGATIVE, POSITIVE, UNIT, check_float
from ..errors import NintError
from ..fast_selection import FAST_NTK_CUTOFF, FastResiduals, fast_source
from ..fast_selection import OPTIONS as FAST_OPTIONS
from ..ntk import ntk_scores
from .base import Option, Sampler, SelectionContext
from .registry import register

VARIANTS = ("paper", "official")


def paper_ntk_share(step: int, xi: float, alpha: float, lam: float) -> float:
    """s_t = (1 - xi) exp(-lambda t / alpha)."""
    return (1.0 - xi) * math.exp(-lam * step / alpha)


def official_ntk_share(counter: int, xi: float, alpha: float, lam: float) -> float:
    """The released code's share (1 - xi) exp(floor(-lambda c / alpha)) for counter c >= 1."""
    return (1.0 - xi) * math.exp(math.floor(-lam * counter / alpha))


def paper_counts(k: int, share: float, xi: float, cutoff: float) -> tuple[int, int, int]:
    """(n_ntk, n_error, n_random) of the paper variant for a batch of k."""
    n_ntk = int(share * k) if share >= cutoff else 0
    n_rand = min(int(round(xi * k)), k - n_ntk)
    return n_ntk, k - n_ntk - n_rand, n_rand


def official_counts(k: int, share: float, xi: float) -> tuple[int, int, int]:
    """(n_ntk, n_error, n_random) exactly as the released ``hierarchical_sampler`` counts them."""
    n_ntk = int(k * share)
    n_err = int(k * (1.0 - xi - share))
    return n_ntk, n_err, k - n_ntk - n_err


@register
class NintSampler(Sampler):
    """NTK-guided hybrid selection.

    Args:
        n_points: N.
        xi: share of the batch drawn uniformly at random (0.7).
        alpha: NTK refresh period in iterations and decay length (10).
        lam: decay rate lambda of the NTK share (1.0).
        ntk_cutoff: below this share the NTK scores are no longer computed (1e-3).
        variant: "paper" or "official" (see the module docstring).
        error_norm: norm over channels for the error part; default "l2" (paper), "l1" (official).
        selection, candidates, refresh_every, precision: the opt-in fast mode
            (``nint.fast_selection``); "exact" (default) is the paper's method.
        **options: the common sampler options (ratio=0.2, scheduler, interval, dense2_every, seed).
    """

    name = "nint"
    display_name = "NINT"
    options = (
        Option("xi", "random share of the batch (0.7)", allowed=UNIT),
        Option("alpha", "NTK refresh period and decay length (10)", allowed=POSITIVE),
        Option("lam", "NTK share decay rate (1.0)", flag="--lambda", allowed=NON_NEGATIVE),
        Option("ntk_cutoff", "stop NTK scoring below this share (1e-3; fast 0.02)", allowed=UNIT),
        Option("variant", "paper (default) or official", str, choices=VARIANTS),
        Option(
            "error_norm",
            "error norm over channels (int: l1; nint: l2, official variant l1)",
            str,
            choices=("l1", "l2"),
        ),
        *FAST_OPTIONS,
    )
    shardable = True
    uses = ("residual", "ntk")
    _state_attrs = Sampler._state_attrs + (
        "fast",
        "_scores",
        "_scores_step",
        "_cached_ntk",
        "_counter",
        "_refresh",
        "_share",
        "last_counts",
    )

    def __init__(
        self,
        n_points: int,
        *,
        xi: float = 0.7,
        alpha: float = 10,
        lam: float = 1.0,
        ntk_cutoff: float | None = None,
        variant: str = "paper",
        error_norm: str | None = None,
        selection: str = "exact",
        candidates: float | None = None,
        refresh_every: int | None = None,
        precision: str | None = None,
        **options: Any,
    ) -> None:
        super().__init__(n_points, **options)
        if variant not in VARIANTS:
            raise NintError(f"unknown NINT variant {variant!r}; choose from {', '.join(VARIANTS)}")
        if selection == "fast" and variant != "paper":
            raise NintError("selection='fast' builds on the paper variant, not 'official'")
        error_norm = error_norm or ("l2" if variant == "paper" else "l1")
        if error_norm not in ("l1", "l2"):
            raise NintError(f"error norm must be 'l1' or 'l2', got {error_norm!r}")
        self.selection = selection
        #: the fast mode's residual source (None: exact), which the fit runs the selection with
        self.fast: FastResiduals | None = fast_source(
            selection, candidates, refresh_every, precision, norm=error_norm, strategy="nint"
        )
        # the fast mode's candidates index one process's coordinates
        self.shardable = self.fast is None
        if ntk_cutoff is None:
            ntk_cutoff = 1e-3 if self.fast is None else FAST_NTK_CUTOFF
        # NaN would pass a plain comparison and silently empty the NTK part
        check_float(xi, "xi (random share)", UNIT)
        check_float(alpha, "alpha (NTK refresh period)", POSITIVE)
        check_float(lam, "lambda (NTK decay)", NON_NEGATIVE)
        check_float(ntk_cutoff, "ntk_cutoff (NTK share cut-off)", UNIT)
        self.xi, self.alpha, self.lam = float(xi), float(alpha), float(lam)
        self.ntk_cutoff = float(ntk_cutoff)
        self.variant = variant
        self.error_norm = error_norm
        # paper variant: cached scores and the iteration they were computed at
        self._scores: torch.Tensor | None = None
        self._scores_step = -1
        # official variant: counter, refresh flag, current share and cached NTK indices
        self._counter = 1
        self._refresh = True
        self._share = 0.0
        self._cached_ntk: torch.Tensor | None = None
        #: (n_ntk, n_error, n_random) of the last selection
        self.last_counts: tuple[int, int, int] = (0, 0, 0)

    def choose(self, step: int, k: int, ctx: SelectionContext) -> torch.Tensor:
        if self.variant == "paper":
            ntk_idx, counts = self._paper_ntk_part(step, k, ctx)
        else:
            ntk_idx, counts = self._official_ntk_part(k, ctx)
        _, n_err, n_rand = counts
        taken = select.mask_of(ntk_idx, self.n_points)
        err_idx = ctx.error_part(n_err, self.error_norm, exclude=taken)
        taken[err_idx] = True
        rand_idx = select.uniform(
            self.n_points, n_rand, self.generator, exclude=taken, device=ctx.coords.device
        )
        self.parts = {"ntk": ntk_idx, "error": err_idx, "random": rand_idx}
        self.last_counts = (ntk_idx.numel(), err_idx.numel(), rand_idx.numel())
        return torch.cat([ntk_idx, err_idx, rand_idx])

    def residual_source(self) -> FastResiduals | None:
        return self.fast

    def _paper_ntk_part(
        self, step: int, k: int, ctx: SelectionContext
    ) -> tuple[torch.Tensor, tuple[int, int, int]]:
        """NTK indices and the three counts, paper variant (cached scores, re-ranked; K r is
        computed only when the scores are due for a refresh)."""
        share = paper_ntk_share(step, self.xi, self.alpha, self.lam)
        counts = paper_counts(k, share, self.xi, self.ntk_cutoff)
        if counts[0] == 0:
            return torch.empty(0, dtype=torch.long, device=ctx.coords.device), counts
        # fresh coordinates (3D shapes): cached scores belong to other points, so score anew
        if self._scores is None or ctx.fresh or step - self._scores_step >= self.alpha:
            self._scores = ntk_scores(ctx.kernel_residual())
            self._scores_step = step
        return ctx.top_k(self._scores, counts[0]), counts

    def _official_ntk_part(
        self, k: int, ctx: SelectionContext
    ) -> tuple[torch.Tensor, tuple[int, int, int]]:
        """NTK indices and the three counts, as the released code (cached indices)."""
        fresh = None
        if self._refresh:
            self._share = official_ntk_share(self._counter, self.xi, self.alpha, self.lam)
        # on fresh coordinates the cached indices point at other points: score anew
        if (self._refresh or ctx.fresh) and self._share >= self.ntk_cutoff:
            fresh = ntk_scores(ctx.kernel_residual())
        counts = official_counts(k, self._share, self.xi)
        if fresh is not None:
            ntk_idx = ctx.top_k(fresh, counts[0])
            self._cached_ntk = ntk_idx
        elif self._cached_ntk is not None:
            ntk_idx = self._cached_ntk[: counts[0]]
        else:
            ntk_idx = torch.empty(0, dtype=torch.long, device=ctx.coords.device)
        self._counter += 1
        self._refresh = self._counter % self.alpha == 0
        return ntk_idx, counts

    def config(self) -> dict[str, Any]:
        return {
            **super().config(),
            "variant": self.variant,
            "xi": self.xi,
            "alpha": self.alpha,
            "lambda": self.lam,
            "ntk_cutoff": self.ntk_cutoff,
            "error_norm": self.error_norm,
            "selection": self.selection,
            **({} if self.fast is None else self.fast.config()),
        }
