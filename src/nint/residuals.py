"""Residual sources: where a selection's errors and the vector K multiplies come from.

Error-guided strategies ask one question three ways: which coordinates have the largest error
(``error_part``), what is every coordinate's residual r = f(x) - y (``residual``), and what is
K g, the NTK times the loss gradient with respect to the output (``kernel_residual``). A residual
source answers them; the strategies and the training loop never know which source runs:

=======================  ==================================================================
source                   answers from
=======================  ==================================================================
``ResidualSource()``     one exact no-grad forward over all N coordinates (the papers')
``StaleResiduals(m)``    the exact forward every m-th selection, patched in between with
                         the training steps' own errors (opt-in ``residual_every``)
``FastResiduals``        re-measured candidates, reduced precision (``nint.fast_selection``)
any of them with         the caller's own loss gradient dL/df in place of the loss's
``gradient=fn``          (rendering losses, eikonal terms): ``fn(prediction, targets)``
=======================  ==================================================================

A source keeps what must survive between selections (the stale residual, the fast mode's error
estimate); whatever belongs to one selection is cached on that selection's frame
(``Frame.cache``), which is built anew for every selection, so nothing computed for one step is
served at the next. After each training step the loop hands the step's errors to ``observe``.

Nothing here imports the samplers: a source sees a selection only through the ``Frame``
protocol, which ``nint.samplers.SelectionContext`` satisfies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import torch
from torch import nn

from .errors import NintError
from .losses import MSE, Loss
from .models import predict
from .ntk import kernel_residual_product

if TYPE_CHECKING:
    from .distributed import Shard
    from .timing import PartTimer

#: ``gradient(prediction, targets) -> dL/df``, all (N, C): the caller's own loss gradient
GradientFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class Frame(Protocol):
    """One selection's inputs, as a source reads them (``nint.samplers.SelectionContext``)."""

    model: nn.Module
    coords: torch.Tensor  # (N, D), this process's coordinates
    targets: torch.Tensor  # (N, C)
    loss: Loss
    timer: PartTimer
    forward_chunk: int | None
    ntk_chunk_size: int | None
    fresh: bool  # the coordinates were redrawn for this selection
    shard: Shard | None
    cache: dict[str, Any]  # this selection's results; empty at its start

    def top_k(
        self, scores: torch.Tensor, k: int, exclude: torch.Tensor | None = None
    ) -> torch.Tensor: ...


@dataclass
class StepFeedback:
    """What a training step tells the residual source and the strategy, after its update.

    Attributes:
        indices: (k,) the global indices trained on (the selection).
        errors: (k', C) f(x) - y of the step's own forward at ``rows``, detached, from before
            the update.
        coord_grad: (k', D) gradient of the step's loss with respect to those coordinates, for
            strategies that ask for it (``Sampler.wants_coord_grad``); else None.
        loss: the fit's loss (``nint.losses``), for turning errors into loss values.
        rows: (k',) the rows of this process's coordinates trained on (``indices`` itself
            unless the fit is sharded); None: ``indices``.
        parts: the selection's parts by name (``Sampler.parts``), global indices.
    """

    indices: torch.Tensor
    errors: torch.Tensor
    coord_grad: torch.Tensor | None = None
    loss: Loss = MSE
    rows: torch.Tensor | None = None
    parts: dict[str, torch.Tensor] = field(default_factory=dict)

    @property
    def local_rows(self) -> torch.Tensor:
        return self.indices if self.rows is None else self.rows


class ResidualSource:
    """The exact source: one no-grad forward over all coordinates per selection, and the exact
    K g. Other sources override what they compute differently.

    Args:
        gradient: the caller's loss gradient, ``gradient(prediction (N, C), targets (N, C))``
            returning dL/df (N, C); K multiplies it instead of the fit loss's gradient. The
            error parts still rank coordinates by the fit's loss (``Loss.error_scores``), since
            a gradient alone does not say which coordinate is worst (L1's has the same size
            everywhere). None: the loss's own gradient (for the MSE, r itself).
    """

    #: the name in the run's config and notes
    name = "exact"

    def __init__(self, gradient: GradientFn | None = None) -> None:
        self.gradient_fn: GradientFn | None = None
        self.use_gradient(gradient)

    def use_gradient(self, gradient: GradientFn | None) -> None:
        """Multiply K with the caller's ``gradient`` from now on (None: the loss's own)."""
        if gradient is not None and not callable(gradient):
            raise NintError(
                f"gradient must be a function (prediction, targets) -> dL/df, got a "
                f"{type(gradient).__name__}"
            )
        self.gradient_fn = gradient

    # -- what a selection asks for ------------------------------------------------------------

    def residual(self, frame: Frame) -> torch.Tensor:
        """(N, C) r = f(x) - y over all coordinates, once per selection."""
        if "residual" not in frame.cache:
            frame.cache["residual"] = self.full_residual(frame)
        return frame.cache["residual"]

    def error_scores(self, frame: Frame, norm: str) -> torch.Tensor:
        """(N,) what an error part ranks by (``Loss.error_scores`` of the residual)."""
        return frame.loss.error_scores(self.residual(frame), norm)

    def error_part(
        self, frame: Frame, n: int, norm: str, exclude: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Global indices of the n coordinates with the largest errors (fewer if fewer are
        available); ``exclude`` (N,) bool masks coordinates already chosen."""
        return frame.top_k(self.error_scores(frame, norm), n, exclude=exclude)

    def loss_gradient(self, frame: Frame) -> torch.Tensor:
        """(N, C) g, the vector K multiplies: the caller's gradient or the loss's."""
        residual = self.residual(frame)
        if self.gradient_fn is None:
            return frame.loss.gradient(residual)
        return checked_gradient(self.gradient_fn, residual + frame.targets, frame.targets)

    def kernel_residual(self, frame: Frame) -> torch.Tensor:
        """(N, C) K g at the current weights, exact and chunked (summed over shards)."""
        gradient = self.loss_gradient(frame)
        with frame.timer.measure("ntk"):
            return kernel_residual_product(
                frame.model,
                frame.coords,
                gradient,
                frame.ntk_chunk_size,
                reduce=None if frame.shard is None else frame.shard.all_reduce_sum,
            )

    # -- between selections -------------------------------------------------------------------

    def observe(self, feedback: StepFeedback) -> None:
        """After each training step, its errors (``StepFeedback``). The exact source keeps
        nothing."""

    def notes(self) -> list[str]:
        """Lines for the run summary when this source changed what is selected."""
        return []

    def summary(self) -> dict[str, Any]:
        """Counts for the run summary (the stale source's full passes)."""
        return {}

    def config(self) -> dict[str, Any]:
        return {"residuals": self.name, "gradient": gradient_name(self.gradient_fn)}

    # -- helpers for subclasses ---------------------------------------------------------------

    def full_residual(self, frame: Frame) -> torch.Tensor:
        """(N, C) the exact residual from one no-grad forward (charged to "residual")."""
        with frame.timer.measure("residual"):
            return predict(frame.model, frame.coords, frame.forward_chunk) - frame.targets


class StaleResiduals(ResidualSource):
    """Opt-in ``residual_every = m``: the full pass at every m-th selection, patched between.

    On a CPU the no-grad forward over all N coordinates costs more than the training step on
    20 % of them, so it decides INT's and NINT's speed. Here the full pass runs only at every
    m-th selection; in between a selection reads the last full residual, in which the rows
    trained on since were overwritten with their errors from the training step's own forward
    (exact for those rows at the weights before that step's update).

    This CHANGES WHAT IS SELECTED: rows not trained on since the last full pass keep residuals
    up to m - 1 updates old, and NINT's K r multiplies the current kernel with that mixed
    residual. It is not part of the paper or the released code; m = 1 is the exact path.

    Args:
        every: m >= 1.
        gradient: as for ``ResidualSource``.
    """

    name = "stale"

    def __init__(self, every: int, gradient: GradientFn | None = None) -> None:
        super().__init__(gradient)
        if isinstance(every, bool) or int(every) != every or every < 1:
            raise NintError(f"residual_every must be an integer >= 1, got {every!r}")
        self.every = int(every)
        self.value: torch.Tensor | None = None
        self.requests = 0  # selections that asked for the residual
        self.full_passes = 0

    def due(self) -> bool:
        """True when the next request must run the full pass."""
        return self.value is None or self.requests % self.every == 0

    def residual(self, frame: Frame) -> torch.Tensor:
        if "residual" not in frame.cache:
            if self.due():
                self.value = self.full_residual(frame)
                self.full_passes += 1
            self.requests += 1
            frame.cache["residual"] = self.value
        return frame.cache["residual"]

    def observe(self, feedback: StepFeedback) -> None:
        """Overwrite the residual of the rows trained on with the training step's errors."""
        rows = feedback.local_rows
        if self.value is not None and rows.numel():
            self.value[rows] = feedback.errors.to(self.value.dtype)

    def notes(self) -> list[str]:
        return [
            f"approximate selection: the full residual pass ran every {self.every} selections "
            f"({self.full_passes} times), patched from training errors in between"
        ]

    def summary(self) -> dict[str, Any]:
        return {"residual_passes": self.full_passes}

    def config(self) -> dict[str, Any]:
        return {**super().config(), "residual_every": self.every}


def checked_gradient(
    fn: GradientFn, prediction: torch.Tensor, targets: torch.Tensor
) -> torch.Tensor:
    """``fn(prediction, targets)`` as a detached (N, C) tensor of the targets' dtype, or a
    one-line NintError when it is not one (wrong shape, not a tensor, NaN or inf)."""
    with torch.no_grad():
        value = fn(prediction, targets)
    if not isinstance(value, torch.Tensor):
        raise NintError(
            f"gradient must return a tensor shaped like the prediction {tuple(prediction.shape)}, "
            f"got a {type(value).__name__}"
        )
    if value.shape != prediction.shape:
        raise NintError(
            f"gradient returned shape {tuple(value.shape)}; it must be dL/df shaped like the "
            f"prediction, {tuple(prediction.shape)}"
        )
    if not bool(torch.isfinite(value).all()):
        raise NintError("gradient returned NaN or inf")
    return value.detach().to(targets.dtype)


def gradient_name(fn: GradientFn | None) -> str | None:
    """The caller's gradient function by name, for the run's config (None: the loss's own)."""
    if fn is None:
        return None
    return getattr(fn, "__qualname__", None) or type(fn).__name__
