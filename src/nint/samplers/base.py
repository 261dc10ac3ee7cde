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
from typing import TYPE_CHECKING, Any, ClassVar

import torch
from torch import nn

from .. import select
from ..checks import RATIO, check_float, check_seed
from ..errors import NintError
from ..losses import MSE, Loss
from ..options import Option
from ..residuals import ResidualSource, StepFeedback
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


class SelectionContext:
    """One selection's inputs, and the expensive answers a strategy may ask of them.

    A context is built for each selection and dropped after it, so whatever it caches belongs to
    that selection alone. Residuals, error parts and NTK products come from the fit's residual
    source (``nint.residuals``: exact, stale, fast, or the caller's own gradient); a strategy asks
    the context and never knows which source answers.

    Args:
        model: the network being trained.
        coords: (N, D) all coordinates of the signal (this process's, if sharded).
        targets: (N, C) all target values.
        progress: training progress t / T in [0, 1] (iterations or training-clock seconds).
        source: the residual source; default the exact one.
        timer: where the residual pass and NTK scoring are charged ("residual", "ntk").
        forward_chunk: coordinates per chunk of the no-grad residual pass (None: all at once).
        ntk_chunk_size: coordinates per chunk of the VJP/JVP (None: all at once).
        fresh: the coordinates were redrawn for this iteration (signals with ``fresh_points``):
            anything a sampler cached per index at earlier iterations describes other points.
        shard: in a sharded fit (``nint.distributed``), this rank's slice of the coordinates:
            ``coords``, ``targets``, the residual and the NTK product then cover that slice
            only, while selections stay global indices in [0, N) (see ``top_k``).
        loss: the fit's loss (``nint.losses``; default the MSE). ``residual()`` is always
            f(x) - y; K multiplies the loss gradient and error parts rank by
            ``loss.error_scores``, which under the MSE are what the papers compute.
    """

    def __init__(
        self,
        model: nn.Module,
        coords: torch.Tensor,
        targets: torch.Tensor,
        progress: float,
        *,
        source: ResidualSource | None = None,
        timer: PartTimer | None = None,
        forward_chunk: int | None = None,
        ntk_chunk_size: int | None = None,
        fresh: bool = False,
        shard: Shard | None = None,
        loss: Loss = MSE,
    ) -> None:
        self.model = model
        self.coords = coords
        self.targets = targets
        self.progress = progress
        self.source = source or ResidualSource()
        self.timer = timer or PartTimer(coords.device)
        self.forward_chunk = forward_chunk
        self.ntk_chunk_size = ntk_chunk_size
        self.fresh = fresh
        self.shard = shard
        self.loss = loss
        #: this selection's results (the residual, the fast mode's copy), filled by the source
        self.cache: dict[str, Any] = {}

    @property
    def n_points(self) -> int:
        """N, the number of coordinates of the whole signal (all shards)."""
        return self.coords.shape[0] if self.shard is None else self.shard.n_points

    def residual(self) -> torch.Tensor:
        """(N, C) residual f(x) - y over all coordinates (once per selection)."""
        return self.source.residual(self)

    def error_part(self, n: int, norm: str, exclude: torch.Tensor | None = None) -> torch.Tensor:
        """Global indices of the n coordinates with the largest errors (``norm`` over channels
        under the MSE, the loss value under another loss); ``exclude`` (N,) bool masks
        coordinates already chosen."""
        return self.source.error_part(self, n, norm, exclude)

    def kernel_residual(self) -> torch.Tensor:
        """(N, C) K g at the current weights: the NTK times the loss gradient with respect to
        the output (for the MSE the residual itself)."""
        return self.source.kernel_residual(self)

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
    #: True: ``observe`` uses the training step's feedback (the trainer hands it every step)
    wants_feedback: ClassVar[bool] = False
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
        own = self.residual_source()
        if own is not None and ctx.source is not own:
            # e.g. selection="fast" with a context built by hand on the exact source
            raise NintError(
                f"strategy {self.name!r} runs on its own residual source ({own.name}): build "
                f"the context with source=sampler.residual_source(), or use nint.Teacher"
            )
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
        (``error_part``, ``residual()``, ``kernel_residual()``, ``top_k``); randomness from
        ``self.generator``.
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

    def residual_source(self) -> ResidualSource | None:
        """The residual source this strategy's own options ask for (INT's and NINT's
        ``selection="fast"``); None: the fit's (exact, or ``residual_every``'s)."""
        return None

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
