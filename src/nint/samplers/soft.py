"""Soft Mining (Kheradmand et al., CVPR 2024) for images: Langevin-moved samples, re-weighted.

A population of k continuous positions p in [0, 1]^2 (row, column; k = the batch) is trained on
at the pixels nearest to it. After each training step every member moves by one Langevin step on
the log of its loss,

    p <- p + a * g + b * noise,     g = (d loss / d p_pixels) / (c L),

with a = 20, b = 0.02, noise ~ N(0, I) and L the member's loss (the fit's ``loss`` per
coordinate: the squared error, mean over channels, under the default MSE). Then members outside
the image and the 10 % with the lowest (corrected) loss are re-drawn from the image's Sobel-edge
density, and the last 10 % of the population is re-drawn uniformly. The loss of a step is the
mean over the population of c * L, with the importance correction

    c = clamp((1 / max(|f - y|_1, eps16)) ** a_t, 0.2, mean + std),  a_t = min(t / 1000, 0.6),

|.|_1 the mean absolute error over channels whatever the loss, the clamp's bounds taken over the
population; c enters the loss as a constant (no gradient through it).

Corrected form (docs/method.md section 5): the public code multiplies its per-point loss by c in
place and then divides the position gradient by c times that already-corrected loss, so c appears
twice in the drift; here g is the gradient of the mean of c L divided by c L, i.e. grad log L / k,
the drift the method intends. The 1 / k of the batch mean is kept, as in the public code, so a = 20
keeps its meaning. ``drift="released"`` restores the public code's double correction (drift
divided by c^2 L), so that both can be measured side by side (benchmarks/fast_selection.py).

Choices for our sampler contract: members that round to the same pixel are trained on once, with
their multiplicity in the loss weight (the loss equals the population mean exactly), so a
selection may hold fewer than k distinct indices. A batch that grows with a scheduler gets new
uniform members; one that shrinks drops the last members (the uniform slots). With a sampling
interval, members move only when a new selection is made, on the latest step's gradients.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..checks import NON_NEGATIVE, POSITIVE, UNIT, check_float
from ..errors import NintError
from .base import Option, Sampler, SelectionContext, StepFeedback
from .priors import check_raster, sobel_density
from .registry import register

EPS16 = float(torch.finfo(torch.float16).eps)


def correction_weights(
    abs_err: torch.Tensor, step: int, max_exponent: float = 0.6, ramp: float = 1000.0
) -> torch.Tensor:
    """Soft Mining's importance correction c of each member.

    Args:
        abs_err: (P,) mean absolute error over channels of each population member.
        step: the training iteration t.
        max_exponent, ramp: a_t = min(t / ramp, max_exponent); max_exponent 0 turns c off.

    Returns:
        (P,) c = clamp((1 / max(abs_err, eps16)) ** a_t, 0.2, mean + std) (population statistics).
    """
    exponent = min(step / ramp, max_exponent) if max_exponent != 0 else 0.0
    c = (1.0 / abs_err.clamp(min=EPS16)) ** exponent
    upper = c.mean() + c.std() if c.numel() > 1 else c.max()
    return torch.minimum(c.clamp(min=0.2), upper)


DRIFTS = ("corrected", "released")


@register
class SoftMiningSampler(Sampler):
    """Langevin-moved sample positions on log-loss with an importance-corrected loss."""

    name = "soft"
    display_name = "SoftM."
    options = (
        Option("langevin_step", "Langevin step a on grad log loss (20)", allowed=NON_NEGATIVE),
        Option("langevin_noise", "Langevin noise b (0.02)", allowed=NON_NEGATIVE),
        Option("uniform_share", "share re-drawn uniformly each step (0.1)", allowed=UNIT),
        Option("redraw_share", "lowest-loss share re-drawn from edges (0.1)", allowed=UNIT),
        Option("correction_max", "largest correction exponent (0.6)", allowed=NON_NEGATIVE),
        Option(
            "correction_ramp", "iterations to reach it: a_t = t / ramp (1000)", allowed=POSITIVE
        ),
        Option(
            "drift", "corrected (default) or released (the public code's c twice)", str,
            choices=DRIFTS,
        ),
    )  # fmt: skip
    needs_image = True
    uses = ("image prior", "loss weights", "coordinate gradients")
    reweights = True
    wants_feedback = True
    wants_coord_grad = True
    exact_count = False
    _state_attrs = Sampler._state_attrs + (
        "positions", "_drift", "_member_loss", "_inverse", "_counts", "_corr", "_now",
    )  # fmt: skip

    def __init__(
        self,
        n_points: int,
        *,
        raster: np.ndarray | None = None,
        langevin_step: float = 20.0,
        langevin_noise: float = 0.02,
        uniform_share: float = 0.1,
        redraw_share: float = 0.1,
        correction_max: float = 0.6,
        correction_ramp: float = 1000.0,
        drift: str = "corrected",
        **options: Any,
    ) -> None:
        super().__init__(n_points, **options)
        if drift not in DRIFTS:
            raise NintError(f"unknown Soft Mining drift {drift!r}; choose from {', '.join(DRIFTS)}")
        self.drift = drift
        image = check_raster(raster, self.name, n_points)
        self.height, self.width = image.shape[:2]
        for label, value, allowed in (
            ("uniform_share", uniform_share, UNIT),
            ("redraw_share", redraw_share, UNIT),
            ("langevin_step", langevin_step, NON_NEGATIVE),
            ("langevin_noise", langevin_noise, NON_NEGATIVE),
            ("correction_max", correction_max, NON_NEGATIVE),
            ("correction_ramp", correction_ramp, POSITIVE),
        ):
            check_float(value, f"soft's {label}", allowed)
        self.langevin_step, self.langevin_noise = float(langevin_step), float(langevin_noise)
        self.uniform_share, self.redraw_share = float(uniform_share), float(redraw_share)
        self.correction_max, self.correction_ramp = float(correction_max), float(correction_ramp)
        self.edge_density = torch.from_numpy(sobel_density(image))
        #: (P, 2) float64 member positions (row, column) in [0, 1]
        self.positions = torch.empty(0, 2, dtype=torch.float64)
        self._drift: torch.Tensor | None = None
        self._member_loss: torch.Tensor | None = None
        self._inverse = torch.empty(0, dtype=torch.long)  # member -> index in the selection
        self._counts = torch.empty(0, dtype=torch.long)  # members per selected pixel
        self._corr: torch.Tensor | None = None  # last correction, per member
        self._now = 0

    # -- positions ---------------------------------------------------------------------------
    def _scale(self) -> torch.Tensor:
        return torch.tensor([self.height - 1, self.width - 1], dtype=torch.float64)

    def _uniform_pixels(self, count: int) -> torch.Tensor:
        """(count, 2) positions of uniformly random pixels (the public code's initialisation)."""
        rows = torch.randint(0, self.height, (count,), generator=self.generator)
        cols = torch.randint(0, self.width, (count,), generator=self.generator)
        return torch.stack([rows, cols], dim=1).double() / self._scale()

    def _edge_pixels(self, count: int) -> torch.Tensor:
        """(count, 2) positions of pixels drawn from the Sobel-edge density."""
        flat = torch.multinomial(
            self.edge_density, count, replacement=True, generator=self.generator
        )
        rows, cols = flat // self.width, flat % self.width
        return torch.stack([rows, cols], dim=1).double() / self._scale()

    def _move(self) -> None:
        """One Langevin step, then the re-draws (outside or lowest loss: edges; tail: uniform)."""
        drift, member_loss = self._drift, self._member_loss
        assert drift is not None and member_loss is not None  # set together by observe()
        population = self.positions.shape[0]
        noise = torch.randn(population, 2, generator=self.generator, dtype=torch.float64)
        fresh = torch.rand(population, 2, generator=self.generator, dtype=torch.float64)
        self.positions += self.langevin_step * drift + self.langevin_noise * noise
        n_redraw = int(self.redraw_share * population)
        lowest = torch.zeros(population, dtype=torch.bool)
        if n_redraw > 0:
            threshold = torch.topk(member_loss, n_redraw, largest=False).values[-1]
            lowest = member_loss <= threshold
        outside = ((self.positions < 0) | (self.positions > 1)).any(dim=1)
        n_uniform = int(self.uniform_share * population)
        if n_uniform > 0:
            self.positions[-n_uniform:] = fresh[-n_uniform:]
        redraw = (lowest | outside).nonzero().squeeze(1)
        if redraw.numel():
            self.positions[redraw] = self._edge_pixels(redraw.numel())
        self.positions.clamp_(0.0, 1.0)

    def _resize(self, k: int) -> None:
        population = self.positions.shape[0]
        if k > population:
            self.positions = torch.cat([self.positions, self._uniform_pixels(k - population)])
        elif k < population:
            self.positions = self.positions[:k].clone()

    # -- the contract ------------------------------------------------------------------------
    def select(self, step: int, ctx: SelectionContext) -> torch.Tensor:
        self._now = step  # the correction's exponent follows the training iteration
        return super().select(step, ctx)

    def choose(self, step: int, k: int, ctx: SelectionContext) -> torch.Tensor:
        if self._drift is not None and self._drift.shape[0] == self.positions.shape[0]:
            self._move()
        self._resize(k)
        self._drift = self._member_loss = self._corr = None
        pixel = torch.round(self.positions * self._scale()).long()
        flat = pixel[:, 0] * self.width + pixel[:, 1]
        idx, self._inverse, self._counts = torch.unique(
            flat, return_inverse=True, return_counts=True
        )
        self.parts = {"mined": idx}
        return idx.to(ctx.coords.device)

    def loss_weights(self, errors: torch.Tensor) -> torch.Tensor:
        """Per selected pixel: multiplicity x correction x (distinct / population), so that the
        trainer's mean over distinct pixels equals the population mean of c L."""
        abs_err = errors.abs().mean(dim=1).cpu().double()[self._inverse]
        self._corr = correction_weights(
            abs_err, self._now, self.correction_max, self.correction_ramp
        )
        per_pixel = torch.zeros(self._counts.numel(), dtype=torch.float64)
        per_pixel[self._inverse] = self._corr  # members of one pixel share its error, hence c
        population, distinct = self._inverse.numel(), self._counts.numel()
        weights = self._counts.double() * per_pixel * (distinct / population)
        return weights.to(errors.device, errors.dtype)

    def observe(self, feedback: StepFeedback) -> None:
        """Store each member's drift grad log L / k (pixel units) and corrected loss."""
        assert feedback.coord_grad is not None  # the trainer hands it: wants_coord_grad
        grad = feedback.coord_grad.detach().cpu().double()  # (distinct, 2) in (x, y) in [-1, 1]
        # (distinct,) L, uncorrected: the fit's loss per coordinate (the MSE's squared error)
        loss = feedback.loss.values(feedback.errors).cpu().double()
        # coordinates are (x, y) = (-1 + 2 c / (W - 1), -1 + 2 r / (H - 1)): chain rule to pixels
        per_pixel = torch.stack(
            [grad[:, 1] * 2 / (self.height - 1), grad[:, 0] * 2 / (self.width - 1)], dim=1
        )
        per_member = (per_pixel / self._counts[:, None])[self._inverse]  # = c dL / (k dp)
        corr = self._corr if self._corr is not None else torch.ones(self._inverse.numel())
        member_loss = corr * loss[self._inverse]
        # released: the public code divides by c times its already corrected loss, c^2 L
        divisor = member_loss * corr if self.drift == "released" else member_loss
        self._drift = per_member / (divisor[:, None] + torch.finfo(torch.float32).eps)
        self._member_loss = member_loss

    def config(self) -> dict[str, Any]:
        return {
            **super().config(),
            "langevin_step": self.langevin_step,
            "langevin_noise": self.langevin_noise,
            "uniform_share": self.uniform_share,
            "redraw_share": self.redraw_share,
            "correction_max": self.correction_max,
            "correction_ramp": self.correction_ramp,
            "drift": self.drift,
        }
