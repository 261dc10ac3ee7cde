"""``Teacher``: NINT (or any strategy) inside the caller's own training loop.

A teacher never owns the loop. Each step the loop asks it which coordinates to train on and,
after its own forward, backward and optimiser step, tells it how that step went:

>>> teacher = Teacher(model, coords, targets, "nint", steps=2000)  # doctest: +SKIP
>>> for _ in range(2000):  # doctest: +SKIP
...     batch = teacher.select()
...     prediction = model(batch.coords)
...     loss = ((prediction - batch.targets) ** 2).mean()
...     optimizer.zero_grad(); loss.backward(); optimizer.step()
...     teacher.feedback(batch, prediction)

``nint.fit`` runs its own loop on this same object (one path, sharded fits included).

Rules it enforces, each with a one-line ``NintError``: feedback goes back once for every batch,
before the next ``select`` (a strategy without it would freeze or silently change: Soft Mining
follows the last step's gradients, the fast mode patches its estimate); coordinates and targets
given at a step must keep the signal's shapes; a strategy whose state is tied to fixed
coordinates (EVOS) refuses new ones. Nothing is cached across steps except what a strategy or
residual source keeps on purpose: every selection gets a fresh ``SelectionContext``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from .checks import UNIT, check_float
from .errors import NintError
from .losses import Loss, make_loss
from .residuals import GradientFn, ResidualSource, StaleResiduals, StepFeedback
from .samplers import SAMPLERS, Sampler, SelectionContext, make_sampler
from .timing import PartTimer

if TYPE_CHECKING:
    from .distributed import Shard


@dataclass
class Batch:
    """One step's selection.

    Attributes:
        step: the step it was selected at (0, 1, ...).
        indices: (k,) int64 global indices of the coordinates to train on.
        rows: (k',) the rows of this process's coordinates among them (``indices`` unless the
            teacher was given a shard).
        parts: the selection split by part (NINT: "ntk", "error", "random"), for pictures.
        weigh: for strategies that re-weight the loss (Soft Mining): ``weigh(errors)`` maps the
            step's detached errors f(x) - y (k, C) to per-coordinate loss weights (k,); None
            for the others (use ``weights``, which covers both).
        wants_coord_grad: the strategy follows the loss gradient with respect to the
            coordinates (Soft Mining): ``coords`` requires grad, and ``feedback`` reads it.
    """

    step: int
    indices: torch.Tensor
    rows: torch.Tensor
    parts: dict[str, torch.Tensor]
    weigh: Callable[[torch.Tensor], torch.Tensor] | None
    wants_coord_grad: bool
    _all_coords: torch.Tensor = field(repr=False)
    _all_targets: torch.Tensor = field(repr=False)
    _coords: torch.Tensor | None = field(default=None, repr=False)

    @property
    def coords(self) -> torch.Tensor:
        """(k', D) the chosen coordinates (gathered once; requiring grad when the strategy
        follows coordinate gradients)."""
        if self._coords is None:
            self._coords = self._all_coords[self.rows]
            if self.wants_coord_grad:
                self._coords.requires_grad_(True)
        return self._coords

    @property
    def targets(self) -> torch.Tensor:
        """(k', C) the chosen targets."""
        return self._all_targets[self.rows]

    def weights(self, errors: torch.Tensor) -> torch.Tensor:
        """(k',) the loss weights of the chosen coordinates for this step's detached errors
        (k', C): the strategy's (Soft Mining's) or ones. The loss to train on is then the mean
        over coordinates and channels of w_i l(f(x_i) - y_i)."""
        errors = errors.detach()
        if self.weigh is None:
            return torch.ones(errors.shape[0], dtype=errors.dtype, device=errors.device)
        return self.weigh(errors)


class Teacher:
    """Chooses the coordinates each step of the caller's own loop trains on.

    Args:
        model: the network being trained: any ``nn.Module`` mapping (N, D) to (N, C), or a
            function ``model(params, x)`` of its parameters and the coordinates, with
            ``params`` (``FunctionModel``).
        coords: (N, D) all coordinates (float).
        targets: (N, C) all target values, on the coordinates' device.
        strategy: a registered strategy name (``nint strategies``) or a ``Sampler``.
        params: the trained tensors of a function ``model``, in the order it takes them.
        steps: how many steps the loop runs, T, which gives the training progress t / T that
            batch-ratio schedules and sampling intervals follow. Without it, pass ``progress``
            to every ``select``.
        loss: "mse", "l1", "huber" (with ``huber_delta``) or a ``nint.losses.Loss``: what
            error parts rank by, what Soft Mining weighs, and, unless ``gradient`` is given,
            the gradient K multiplies.
        gradient: ``gradient(prediction, targets) -> dL/df``, all (N, C): the caller's own loss
            gradient with respect to the output, which K multiplies instead of ``loss``'s
            (``nint.residuals``).
        seed: seeds the strategy's own generator.
        raster: the signal's image (H, W, C), for strategies that need the pixel grid (EGRA,
            Expansive Supervision, EVOS, Soft Mining).
        residual_every: m > 1 runs the full residual pass every m-th selection only, patched
            from the training steps between (``nint.residuals.StaleResiduals``; approximate).
        forward_chunk, ntk_chunk_size: coordinates per chunk of the no-grad residual pass and
            of the NTK product (None: all at once).
        timer: where selection time is charged ("select", "residual", "ntk").
        shard: this process's slice of the coordinates in a sharded fit (``nint.distributed``):
            ``coords`` and ``targets`` are then that slice, indices stay global.
        check_model: run the model once on one coordinate to check its output shape against
            the targets (``nint.fit`` has checked it already and passes False).
        **options: the strategy's options (ratio, xi, selection, ...), for a strategy name.

    Raises:
        NintError: for a model, coordinates, targets, strategy, option or source that cannot
            work together, before any step.
    """

    def __init__(
        self,
        model: nn.Module | Callable[[list[torch.Tensor], torch.Tensor], torch.Tensor],
        coords: torch.Tensor,
        targets: torch.Tensor,
        strategy: str | Sampler = "nint",
        *,
        params: Iterable[torch.Tensor] | None = None,
        steps: int | None = None,
        loss: str | Loss = "mse",
        huber_delta: float | None = None,
        gradient: GradientFn | None = None,
        seed: int = 0,
        raster: np.ndarray | None = None,
        residual_every: int = 1,
        forward_chunk: int | None = None,
        ntk_chunk_size: int | None = None,
        timer: PartTimer | None = None,
        shard: Shard | None = None,
        check_model: bool = True,
        **options: Any,
    ) -> None:
        model = as_module(model, params)
        _check_points(coords, targets, "coords", "targets")
        if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int)
                                  or steps < 1):  # fmt: skip
            raise NintError(f"steps must be a positive integer, got {steps!r}")
        self.loss = loss if isinstance(loss, Loss) else make_loss(loss, huber_delta)
        n_points = coords.shape[0] if shard is None else shard.n_points
        if isinstance(strategy, Sampler):
            if options:
                raise NintError(
                    f"a Sampler instance carries its own options; {', '.join(sorted(options))} "
                    f"would be ignored"
                )
            if strategy.n_points != n_points:
                raise NintError(
                    f"the sampler was built for {strategy.n_points} coordinates, not {n_points}"
                )
            self.sampler = strategy
        elif isinstance(strategy, str):
            self.sampler = make_sampler(strategy, n_points, seed=seed, raster=raster, **options)
        else:
            raise NintError(
                f"strategy must be a strategy name or a nint Sampler, got a "
                f"{type(strategy).__name__}"
            )
        check_error_norm(self.loss, options)
        if shard is not None:
            check_shardable(self.sampler)
        self.source = residual_source(self.sampler, residual_every, gradient)
        if check_model:
            _probe(model, coords, targets)
        self.model = model
        self.coords, self.targets = coords, targets
        self.steps = steps
        self.timer = timer or PartTimer(coords.device)
        self.forward_chunk, self.ntk_chunk_size = forward_chunk, ntk_chunk_size
        self.shard = shard
        #: the next step's number (selections made so far)
        self.step = 0
        self._pending: Batch | None = None

    def select(
        self,
        coords: torch.Tensor | None = None,
        targets: torch.Tensor | None = None,
        *,
        progress: float | None = None,
    ) -> Batch:
        """The coordinates to train on at this step.

        Args:
            coords, targets: this step's coordinates and targets, where they change between
                steps (fresh SDF points): same shapes as the teacher's; from now on they are
                the teacher's. None: the last ones.
            progress: training progress in [0, 1]; default step / steps.

        Raises:
            NintError: the last batch had no ``feedback``; bad coordinates; no progress.
        """
        if self._pending is not None:
            raise NintError(
                f"no feedback for the batch of step {self._pending.step}: call "
                f"teacher.feedback(batch, prediction) after every training step, before the "
                f"next select"
            )
        # progress first: a refusal must not adopt new points, or the retry would not be fresh
        at = self._progress(progress)
        fresh = self._take_points(coords, targets)
        ctx = SelectionContext(
            self.model, self.coords, self.targets, at,
            source=self.source, timer=self.timer, forward_chunk=self.forward_chunk,
            ntk_chunk_size=self.ntk_chunk_size, fresh=fresh, shard=self.shard, loss=self.loss,
        )  # fmt: skip
        sampler = self.sampler
        with self.timer.measure("select"):
            indices = sampler.select(self.step, ctx)  # global indices in [0, N)
            rows = indices if self.shard is None else self.shard.local(indices)
        batch = Batch(
            self.step, indices, rows, dict(sampler.parts),
            sampler.loss_weights if sampler.reweights else None, sampler.wants_coord_grad,
            self.coords, self.targets,
        )  # fmt: skip
        self._pending = batch
        self.step += 1
        return batch

    def feedback(
        self,
        batch: Batch,
        prediction: torch.Tensor | None = None,
        *,
        errors: torch.Tensor | None = None,
        coord_grad: torch.Tensor | None = None,
    ) -> None:
        """How the training step on ``batch`` went; call it once per batch, after the step.

        Args:
            batch: the last ``select``'s batch.
            prediction: (k', C) the model's output at ``batch.coords`` in this step's forward
                (before the update; detached here). Or give ``errors``, f(x) - y, instead.
            coord_grad: (k', D) the loss gradient with respect to ``batch.coords``, for
                strategies that follow it (``batch.wants_coord_grad``); default
                ``batch.coords.grad``, filled by the step's ``backward()``.

        Raises:
            NintError: not the pending batch, both or neither of prediction and errors, a
                shape that does not match the batch, or a coordinate gradient missing.
        """
        if self._pending is None or batch is not self._pending:  # None is no batch either
            raise NintError(
                "feedback must be given once, for the batch of the last select"
                if self._pending is not None
                else "no batch is waiting for feedback: call select first, and feedback once"
            )
        if (prediction is None) == (errors is None):
            raise NintError("give feedback the step's prediction or its errors (one of them)")
        given = prediction if errors is None else errors
        expected = (batch.rows.numel(), self.targets.shape[1])
        # checked before subtracting the targets: a (k, 1) prediction would broadcast silently
        if not isinstance(given, torch.Tensor) or tuple(given.shape) != expected:
            shape = tuple(given.shape) if isinstance(given, torch.Tensor) else type(given).__name__
            raise NintError(
                f"feedback's prediction or errors have shape {shape}; this batch needs "
                f"{expected} (one row per chosen coordinate, one column per channel)"
            )
        if errors is None:
            assert prediction is not None
            errors = prediction.detach() - batch.targets
        errors = errors.detach()
        if batch.wants_coord_grad and coord_grad is None:
            coord_grad = batch._coords.grad if batch._coords is not None else None
            if coord_grad is None:
                raise NintError(
                    f"strategy {self.sampler.name!r} follows the loss gradient with respect to "
                    f"the coordinates: compute the step's loss from model(batch.coords) and call "
                    f"backward() before feedback, or pass coord_grad="
                )
        step_feedback = StepFeedback(
            batch.indices, errors, coord_grad, self.loss, batch.rows, batch.parts
        )
        with self.timer.measure("select"):
            self.source.observe(step_feedback)
            self.sampler.observe(step_feedback)
        self._pending = None

    def notes(self) -> list[str]:
        """What this teacher's selection did that a reader of the results should know."""
        return self.source.notes() + self.sampler.notes()

    def _progress(self, progress: float | None) -> float:
        if progress is not None:
            return check_float(progress, "progress", UNIT)
        if self.steps is None:
            raise NintError(
                "the teacher needs the training progress: build it with steps= (the loop's "
                "length) or pass progress= (in [0, 1]) to select"
            )
        return min(1.0, self.step / self.steps)

    def _take_points(self, coords: torch.Tensor | None, targets: torch.Tensor | None) -> bool:
        """Adopt this step's coordinates and targets, if given; True when they are new."""
        if coords is None and targets is None:
            return False
        if coords is None or targets is None:
            raise NintError("give select both coords and targets, or neither")
        _check_points(coords, targets, "coords", "targets")
        if coords.shape != self.coords.shape or targets.shape != self.targets.shape:
            raise NintError(
                f"this step's coords {tuple(coords.shape)} and targets {tuple(targets.shape)} "
                f"must keep the teacher's shapes, {tuple(self.coords.shape)} and "
                f"{tuple(self.targets.shape)}"
            )
        fresh = coords is not self.coords or targets is not self.targets
        if fresh and self.sampler.needs_fixed_points:
            raise NintError(
                f"strategy {self.sampler.name!r} keeps state per coordinate and needs the same "
                f"coordinates at every step"
            )
        if fresh and isinstance(self.source, StaleResiduals):
            raise NintError("residual_every needs fixed coordinates; these changed at this step")
        self.coords, self.targets = coords, targets
        return fresh


class FunctionModel(nn.Module):
    """A forward function and the tensors it trains, as a module: ``forward(x)`` is
    ``function(params, x)`` with ``params`` the list of tensors, in the order given.

    The module's parameters share storage with the caller's tensors, so the caller's optimizer
    updates what the teacher scores, and NTK products (``torch.func.functional_call``) swap them
    like any module's parameters. Tensors that do not require grad stay fixed (not in J).

    Args:
        function: ``function(params: list[Tensor], x: (N, D)) -> (N, C)``.
        params: the tensors it takes (floating point).
    """

    def __init__(
        self,
        function: Callable[[list[torch.Tensor], torch.Tensor], torch.Tensor],
        params: Iterable[torch.Tensor],
    ) -> None:
        super().__init__()
        tensors = list(params)
        if not tensors or not all(
            isinstance(t, torch.Tensor) and t.is_floating_point() for t in tensors
        ):
            raise NintError("params must be a non-empty list of floating-point tensors")
        self.function = function
        self.params = nn.ParameterList(
            t if isinstance(t, nn.Parameter) else nn.Parameter(t, requires_grad=t.requires_grad)
            for t in tensors
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.function(list(self.params), x)


def as_module(model: object, params: Iterable[torch.Tensor] | None) -> nn.Module:
    """``model`` itself if it is a module (then ``params`` must be None), or a function of
    ``params`` wrapped as a ``FunctionModel``; a one-line NintError otherwise."""
    if isinstance(model, nn.Module):
        if params is not None:
            raise NintError("params is for a model given as a function; a module has its own")
        return model
    if not callable(model):
        raise NintError(
            f"model must be a torch.nn.Module or a function (params, x) -> values, got a "
            f"{type(model).__name__}"
        )
    if params is None:
        raise NintError("a model given as a function needs its tensors: params=[...]")
    return FunctionModel(model, params)


def check_error_norm(loss: Loss, options: dict[str, Any]) -> None:
    """Refuse a strategy's ``error_norm`` under a loss other than the MSE: there the error parts
    rank coordinates by their loss value, which has no norm to pick."""
    if not loss.is_mse and "error_norm" in options:
        raise NintError(
            f"error_norm applies only to loss='mse'; under loss={loss.name!r} the error part "
            f"ranks coordinates by their loss value"
        )


def check_shardable(sampler: Sampler) -> None:
    """Refuse, for a sharded fit, a strategy that cannot select exactly across processes."""
    if not sampler.shardable:
        shardable = ", ".join(name for name, cls in SAMPLERS.items() if cls.shardable)
        raise NintError(
            f"strategy {sampler.name!r} cannot be sharded over processes; use one of {shardable}"
        )


def residual_source(
    sampler: Sampler, residual_every: int = 1, gradient: GradientFn | None = None
) -> ResidualSource:
    """The residual source a fit with this strategy runs: the strategy's own (the fast mode),
    the stale patch of ``residual_every``, or the exact pass; each with the caller's
    ``gradient`` if given. Combinations that cannot work are refused in one line."""
    own = sampler.residual_source()
    if gradient is not None and "ntk" not in sampler.uses:
        raise NintError(
            f"gradient is what K multiplies in NTK scoring; strategy {sampler.name!r} does not "
            f"score with the NTK (nint does), so it would be ignored"
        )
    if isinstance(residual_every, bool) or residual_every != 1:
        if own is not None:
            raise NintError("residual_every and selection='fast' are two approximations: pick one")
        if "residual" not in sampler.uses:
            raise NintError(
                f"residual_every applies to strategies that use the residual pass; "
                f"{sampler.name!r} does not"
            )
        return StaleResiduals(residual_every, gradient)
    if own is None:
        return ResidualSource(gradient)
    own.use_gradient(gradient)
    return own


def _check_points(coords: object, targets: object, coords_name: str, targets_name: str) -> None:
    """One-line refusals for coordinates and targets that no strategy can use."""
    for name, value in ((coords_name, coords), (targets_name, targets)):
        if not isinstance(value, torch.Tensor):
            raise NintError(f"{name} must be a torch tensor, got a {type(value).__name__}")
        if value.ndim != 2 or not value.is_floating_point():
            raise NintError(
                f"{name} must be a 2-D float tensor (N, D or C), got {value.ndim}-D "
                f"{str(value.dtype).removeprefix('torch.')}"
            )
    assert isinstance(coords, torch.Tensor) and isinstance(targets, torch.Tensor)
    if coords.shape[0] != targets.shape[0]:
        raise NintError(
            f"{coords_name} has {coords.shape[0]} rows but {targets_name} has {targets.shape[0]}"
        )
    if coords.device != targets.device:
        raise NintError(
            f"{coords_name} is on {coords.device} but {targets_name} on {targets.device}"
        )


def _probe(model: nn.Module, coords: torch.Tensor, targets: torch.Tensor) -> None:
    """One forward on one coordinate, outside the global RNG's stream and without gradients:
    a one-line NintError when the model cannot take the coordinates or does not give one value
    per target channel."""
    try:
        with torch.no_grad(), torch.random.fork_rng(devices=[]):
            out = model(coords[:1])
    except Exception as error:  # the model's own error, named in one line
        raise NintError(
            f"the model failed on coordinates of shape (1, {coords.shape[1]}): "
            f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
        ) from error
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (1, targets.shape[1]):
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise NintError(
            f"the model maps (1, {coords.shape[1]}) coordinates to {shape}; the targets need "
            f"(1, {targets.shape[1]})"
        )
