"""fit(): settings checked once, then one training loop.

The training clock (``PartTimer``) runs only around selection, the forward/backward pass on the
chosen coordinates and the optimiser step. Evaluation happens between iterations, off that clock,
on the weights *after* the update of the iteration it is recorded under (docs/deviations.md,
"Timing"). The released NINT code instead charged metrics and checkpointing to its clock and
scored the prediction from before each update; we do neither.

Reading order: ``fit`` -> ``_prepare`` (everything built once) -> ``_loop`` (one screen) ->
``_summary``. The loop talks to other processes only through its communicator
(``nint.distributed``), which is a no-op in one process.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from . import timing
from .cadence import Budget, EvalCadence
from .distributed import SingleProcess, communicator
from .errors import NintError
from .fit_checks import (
    Callback,
    OptimizerFactory,
    build_optimizer,
    callable_name,
    check_callback,
    check_model_argument,
    check_optimizer_argument,
    check_option_names,
    check_signal,
    check_strategy_value,
    given,
    model_settings_given,
    optimizer_config,
    probe_model,
    split_model,
)
from .losses import MSE, Loss
from .models import model_config
from .models.registry import build_model, model_option_names
from .replay import python_only
from .result import PARTS, FitResult, summarise
from .samplers import Sampler, make_sampler
from .settings import FitSettings, resolve_device
from .signals import Signal
from .teacher import Teacher, check_error_norm, check_shardable, residual_source
from .timing import PartTimer

__all__ = ["DATA_SEED_OFFSET", "PARTS", "FitResult", "FitSettings", "fit", "train_step"]

#: added to the fit seed for the generator of fresh training sets, so that its draws are not the
#: sampler's (which is seeded with the fit seed itself)
DATA_SEED_OFFSET = 0x5DF


@dataclass
class StepResult:
    """One training step's loss (detached) and, when asked for, what a sampler observes."""

    loss: torch.Tensor
    errors: torch.Tensor | None = None
    coord_grad: torch.Tensor | None = None


def train_step(
    model: nn.Module,
    coords: torch.Tensor,
    targets: torch.Tensor,
    idx: torch.Tensor,
    chunk: int | None,
    *,
    weigh: Callable[[torch.Tensor], torch.Tensor] | None = None,
    keep_errors: bool = False,
    coord_grad: bool = False,
    total_count: int | None = None,
    loss: Loss = MSE,
) -> StepResult:
    """Accumulate the gradient of the (weighted) loss over the coordinates ``idx``.

    The loss is mean over the k chosen coordinates and C channels of w_i l(f(x_i) - y_i), with
    l the fit's ``loss`` per element (the MSE's (f - y)^2 by default, ``nint.losses``) and
    w = 1 unless ``weigh`` maps the step's detached errors (k, C) to weights (k,). Without
    ``weigh`` it is back-propagated ``chunk`` coordinates at a time: the gradient is the same as
    one pass over all k (up to float summation order), but on a CPU the activations of a chunk
    stay in cache, which halves a full-batch step at 65k coordinates. Every strategy, Stand.
    included, gets this. With ``weigh`` the weights need every error first (Soft Mining clamps
    them at mean + std), so all chunks are forwarded before one backward.

    Args:
        keep_errors: return the errors (k, C) of this forward, detached.
        coord_grad: return the loss gradient with respect to the chosen coordinates (k, D).
        total_count: the number of coordinates the loss is a mean over, when ``idx`` holds only
            this process's share of them (a sharded fit); default k.
        loss: the fit's loss (``nint.losses``); errors are f(x) - y whichever it is.

    Returns:
        the loss (detached, no host synchronisation) and what was asked for.
    """
    k, channels = idx.numel(), targets.shape[1]
    step = chunk or max(k, 1)
    denominator = (total_count or k) * channels
    x, y = coords[idx], targets[idx]
    errors: torch.Tensor | None
    if coord_grad:
        x.requires_grad_(True)
    if weigh is not None:
        err = torch.cat([model(x[s : s + step]) for s in range(0, k, step)]) - y
        weights = weigh(err.detach())
        value = (loss.elementwise(err) * weights[:, None]).sum() / denominator
        value.backward()
        total, errors = value.detach(), err.detach()
    else:
        total = torch.zeros((), device=targets.device)
        parts = []
        for s in range(0, k, step):
            err = model(x[s : s + step]) - y[s : s + step]
            value = loss.elementwise(err).sum() / denominator
            value.backward()
            total += value.detach()
            if keep_errors:
                parts.append(err.detach())
        errors = torch.cat(parts) if keep_errors else None
    return StepResult(total, errors, x.grad if coord_grad else None)


class Recorder:
    """Evaluations, off the training clock: the history, the last prediction, early stopping.

    Each evaluation predicts the whole signal with the current weights (after the update of the
    iteration it is recorded under) and scores it with the signal's metrics, then hands a copy
    of the row to the caller's ``callback``, if any.
    """

    def __init__(
        self, signal: Signal, model: nn.Module, sampler: Sampler, timer: PartTimer,
        stop_at: dict[str, float] | None, chunk: int | None, device: torch.device,
        callback: Callback | None = None,
    ) -> None:  # fmt: skip
        self.signal, self.model, self.sampler, self.timer = signal, model, sampler, timer
        self.stop_at = stop_at or {}
        self.chunk, self.device = chunk, device
        self.callback = callback
        self.history: list[dict[str, float | None]] = []
        self.prediction = torch.empty(0)
        self.wall_start = timing.clock()

    def record(self, step: int, loss: float) -> bool:
        """Evaluate after iteration ``step``; True when every ``stop_at`` threshold is met or
        the callback returned True."""
        self.prediction = self.signal.predict_for_eval(self.model, self.chunk, self.device)
        row: dict[str, float | None] = {
            "iteration": step,
            "train_seconds": self.timer.total(),
            "loss": loss,
        }
        row.update(self.signal.evaluate(self.prediction))
        last = self.sampler.last_indices
        row["batch_size"] = 0 if last is None else int(last.numel())
        row["wall_seconds"] = timing.clock() - self.wall_start
        self.history.append(row)
        stop = bool(self.stop_at) and all(
            self.signal.metric(m).reached(row[m], v) for m, v in self.stop_at.items()
        )
        # a copy: what the callback does with its row cannot change the history; only True
        # stops, so a callback that returns what its logger returned does not end the fit
        if self.callback is not None and self.callback(dict(row)) is True:
            stop = True
        return stop


@dataclass
class _Run:
    """Everything the loop uses, built once by ``_prepare``."""

    signal: Signal
    settings: FitSettings
    sampler: Sampler
    model: nn.Module
    net: nn.Module  # the model itself, or its compiled passes
    optimizer: torch.optim.Optimizer
    timer: PartTimer
    comm: SingleProcess
    device: torch.device
    chunks: dict[str, int | None]
    coords: torch.Tensor
    targets: torch.Tensor
    fresh: bool  # draw a new training set every iteration
    data_generator: torch.Generator
    teacher: Teacher
    loss: Loss
    budget: Budget
    cadence: EvalCadence
    recorder: Recorder
    config: dict[str, Any]
    compile_seconds: float | None
    notes: list[str]


def fit(
    signal: Signal,
    strategy: str | Sampler = "nint",
    *,
    model: nn.Module | str | None = None,
    settings: FitSettings | None = None,
    callback: Callback | None = None,
    optimizer: OptimizerFactory | None = None,
    **options: Any,
) -> FitResult:
    """Fit an INR to ``signal``, choosing the training coordinates with ``strategy``.

    >>> result = fit(signal, "nint", seconds=60, ratio=0.2)  # doctest: +SKIP

    Args:
        signal: the signal (``nint.load_image`` ...).
        strategy: a registered name (``nint strategies`` lists them) or a sampler.
        model: the network: a registered backbone's name (``nint.models.BACKBONES``; default
            "siren"), built with its options given as keyword options (``width``, ``depth``,
            ``omega_0``, ``wire_scale``, ...) and seeded by ``seed``; or a module of your own.
        settings: a ``FitSettings``; or give its fields as keyword options.
        callback: ``callback(row)`` is called with a copy of each history row (a dict:
            iteration, train_seconds, loss, the metrics, ...) once it is recorded, on rank 0,
            off the training clock. Returning True (exactly True) stops the fit there, as
            ``stop_at`` does; the row of iteration 0 (before training) cannot stop it. An
            exception it raises ends the fit. config.json records its name.
        optimizer: ``optimizer(model)`` returns the ``torch.optim.Optimizer`` to train with,
            over the model's parameters or parameter groups of them (parameters it leaves out
            are not trained), e.g. ``lambda model: torch.optim.SGD(model.parameters(),
            lr=0.1)``. Default: Adam over all parameters with ``lr``, which cannot be given
            with it. config.json records its class and its groups' hyperparameters.
        **options: the fields of ``FitSettings`` (budget, evaluation cadence, lr, loss, seed,
            device, chunks, ...; see its docstring) and the strategy's own options (ratio,
            scheduler, interval, xi, alpha, ...). Without ``ratio``, a named strategy gets the
            signal's ``default_ratio`` (meshes: 0.4) if it has one, else the sampler's default
            (0.2).
            A sampler instance takes none of the strategy options: it carries its own.

    Returns:
        A ``FitResult``; ``result.save(folder)`` writes the run folder. In a sharded fit, ranks
        other than 0 return a result with an empty history and summary.

    Raises:
        NintError: before any training, for anything the caller can get wrong: not a signal, an
            unknown strategy, a misspelt option (named, with the closest known name), a bad
            setting, a model whose outputs do not match the signal's channels, a callback or
            optimizer that is not a function of the right kind, an argument that would be
            ignored (``lr`` with ``optimizer``, ``width`` ... with ``model``, strategy options
            with a sampler instance).
    """
    check_signal(signal)
    check_strategy_value(strategy)
    if settings is not None and not isinstance(settings, FitSettings):
        raise NintError(
            f"settings must be a nint.FitSettings, got a {type(settings).__name__}; or give "
            f"its fields as keyword options"
        )
    check_option_names(strategy, options)
    model, backbone = split_model(model)
    if settings is None:
        settings, sampler_options = FitSettings.split(options, backbone)
    else:
        names = {f.name for f in fields(FitSettings)} | set(model_option_names())
        both = sorted(set(options) & names) + (["model"] if backbone is not None else [])
        if both:
            raise NintError(f"give {', '.join(both)} in settings or as options, not both")
        sampler_options = options
    check_model_argument(model, model_settings_given(settings))
    check_callback(callback)
    check_optimizer_argument(optimizer, bool(given(settings, options, ["lr"])))
    run = _prepare(
        signal, strategy, model, settings.for_signal(signal), sampler_options, callback, optimizer
    )
    step, loss = _loop(run)
    rec = run.recorder
    if not run.comm.is_main:
        return FitResult(signal, run.model, run.sampler, run.config, [], {}, rec.prediction)
    if rec.history[-1]["iteration"] != step:
        rec.record(step, float(loss))
    # the last history row always scores the final weights, so its prediction is the final one
    summary = _summary(run, step)
    return FitResult(
        signal, run.model, run.sampler, run.config, rec.history, summary, rec.prediction.cpu()
    )


def _loop(run: _Run) -> tuple[int, torch.Tensor]:
    """Train until the budget is spent or ``stop_at`` is met; returns (iterations, last loss)."""
    timer, comm, teacher, chunks = run.timer, run.comm, run.teacher, run.chunks
    coords, targets = run.coords, run.targets
    bar = _progress_bar(run.settings, comm.is_main)
    if comm.is_main:
        run.recorder.record(0, math.nan)
    step, loss = 0, torch.zeros(())
    while not run.budget.spent(step, train_seconds := comm.clock(timer)):
        with timer.measure("overhead"):
            if run.fresh:
                with timer.measure("data"):
                    drawn = run.signal.draw_training_set(run.data_generator)
                    coords, targets = comm.own(*drawn, run.device)
            progress = run.budget.progress(step, train_seconds)
            batch = teacher.select(coords, targets, progress=progress)
            with timer.measure("train"):
                run.optimizer.zero_grad(set_to_none=True)
                out = train_step(
                    run.net, coords, targets, batch.rows, chunks["train_chunk"],
                    weigh=batch.weigh, keep_errors=True, coord_grad=batch.wants_coord_grad,
                    total_count=batch.indices.numel(), loss=run.loss,
                )  # fmt: skip
            loss = comm.sum_gradients(run.model, out.loss, timer)
            with timer.measure("optimizer"):
                run.optimizer.step()
            assert out.errors is not None  # keep_errors
            teacher.feedback(batch, errors=out.errors, coord_grad=out.coord_grad)
        step += 1
        # a host read of the loss; on CUDA the clock has just synchronised at the optimiser step
        if not math.isfinite(float(loss)):
            raise _diverged(run, step, float(loss))
        clock = comm.clock(timer) if run.cadence.reads_clock else timer.total()
        stop = run.cadence.due(step, clock) and comm.agree(
            _evaluate(run, step, loss, bar), run.device
        )
        bar.update(1 if run.budget.iterations is not None else timer.total() - bar.n)
        if stop:
            break
    bar.close()
    return step, loss


def _diverged(run: _Run, step: int, loss: float) -> NintError:
    """The one-line error that ends a fit whose training loss is NaN or inf, with its likely
    cause: a learning rate too high, or a model that predicted NaN or inf before any training
    (a SIREN whose omega_0 times its inputs overflows float32), where a lower rate cannot help."""
    rec = run.recorder
    # rank 0 scored the untrained model at iteration 0; other ranks hold no prediction
    if len(rec.history) == 1 and not bool(torch.isfinite(rec.prediction).all()):
        hparams = model_config(run.model)
        omegas = [f"{k} ({hparams[k]:g})" for k in ("omega_0", "first_omega_0") if k in hparams]
        cure = f"lower {' or '.join(omegas)}, or the coordinate range" if omegas else "check it"
        return NintError(
            f"the untrained model already predicts NaN or inf (training loss {loss} at iteration "
            f"{step}): {cure}"
        )
    # the rates the optimizer trained with: the default Adam's is ``lr``
    rates = ", ".join(sorted({f"{float(g['lr']):g}" for g in run.optimizer.param_groups}))
    return NintError(
        f"the training loss became {loss} at iteration {step}: the fit diverged "
        f"(try a lower learning rate than {rates})"
    )


def _evaluate(run: _Run, step: int, loss: torch.Tensor, bar: tqdm) -> bool:
    """Evaluate on rank 0 (the others wait, off the clock); True when ``stop_at`` is met."""
    if not run.comm.is_main:
        return False
    stop = run.recorder.record(step, float(loss))
    metric = run.signal.primary_metric
    value = run.recorder.history[-1][metric]
    bar.set_postfix_str(f"it={step} loss={float(loss):.2e} {metric}={value:.2f}")
    return stop


def _prepare(
    signal: Signal,
    strategy: str | Sampler,
    model: nn.Module | None,
    settings: FitSettings,
    sampler_options: dict[str, Any],
    callback: Callback | None = None,
    optimizer_factory: OptimizerFactory | None = None,
) -> _Run:
    """Build everything the loop needs, checking what the settings alone could not."""
    budget = Budget(settings.iterations, settings.seconds)
    cadence = EvalCadence(settings.eval_every, settings.eval_every_seconds, settings.eval_at)
    clock_decides = settings.seconds is not None or cadence.reads_clock
    device = resolve_device(settings.device)
    comm, device = communicator(signal.n_points, device, settings.distributed, clock_decides)
    chunks = settings.chunks(device)
    for metric in settings.stop_at or {}:
        signal.metric(metric)  # NintError naming the modality's metrics
    loss = settings.loss_function()
    check_error_norm(loss, sampler_options)
    sampler = _make_sampler(signal, strategy, settings.seed, sampler_options)
    residual_source(sampler, settings.residual_every)  # refused before anything is built
    if settings.residual_every != 1 and signal.fresh_points:
        raise NintError(
            "residual_every needs fixed coordinates; this signal draws new points every iteration"
        )
    if comm.shard is not None:
        check_shardable(sampler)
    own_model = model is not None
    if model is None:
        # seeded by the fit's seed (torch.manual_seed, then the constructor, as always)
        model = build_model(
            settings.model, signal.in_features, signal.out_features, settings.seed,
            **(settings.model_options or {}),
        )  # fmt: skip
    model = model.to(device)
    if own_model:
        # a caller's model: its outputs checked against the signal before anything else runs
        # on it (the default SIREN is built from the signal's shapes and needs no check)
        probe_model(model, signal, device)
    comm.share_parameters(model)  # identical replicas, even for a caller's model
    coords, targets = comm.own(signal.coords, signal.values, device)
    # its own generator: the sampler's is seeded with `seed` too, and must not mirror the draws
    data_generator = torch.Generator().manual_seed(settings.seed + DATA_SEED_OFFSET)
    fresh = signal.fresh_points and not sampler.needs_fixed_points
    notes = []
    if signal.fresh_points and sampler.needs_fixed_points:
        # EVOS caches fitness per coordinate, so it keeps one draw (its candidate pool) for the
        # whole fit instead of a fresh set every iteration; drawn before the clock starts
        coords, targets = (t.to(device) for t in signal.draw_training_set(data_generator))
        notes.append(
            f"{sampler.name} keeps per-coordinate state, so it trained on one set of "
            f"{signal.n_points} points drawn once, not a fresh set every iteration"
        )
    optimizer = build_optimizer(optimizer_factory, model, settings.lr)
    timer = PartTimer(device)
    net, compile_seconds = model, None
    if settings.compile:
        from .models.compiled import CompiledSiren  # here: only compile=True needs it

        net = CompiledSiren(model)
        compile_seconds = net.warm_up(
            coords, targets, train_chunk=chunks["train_chunk"],
            ntk_chunk_size=chunks["ntk_chunk_size"], batch_size=sampler.batch_size(0.0),
            coord_grad=sampler.wants_coord_grad, ntk="ntk" in sampler.uses,
        )  # fmt: skip
    config = {
        "signal": signal.describe(),
        "sampler": sampler.config(),
        "model": model_config(model),
        **settings.config(device, chunks, comm.world, fresh),
        # lr is the default Adam's; an optimizer of the caller's records its own rates
        **({} if optimizer_factory is None else {"lr": None}),
        **optimizer_config(optimizer),
        "callback": None if callback is None else callable_name(callback),
        # `nint fit` replaces these with the options it was given (nint.replay)
        "replay": None,
        "replay_refused": python_only(
            model=own_model,
            sampler_instance=isinstance(strategy, Sampler),
            callback=callback is not None,
            optimizer=optimizer_factory is not None,
            stop_at=bool(settings.stop_at),
        ),  # fmt: skip
    }
    recorder = Recorder(
        signal, model, sampler, timer, settings.stop_at, chunks["eval_chunk"], device, callback
    )
    teacher = Teacher(
        net, coords, targets, sampler, loss=loss, residual_every=settings.residual_every,
        forward_chunk=chunks["forward_chunk"], ntk_chunk_size=chunks["ntk_chunk_size"],
        timer=timer, shard=comm.shard, check_model=False,
    )  # fmt: skip
    return _Run(
        signal, settings, sampler, model, net, optimizer, timer, comm, device, chunks, coords,
        targets, fresh, data_generator, teacher, loss, budget, cadence, recorder, config,
        compile_seconds, notes,
    )  # fmt: skip


def _make_sampler(
    signal: Signal, strategy: str | Sampler, seed: int, options: dict[str, Any]
) -> Sampler:
    if isinstance(strategy, Sampler):
        return strategy
    if signal.default_ratio is not None and "ratio" not in options:
        options = {**options, "ratio": signal.default_ratio}
    return make_sampler(strategy, signal.n_points, seed=seed, raster=signal.raster, **options)


def _progress_bar(settings: FitSettings, main: bool) -> tqdm:
    by_iterations = settings.iterations is not None
    return tqdm(
        total=settings.iterations if by_iterations else settings.seconds,
        disable=True if not (settings.progress and main) else None,  # None: only on a terminal
        unit="it" if by_iterations else "s",
        bar_format=None
        if by_iterations
        else "{l_bar}{bar}| {n:.1f}/{total:g} s [{elapsed}<{remaining}{postfix}]",
        leave=False,
        dynamic_ncols=True,
    )


def _summary(run: _Run, step: int) -> dict[str, Any]:
    """The summary of the finished fit: the signal's metrics and the clock, plus what this fit
    did differently (approximate residuals, compilation, a frozen draw)."""
    history, settings = run.recorder.history, run.settings
    summary = {"strategy": run.sampler.name, **summarise(run.signal, history, run.timer, step)}
    summary.update(run.teacher.source.summary())
    summary["compile_seconds"] = run.compile_seconds
    if settings.compile:
        from .models.compiled import CompiledSiren  # imported by now: this fit compiled

        assert isinstance(run.net, CompiledSiren)
        summary["compile_eager_calls"] = dict(run.net.eager_calls)
    summary["notes"].extend(run.teacher.notes() + run.notes)
    if settings.eval_at:
        # the metrics at each requested checkpoint, as the paper's tables report them
        summary["at_iterations"] = {
            str(row["iteration"]): {k: v for k, v in row.items() if k != "iteration"}
            for row in history
            if row["iteration"] in settings.eval_at
        }
    return summary
