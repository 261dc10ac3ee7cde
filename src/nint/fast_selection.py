"""The opt-in fast selection of INT and NINT: ``selection="fast"`` (``--selection fast``).

Exact INT and NINT rank all N coordinates by an error from a full no-grad forward at every
selection, and NINT adds full-signal NTK products during its first iterations. On a CPU that
forward costs more than the training step on 20 % of the coordinates, so the exact methods need
the fewest iterations of any strategy yet lose on the clock to uniform sampling
(docs/speed.md). The fast mode keeps the method's three parts and their counts and changes only
how the error part and the NTK scores are computed:

1. **Candidates.** The sampler keeps an estimate e (N,) of each coordinate's error: the value it
   had when last measured. At a selection that needs n error coordinates, only the
   m = ceil(c n) coordinates with the largest estimates (c = ``candidates``, 3 by default) are
   forwarded at the current weights; the error part is the top n of those by that fresh error,
   and their estimates are overwritten with it. Coordinates just trained on are re-measured this
   way before they can be chosen again, so they are not re-selected on their errors from before
   the update, as they can be with the stale residuals of ``residual_every``.
2. **Refreshes.** e is set from a full pass at the first selection, every ``refresh_every``
   selections (20) and at every NTK scoring; and NINT's uniformly drawn part of each batch
   patches e with the training step's own errors of those rows (at the weights before that
   step's update), at no cost.
3. **Reduced precision.** The full passes, the candidate passes and the NTK product run in
   bfloat16 where the hardware computes it natively (``precision="auto"``: CUDA devices with
   bfloat16 support, CPUs with the avx512_bf16 or amx_bf16 instructions), else in float32.
   The copy is the one the model declares (``nint.models.scorer_copy``; a SIREN keeps its first
   layer in float32: bfloat16's 8-bit mantissa would merge neighbouring coordinates), made once
   per fit and refreshed from the float32 weights at each selection (``ReducedCopy``). A model
   that declares no copy is scored in float32. Errors and scores are returned as float32; the model
   trains in float32 as always.
4. **Fewer NTK scorings (NINT).** The NTK cut-off defaults to 0.02 instead of 1e-3, so NINT
   stops scoring once the NTK part would hold less than 2 % of the batch: with the paper's
   schedule it scores at iterations 0, 10 and 20 instead of 0, 10, ..., 50 (at 128 x 128 the
   scorings at 40 and 50 served NTK parts of 18 and 6 coordinates in a 3,277-point batch).

This CHANGES WHAT IS SELECTED and is not the paper's method or the released code's: plain
``nint`` and ``int`` stay exact, and ``nint bench --preset paper`` runs them exact. How much of
the exact selection the fast mode keeps is measured by ``selection_overlap`` and reported in
docs/deviations.md. Everything is deterministic for a seed on a given machine; ``auto`` may pick
a different precision on another machine, and the run's summary notes which one ran.

On signals whose coordinates are redrawn every iteration (3D shapes) no estimate describes the
new points, so every selection runs the full pass, in reduced precision: there the fast mode
saves only what the precision saves.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import torch
from torch import nn

from .checks import Range, check_float
from .errors import NintError
from .models import predict, scorer_copy
from .ntk import kernel_residual_product
from .options import Option
from .residuals import Frame, GradientFn, ResidualSource, StepFeedback

SELECTIONS = ("exact", "fast")
PRECISIONS = ("auto", "float32", "bfloat16")
DEFAULT_CANDIDATES = 3.0
DEFAULT_REFRESH_EVERY = 20
#: NINT's NTK cut-off in fast mode (the paper's is 1e-3)
FAST_NTK_CUTOFF = 0.02

AT_LEAST_ONE = Range(1.0)

#: the options INT and NINT declare for the fast mode
OPTIONS = (
    Option("selection", "exact (default, the paper's) or fast (approximate)", str,
           choices=SELECTIONS),
    Option("candidates", "fast: candidates per error coordinate (3)", allowed=AT_LEAST_ONE),
    Option("refresh_every", "fast: full pass every this many selections (20)", int,
           allowed=AT_LEAST_ONE),
    Option("precision", "fast: precision of the selection passes (auto)", str,
           choices=PRECISIONS),
)  # fmt: skip


@lru_cache(maxsize=1)
def _cpu_flags() -> frozenset[str]:
    """The CPU's feature flags from /proc/cpuinfo (empty where there is none)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


def native_bfloat16(device: torch.device) -> bool:
    """Whether ``device`` computes bfloat16 matrix products natively (so they are faster than
    float32 there, not emulated and slower)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return bool({"avx512_bf16", "amx_bf16"} & _cpu_flags())


def resolve_precision(name: str, device: torch.device) -> torch.dtype:
    """The dtype of the selection passes for ``precision`` name on ``device``."""
    if name == "auto":
        return torch.bfloat16 if native_bfloat16(device) else torch.float32
    if name == "bfloat16":
        return torch.bfloat16
    if name == "float32":
        return torch.float32
    raise NintError(f"unknown precision {name!r}; choose from {', '.join(PRECISIONS)}")


class Scorer(NamedTuple):
    """What the selection passes run instead of the fit's model: a reduced-precision copy, the
    inputs to give it ((N, D) coordinates, cast where the copy needs it) and its output dtype."""

    model: nn.Module
    inputs: torch.Tensor
    dtype: torch.dtype


class ReducedCopy:
    """One reduced-precision copy of the fit's model, made at the first selection and refreshed
    from the float32 weights (``copy_``, no new allocation) at every later selection that uses it.

    Args:
        dtype: the copy's precision (bfloat16).
        copy: the copy, if already made (``nint.models.scorer_copy``); else made at the first
            ``scorer`` call.
    """

    def __init__(self, dtype: torch.dtype, copy: nn.Module | None = None) -> None:
        self.dtype = dtype
        self.model: nn.Module | None = copy
        self._refreshed = copy is not None  # a copy made just now holds the current weights

    def scorer(self, model: nn.Module, coords: torch.Tensor) -> Scorer:
        """The copy at ``model``'s current weights, with ``coords`` as its inputs; ``model``
        must declare one (``nint.models.scorer_copy``)."""
        if self.model is None:
            self.model = scorer_copy(model, self.dtype)
            if self.model is None:
                raise NintError(f"{type(model).__name__} offers no reduced-precision copy")
        elif self._refreshed:
            self._refreshed = False
        else:
            with torch.no_grad():
                for mine, theirs in zip(self.model.parameters(), model.parameters(), strict=True):
                    mine.copy_(theirs)
        return Scorer(self.model, coords, self.dtype)


def fast_source(
    selection: str,
    candidates: float | None,
    refresh_every: int | None,
    precision: str | None,
    *,
    norm: str,
    strategy: str,
) -> FastResiduals | None:
    """The residual source for a strategy's fast-mode options (None: exact, the fit's default
    source), refusing options that would be silently ignored.

    Args:
        norm: the strategy's error norm, which the estimate ranks by.
        strategy: the strategy's name, for the run's note.
    """
    if selection not in SELECTIONS:
        raise NintError(f"unknown selection {selection!r}; choose from {', '.join(SELECTIONS)}")
    given = {
        "candidates": candidates, "refresh_every": refresh_every, "precision": precision,
    }  # fmt: skip
    if selection == "exact":
        named = [name for name, value in given.items() if value is not None]
        if named:
            raise NintError(f"{', '.join(named)} applies only to selection='fast'")
        return None
    return FastResiduals(
        DEFAULT_CANDIDATES if candidates is None else candidates,
        DEFAULT_REFRESH_EVERY if refresh_every is None else refresh_every,
        precision or "auto",
        norm=norm,
        strategy=strategy,
    )


class FastResiduals(ResidualSource):
    """The fast mode's residual source: an error estimate, candidate passes, reduced precision.

    Args:
        candidates: c >= 1, coordinates forwarded per error coordinate chosen.
        refresh_every: a full pass every this many selections (>= 1).
        precision: "auto", "float32" or "bfloat16".
        norm: the error norm the estimate is kept in (its strategy's ``error_norm``; the
            ``norm`` a selection passes to ``error_part`` is that same one).
        strategy: the strategy's name, for the run's note.
        gradient: as for ``ResidualSource``.
    """

    name = "fast"

    def __init__(
        self,
        candidates: float,
        refresh_every: int,
        precision: str,
        *,
        norm: str = "l2",
        strategy: str = "nint",
        gradient: GradientFn | None = None,
    ) -> None:
        super().__init__(gradient)
        check_float(candidates, "candidates", AT_LEAST_ONE)
        if (
            isinstance(refresh_every, bool)
            or int(refresh_every) != refresh_every
            or refresh_every < 1
        ):
            raise NintError(f"refresh_every must be an integer >= 1, got {refresh_every!r}")
        if precision not in PRECISIONS:
            raise NintError(f"unknown precision {precision!r}; choose from {', '.join(PRECISIONS)}")
        self.candidates = float(candidates)
        self.refresh_every = int(refresh_every)
        self.precision = precision
        self.norm = norm
        self.strategy = strategy
        #: the dtype that ran (resolved at the first selection, on the fit's device)
        self.dtype: torch.dtype | None = None
        self._copy: ReducedCopy | None = None
        #: (N,) last measured error per coordinate; None before the first full pass
        self.estimate: torch.Tensor | None = None
        self._since_full = 0
        self.full_passes = 0
        self.candidate_passes = 0

    def config(self) -> dict[str, object]:
        return {
            "candidates": self.candidates,
            "refresh_every": self.refresh_every,
            "precision": self.precision,
        }

    def scorer(self, frame: Frame) -> Scorer | None:
        """This selection's reduced-precision copy of the model (None: float32, the fit's own
        model), its weights refreshed once per selection."""
        if self.dtype is None:
            dtype = resolve_precision(self.precision, frame.coords.device)
            copy = None if dtype == frame.coords.dtype else scorer_copy(frame.model, dtype)
            # a model that declares no copy is scored in float32 by its own forward
            self.dtype = frame.coords.dtype if copy is None else dtype
            self._copy = None if copy is None else ReducedCopy(dtype, copy)
        if self._copy is None:
            return None
        if "scorer" not in frame.cache:
            frame.cache["scorer"] = self._copy.scorer(frame.model, frame.coords)
        return frame.cache["scorer"]

    def full_residual(self, frame: Frame) -> torch.Tensor:
        """(N, C) residual from a full pass in the fast precision; refreshes the estimate (once
        per selection: ``residual`` caches it on the frame)."""
        scorer = self.scorer(frame)
        if scorer is None:
            residual = super().full_residual(frame)
        else:
            with frame.timer.measure("residual"):
                prediction = predict(scorer.model, scorer.inputs, frame.forward_chunk)
                residual = prediction.to(frame.targets.dtype) - frame.targets
        self.estimate = frame.loss.error_scores(residual, self.norm).clone()
        self._since_full = 0
        self.full_passes += 1
        return residual

    def kernel_residual(self, frame: Frame) -> torch.Tensor:
        """(N, C) K g in the fast precision, g the loss gradient of this selection's full pass
        (which refreshes the estimate)."""
        gradient = self.loss_gradient(frame)
        scorer = self.scorer(frame)
        if scorer is None:
            return super().kernel_residual(frame)
        with frame.timer.measure("ntk"):
            product = kernel_residual_product(
                scorer.model, scorer.inputs, gradient.to(scorer.dtype), frame.ntk_chunk_size
            )
            return product.to(gradient.dtype)

    def error_part(
        self, frame: Frame, n: int, norm: str, exclude: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The n coordinates of the error part (fewer if fewer are available), see the module
        docstring; ``exclude`` (N,) bool masks coordinates already chosen."""
        due = self.estimate is None or frame.fresh or self._since_full >= self.refresh_every
        if due or "residual" in frame.cache:  # the full pass is due or already ran
            self.residual(frame)
            assert self.estimate is not None
            chosen = frame.top_k(self.estimate, n, exclude=exclude)
        else:
            chosen = self.between_full_passes(frame, n, exclude)
        self._since_full += 1
        if frame.fresh:
            self.estimate = None  # it described this draw's points only
        return chosen

    def between_full_passes(
        self, frame: Frame, n: int, exclude: torch.Tensor | None
    ) -> torch.Tensor:
        """The error part at a selection without a full pass: the top n of the ``candidates`` x n
        coordinates with the largest estimates, re-measured now (their estimates updated).
        ``benchmarks/selection_variants.py`` overrides this to try other rules."""
        pool, fresh = self.remeasure_top(frame, math.ceil(self.candidates * n), exclude)
        return pool[torch.topk(fresh, min(n, pool.numel())).indices]

    def remeasure_top(
        self, frame: Frame, m: int, exclude: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The m coordinates with the largest estimates (not in ``exclude``) and their errors
        (m,) re-measured at the current weights, which overwrite their estimates."""
        assert self.estimate is not None
        pool = frame.top_k(self.estimate, m, exclude=exclude)
        fresh = frame.loss.error_scores(self.rows_residual(frame, pool), self.norm)
        self.estimate[pool] = fresh
        self.candidate_passes += 1
        return pool, fresh

    def rows_residual(self, frame: Frame, rows: torch.Tensor) -> torch.Tensor:
        """(k, C) residual of the coordinates ``rows`` (k,) at the current weights, from a
        no-grad forward over those rows only, in the fast precision."""
        scorer = self.scorer(frame)
        model, inputs = (frame.model, frame.coords) if scorer is None else scorer[:2]
        with frame.timer.measure("residual"):
            prediction = predict(model, inputs[rows], frame.forward_chunk)
            return prediction.to(frame.targets.dtype) - frame.targets[rows]

    def observe(self, feedback: StepFeedback) -> None:
        """Patch the estimate with the training step's errors of the selection's uniformly drawn
        part (``parts["random"]``, NINT's), scored as the selection scores them; rows chosen
        for their error are re-measured before they can be chosen again instead."""
        drawn = feedback.parts.get("random")
        if self.estimate is None or drawn is None or not drawn.numel():
            return
        trained = torch.isin(feedback.indices, drawn)  # (k,) the drawn rows of the batch
        rows, errors = feedback.indices[trained], feedback.errors[trained]
        self.estimate[rows] = feedback.loss.error_scores(errors, self.norm).to(self.estimate.dtype)

    def notes(self) -> list[str]:
        """One line for the run's summary: what ran instead of the exact selection."""
        dtype = str(self.dtype).removeprefix("torch.") if self.dtype else "no pass ran"
        return [
            f"fast selection ({self.strategy} selection='fast', not the paper's exact method): "
            f"{self.full_passes} full passes, {self.candidate_passes} candidate passes of "
            f"{self.candidates:g}x the error part, in {dtype} (precision={self.precision})"
        ]


def selection_overlap(chosen: torch.Tensor, reference: torch.Tensor) -> float:
    """|chosen ∩ reference| / |reference|: how much of an exact selection a faster one keeps
    (1.0 for an empty reference)."""
    if reference.numel() == 0:
        return 1.0
    common = torch.isin(reference, chosen.to(reference.device)).sum().item()
    return common / reference.numel()
