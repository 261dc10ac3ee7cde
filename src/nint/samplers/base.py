"""The sampler contract and the context through which a sampler asks the trainer for work.

A sampler is a small stateful object. ``select(step, ctx)`` returns an int64 index tensor of the
coordinates to train on at this iteration; it never gathers data. Expensive inputs (a no-grad
forward over all N coordinates, the NTK-weighted residual) are requested through ``ctx`` and
computed lazily, so a strategy that never asks (``uniform``) never pays for them, and iterations
that reuse the last subset (sampling intervals) pay for nothing. Each sampler owns a
``torch.Generator`` seeded from the run seed and never touches the global RNG.
"""

from __future__ import annotations

import copy
import inspect
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import torch
from torch import nn

from .. import select
from ..checks import RATIO, check_float, check_seed
from ..errors import NintError
from ..losses import MSE, Loss
from ..models import predict
from ..ntk import kernel_residual_product
from ..options import Option
from ..schedules import (
    INTERVALS,
    SCHEDULERS,
    batch_ratio,
    check_interval,
    check_scheduler,
    sampling_interval,
)
from ..select import count_for_ratio
from ..timing import PartTimer

if TYPE_CHECKING:
    from ..distributed import Shard
    from ..fast_selection import Scorer
    from ..residuals import StaleResiduals


class SelectionContext:
    """Lazily computed, timed inputs for one selection.

    Args:
        model: the network being trained.
        coords: (N, D) all coordinates of the signal.
        targets: (N, C) all target values.
        progress: training progress t / T in [0, 1] (iterations or training-clock seconds).
        timer: where the residual pass and NTK scoring are charged ("residual", "ntk").
        forward_chunk: coordinates per chunk of the no-grad residual pass (None: all at once).
        ntk_chunk_size: coordinates per chunk of the VJP/JVP (None: all at once).
        fresh: the coordinates were redrawn for this iteration (signals with ``fresh_points``):
            anything a sampler cached per index at earlier iterations describes other points.
        shard: in a sharded fit (``nint.distributed``), this rank's slice of the coordinates:
            ``coords``, ``targets``, the residual and the NTK product then cover that slice
            only, while selections stay global indices in [0, N) (see ``top_k``).
        stale: the opt-in ``residual_every`` (``nint.residuals``): when given, ``residual()``
            runs the full pass only when it is due and otherwise returns the patched last one.
        loss: the fit's loss (``nint.losses``; default the MSE). ``residual()`` is always
            f(x) - y; a sampler hands ``loss.gradient(residual)`` to ``kernel_residual`` and ranks
            errors by ``loss.error_scores`` (or ``loss.values``), which under the MSE are what
            the papers compute.
    """

    #: the MSE unless given (also for subclasses that skip ``__init__``, as test stand-ins do)
    loss: Loss = MSE

    def __init__(
        self,
        model: nn.Module,
        coords: torch.Tensor,
        targets: torch.Tensor,
        progress: float,
        timer: PartTimer | None = None,
        forward_chunk: int | None = None,
        ntk_chunk_size: int | None = None,
        fresh: bool = False,
        shard: Shard | None = None,
        stale: StaleResiduals | None = None,
        loss: Loss = MSE,
    ) -> None:
        self.model = model
        self.coords = coords
        self.targets = targets
        self.progress = progress
        self.timer = timer or PartTimer(coords.device)
        self.forward_chunk = forward_chunk
        self.ntk_chunk_size = ntk_chunk_size
        self.fresh = fresh
        self.shard = shard
        self.stale = stale
        self.loss = loss
        self._residual: torch.Tensor | None = None
        self._scored_residual: torch.Tensor | None = None

    @property
    def n_points(self) -> int:
        """N, the number of coordinates of the whole signal (all shards)."""
        return self.coords.shape[0] if self.shard is None else self.shard.n_points

    def residual(self, scorer: Scorer | None = None) -> torch.Tensor:
        """(N, C) residual f(x) - y over all coordinates, from one no-grad forward (cached).

        Args:
            scorer: a model and inputs to forward instead of the fit's model and coordinates:
                the fast selection's reduced-precision copy (``nint.fast_selection.Scorer``);
                the residual is still returned in the targets' dtype. None: the exact pass.
        """
        if scorer is not None:
            if self._scored_residual is None:
                with self.timer.measure("residual"):
                    prediction = predict(scorer.model, scorer.inputs, self.forward_chunk)
                    self._scored_residual = prediction.to(self.targets.dtype) - self.targets
            return self._scored_residual
        if self._residual is None:
            if self.stale is None:
                self._residual = self._full_residual()
            else:
                self._residual = self.stale.take(self._full_residual)
        return self._residual

    def _full_residual(self) -> torch.Tensor:
        with self.timer.measure("residual"):
            return predict(self.model, self.coords, self.forward_chunk) - self.targets

    def residual_at(self, rows: torch.Tensor, scorer: Scorer | None = None) -> torch.Tensor:
        """(k, C) residual of the coordinates ``rows`` (k,) at the current weights, from a
        no-grad forward over those rows only (the fast selection's candidates); ``scorer`` as
        for ``residual``. Not for sharded fits: ``rows`` index this context's coordinates."""
        model, inputs = (self.model, self.coords) if scorer is None else scorer[:2]
        with self.timer.measure("residual"):
            prediction = predict(model, inputs[rows], self.forward_chunk)
            return prediction.to(self.targets.dtype) - self.targets[rows]

    def kernel_residual(self, residual: torch.Tensor, scorer: Scorer | None = None) -> torch.Tensor:
        """(N, C) NTK-weighted residual K r at the current weights (exact, chunked).

        Args:
            residual: (N, C) r, the vector K multiplies: the loss gradient
                ``self.loss.gradient(f(x) - y)``, which for the MSE is f(x) - y itself.
            scorer: the model and inputs whose J defines K instead of the fit's (the fast
                selection's reduced-precision copy); K r is returned in the residual's dtype.
                None: the exact product.
        """
        if scorer is not None:
            with self.timer.measure("ntk"):
                product = kernel_residual_product(
                    scorer.model, scorer.inputs, residual.to(scorer.dtype), self.ntk_chunk_size
                )
                return product.to(residual.dtype)
        with self.timer.measure("ntk"):
            return kernel_residual_product(
                self.model,
                self.coords,
                residual,
                self.ntk_chunk_size,
                reduce=None if self.shard is None else self.shard.all_reduce_sum,
            )

    def top_k(
        self, scores: torch.Tensor, k: int, exclude: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Global indices of the k largest scores (``select.top_k``), across shards if sharded.

        Args:
            scores: per-coordinate scores of the coordinates this context holds.
            exclude: (N,) bool mask over all N coordinates.
        """
        if self.shard is None:
            return select.top_k(scores, k, exclude=exclude)
        return self.shard.top_k(scores, k, exclude=exclude)


@dataclass
class StepFeedback:
    """What the training step tells a sampler that asked for it (``wants_feedback``).

    Attributes:
        indices: (k,) the coordinates trained on.
        errors: (k, C) f(x) - y of the step's own forward, detached (before the update).
        coord_grad: (k, D) gradient of the step's loss with respect to those coordinates, when
            the sampler set ``wants_coord_grad``; else None.
        loss: the fit's loss (``nint.losses``), for samplers that turn errors into loss values.
    """

    indices: torch.Tensor
    errors: torch.Tensor
    coord_grad: torch.Tensor | None = None
    loss: Loss = MSE


class Sampler:
    """Base class: batch-ratio schedule, sampling interval, generator and state.

    Subclasses implement ``choose(step, k, ctx)`` returning k distinct indices, declare their
    name, display name, needs and options as class attributes, and are registered with
    ``nint.samplers.register``. The base class decides when a new subset is chosen (sampling
    interval; in between the last subset is reused) and how many coordinates it has
    (k = floor(r_t N) with r_t from the batch-ratio scheduler).

    Args:
        n_points: N, the number of coordinates of the signal.
        ratio: starting batch ratio r_0 in (0, 1].
        scheduler: "constant", "linear" or "step".
        interval: "dense", "dense2", "incremental" or "decremental".
        dense2_every: the period of "dense2" (2 in the paper; the released code used 5).
        seed: seeds the sampler's own generator.
    """

    #: the name used on the command line, in run folders and in ``SAMPLERS``
    name: ClassVar[str] = ""
    #: the name in tables and figures (the paper's: "Stand.", "NINT", ...)
    display_name: ClassVar[str] = ""
    #: the options this class adds, for the command line (its base classes' come too)
    options: ClassVar[tuple[Option, ...]] = (
        Option("ratio", "batch ratio B in (0, 1] (0.2; meshes 0.4)", allowed=RATIO),
        Option("scheduler", "batch-ratio scheduler (constant)", str, choices=SCHEDULERS),
        Option("interval", "sampling interval (dense)", str, choices=INTERVALS),
        Option("dense2_every", "period of the dense2 interval (2)", int),
    )
    #: what the strategy asks the trainer for, for documentation and the run's config
    uses: ClassVar[tuple[str, ...]] = ()
    #: True: the strategy needs an image's pixel grid (``Signal.raster``), so images only
    needs_image: ClassVar[bool] = False
    #: True: the trainer calls ``loss_weights`` with the step's own errors
    reweights: ClassVar[bool] = False
    #: True: the trainer calls ``observe`` after each training step (not a ClassVar: an
    #: instance may turn it on, as INT's and NINT's fast selection does)
    wants_feedback: bool = False
    #: True: that feedback includes the loss gradient with respect to the chosen coordinates
    wants_coord_grad: ClassVar[bool] = False
    #: False: a selection may hold fewer than k indices (duplicates merged, see Soft Mining)
    exact_count: ClassVar[bool] = True
    #: True: the strategy's state is tied to fixed coordinates (EVOS's cached fitness), so on a
    #: signal with fresh points every iteration the trainer keeps one draw for the whole fit
    needs_fixed_points: ClassVar[bool] = False
    #: True: the strategy selects through ``ctx.top_k`` and global masks only, so a sharded fit
    #: (torchrun) selects exactly what one process would; an instance may turn it off
    shardable: bool = False
    _state_attrs: ClassVar[tuple[str, ...]] = ("_last", "_last_step", "parts")

    def __init__(
        self,
        n_points: int,
        *,
        ratio: float = 0.2,
        scheduler: str = "constant",
        interval: str = "dense",
        dense2_every: int = 2,
        seed: int = 0,
    ) -> None:
        if n_points < 1:
            raise NintError(f"a signal needs at least one coordinate, got {n_points}")
        check_float(ratio, "the batch ratio", RATIO)
        if dense2_every < 1:
            raise NintError(f"dense2 period must be at least 1, got {dense2_every}")
        self.n_points = n_points
        self.ratio = float(ratio)
        self.scheduler = check_scheduler(scheduler)
        self.interval = check_interval(interval)
        self.dense2_every = int(dense2_every)
        self.seed = check_seed(seed)
        self.generator = torch.Generator().manual_seed(self.seed)
        self._last: torch.Tensor | None = None
        self._last_step = -1
        #: the last selection split by part (e.g. "ntk", "error", "random"), for pictures
        self.parts: dict[str, torch.Tensor] = {}

    @classmethod
    def takes_raster(cls) -> bool:
        """Whether the constructor takes the signal's image (``raster=``)."""
        return "raster" in inspect.signature(cls.__init__).parameters

    @property
    def last_indices(self) -> torch.Tensor | None:
        """The indices of the last selection (None before the first)."""
        return self._last

    def batch_size(self, progress: float) -> int:
        return count_for_ratio(batch_ratio(self.scheduler, self.ratio, progress), self.n_points)

    def select(self, step: int, ctx: SelectionContext) -> torch.Tensor:
        """Indices to train on at iteration ``step``: (k,) int64, distinct, in [0, N)."""
        if self._last is not None:
            period = sampling_interval(self.interval, ctx.progress, self.dense2_every)
            if step - self._last_step < period:
                return self._last
        idx = self.choose(step, self.batch_size(ctx.progress), ctx)
        self._last, self._last_step = idx, step
        return idx

    def choose(self, step: int, k: int, ctx: SelectionContext) -> torch.Tensor:
        """The strategy itself: (k,) int64 distinct indices in [0, N) to train on at ``step``.

        Called by ``select`` only when a new subset is due. Expensive inputs come from ``ctx``
        (``residual()``, ``kernel_residual(r)``, ``top_k``); randomness from ``self.generator``.
        """
        raise NotImplementedError

    def loss_weights(self, errors: torch.Tensor) -> torch.Tensor:
        """(k,) weights of the chosen coordinates' losses, for ``reweights`` samplers.

        Called inside the training step with that step's own errors f(x) - y, (k, C), detached,
        so a re-weighting that depends on the current error costs no extra forward. The loss is
        then mean over coordinates and channels of w_i l(f(x_i) - y_i), with l the fit's loss
        per element (the MSE's (f - y)^2 by default, ``nint.losses``).
        """
        raise NotImplementedError

    def observe(self, feedback: StepFeedback) -> None:
        """Receive the training step's errors (and coordinate gradients), for ``wants_feedback``
        samplers such as Soft Mining, whose next positions follow the last step's gradients."""

    def notes(self) -> list[str]:
        """Lines for the run summary's notes: what this fit's selection did that a reader of the
        table should know (e.g. the approximate fast selection). None by default."""
        return []

    def config(self) -> dict[str, Any]:
        """The resolved settings, as written to a run's config."""
        return {
            "strategy": self.name,
            "ratio": self.ratio,
            "scheduler": self.scheduler,
            "interval": self.interval,
            "dense2_every": self.dense2_every,
            "seed": self.seed,
            "uses": list(self.uses),
        }

    def state_dict(self) -> dict[str, Any]:
        state = {name: copy.deepcopy(getattr(self, name)) for name in self._state_attrs}
        state["generator"] = self.generator.get_state()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for name in self._state_attrs:
            setattr(self, name, copy.deepcopy(state[name]))
        self.generator.set_state(state["generator"])
