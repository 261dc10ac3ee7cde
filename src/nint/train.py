"""fit(): the training loop, its budgets, the two clocks and the evaluation cadence.

The training clock (``PartTimer``) runs only around selection, the forward/backward pass on the
chosen coordinates and the optimiser step. Evaluation happens between iterations, off that clock,
on the weights *after* the update of the iteration it is recorded under (METHOD.md section 7). The
released NINT code instead charged metrics and checkpointing to its clock and scored the
prediction from before each update; we do neither.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from .distributed import join_if_launched
from .errors import NintError
from .models import CompiledSiren, Siren, fast_inference_enabled
from .residuals import StaleResiduals
from .samplers import SAMPLERS, Sampler, SelectionContext, make_sampler
from .samplers.base import StepFeedback
from .signals import Signal
from .timing import PartTimer

#: parts of the training clock, in the order they are reported ("data": drawing a fresh training
#: set, for signals with ``fresh_points``; "comm": summing gradients and sharing the clock across
#: the processes of a sharded fit, zero in one process)
PARTS = ("data", "residual", "ntk", "select", "train", "comm", "optimizer", "overhead")
#: added to the fit seed for the generator of fresh training sets, so that its draws are not the
#: sampler's (which is seeded with the fit seed itself)
DATA_SEED_OFFSET = 0x5DF


@dataclass
class FitResult:
    """What a fit produced. ``history`` rows are evaluations; ``summary`` is the final record."""

    signal: Signal
    model: nn.Module
    sampler: Sampler
    config: dict[str, Any]
    history: list[dict[str, float]]
    summary: dict[str, Any]
    prediction: torch.Tensor = field(repr=False)

    def save(self, out: str, overwrite: bool = False) -> Any:
        """Write the run folder (see ``nint.report.write_run``); returns its path."""
        from .report.run_folder import write_run

        return write_run(self, out, overwrite=overwrite)


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
) -> StepResult:
    """Accumulate the gradient of the (weighted) MSE over the coordinates ``idx``.

    The loss is mean over the k chosen coordinates and C channels of w_i (f(x_i) - y_i)^2, with
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

    Returns:
        the loss (detached, no host synchronisation) and what was asked for.
    """
    k, channels = idx.numel(), targets.shape[1]
    step = chunk or max(k, 1)
    denominator = (total_count or k) * channels
    x, y = coords[idx], targets[idx]
    if coord_grad:
        x.requires_grad_(True)
    if weigh is not None:
        err = torch.cat([model(x[s : s + step]) for s in range(0, k, step)]) - y
        weights = weigh(err.detach())
        loss = (err.pow(2) * weights[:, None]).sum() / denominator
        loss.backward()
        total, errors = loss.detach(), err.detach()
    else:
        total = torch.zeros((), device=targets.device)
        parts = []
        for s in range(0, k, step):
            err = model(x[s : s + step]) - y[s : s + step]
            loss = err.pow(2).sum() / denominator
            loss.backward()
            total += loss.detach()
            if keep_errors:
                parts.append(err.detach())
        errors = torch.cat(parts) if keep_errors else None
    return StepResult(total, errors, x.grad if coord_grad else None)


def resolve_chunks(device: torch.device, **chunks: int | None | str) -> dict[str, int | None]:
    """Replace "auto" chunk sizes: cache-sized on a CPU (8192, NTK 4096), one pass elsewhere."""
    resolved: dict[str, int | None] = {}
    for key, value in chunks.items():
        if value == "auto":
            cpu_size = 4096 if key == "ntk_chunk_size" else 8192
            resolved[key] = cpu_size if device.type == "cpu" else None
        elif value is None or (isinstance(value, int) and value >= 1):
            resolved[key] = value
        else:
            raise NintError(f"{key} must be a positive integer, None or 'auto', got {value!r}")
    return resolved


def progress_of(step: int, train_seconds: float, iterations: int | None, seconds: float | None):
    """Training progress t / T in [0, 1]: the further along of the two budgets."""
    fractions = [0.0]
    if iterations is not None:
        fractions.append(step / iterations)
    if seconds is not None:
        fractions.append(train_seconds / seconds)
    return min(max(fractions), 1.0)


def resolve_device(device: str | torch.device | None) -> torch.device:
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise NintError(f"unknown device {device!r}; use cpu, cuda, cuda:N or auto") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise NintError("--device cuda was asked for, but this PyTorch build sees no CUDA device")
    return dev


def check_budget(iterations: int | None, seconds: float | None) -> None:
    if iterations is None and seconds is None:
        raise NintError("give a training budget: iterations and/or seconds")
    if iterations is not None and iterations < 1:
        raise NintError(f"the iteration budget must be at least 1, got {iterations}")
    if seconds is not None and not seconds > 0:
        raise NintError(f"the time budget must be positive seconds, got {seconds}")


def check_eval_at(eval_at: Sequence[int] | None) -> tuple[int, ...] | None:
    """Sorted distinct evaluation iterations; NintError unless each is an integer >= 1."""
    if eval_at is None:
        return None
    steps = set()
    for value in eval_at:
        if isinstance(value, bool) or int(value) != value or value < 1:
            raise NintError(f"evaluation iterations must be integers >= 1, got {value!r}")
        steps.add(int(value))
    if not steps:
        raise NintError("eval_at lists no iterations")
    return tuple(sorted(steps))


def _reached(got: float | None, value: float, lower_is_better: bool) -> bool:
    return got is not None and (got <= value if lower_is_better else got >= value)


def _first_crossing(history, metric, value, lower_is_better):
    for row in history:
        if _reached(row.get(metric), value, lower_is_better):
            return {"iteration": int(row["iteration"]), "seconds": row["train_seconds"]}
    return None


def summarise(signal: Signal, history: list[dict[str, float]], timer: PartTimer, iterations: int):
    """The summary of a finished fit from its history and clock."""
    final = history[-1]
    reach = {}
    for metric, values in signal.thresholds.items():
        for value in values:
            key = (
                f"{metric}>={value:g}"
                if metric not in signal.lower_is_better
                else f"{metric}<={value:g}"
            )
            reach[key] = _first_crossing(history, metric, value, metric in signal.lower_is_better)
    train_seconds = timer.total()
    return {
        "iterations": iterations,
        "train_seconds": train_seconds,
        "seconds_per_iteration": train_seconds / iterations if iterations else math.nan,
        "final": {k: v for k, v in final.items() if k not in ("iteration", "train_seconds")},
        "reached": reach,
        "reached_note": "first evaluation at or past the threshold (resolution: eval cadence)",
        "time_parts": {part: timer.totals.get(part, 0.0) for part in PARTS},
        "evaluations": len(history),
        "missing": dict(signal.missing),
        "notes": signal.notes(),
    }


def fit(
    signal: Signal,
    strategy: str | Sampler = "nint",
    *,
    model: nn.Module | None = None,
    iterations: int | None = None,
    seconds: float | None = None,
    eval_every: int | None = None,
    eval_every_seconds: float | None = None,
    eval_at: Sequence[int] | None = None,
    lr: float = 1e-4,
    seed: int = 0,
    device: str | torch.device | None = None,
    width: int = 256,
    depth: int = 5,
    omega_0: float = 30.0,
    first_omega_0: float | None = None,
    forward_chunk: int | None | str = "auto",
    train_chunk: int | None | str = "auto",
    ntk_chunk_size: int | None | str = "auto",
    eval_chunk: int | None | str = "auto",
    progress: bool = False,
    stop_at: dict[str, float] | None = None,
    distributed: bool | None = None,
    residual_every: int = 1,
    compile: bool = False,
    **sampler_options: Any,
) -> FitResult:
    """Fit an INR to ``signal``, choosing the training coordinates with ``strategy``.

    Args:
        signal: the signal (``nint.load_image`` ...).
        strategy: a registered name ("standard", "uniform", "int", "nint") or a sampler.
        model: the network; default a SIREN (depth x width, omega_0, first_omega_0) seeded by
            ``seed``; first_omega_0 None takes the signal's default (30 for images).
        iterations, seconds: the budget; training stops at whichever is reached first. Seconds
            are training-clock seconds (selection + forward/backward + optimiser, no evaluation).
        eval_every, eval_every_seconds, eval_at: evaluation cadence in iterations, in training
            seconds, and/or at the listed iterations. With none of them, the signal's
            ``default_eval_at`` (meshes: 500, 1k, 2k, 5k, 10k) or else every 10 iterations.
            Iteration 0 (before training) and the last iteration are always evaluated. The
            metrics at the ``eval_at`` iterations reached are also in ``summary["at_iterations"]``.
        lr: Adam learning rate (1e-4, constant).
        seed: seeds the default model's initialisation, the sampler's generator and (plus
            DATA_SEED_OFFSET) the draws of signals with fresh training points.
        device: "cpu", "cuda", "cuda:N" or None/"auto" (CUDA when available).
        forward_chunk, train_chunk, ntk_chunk_size, eval_chunk: coordinates per chunk of the
            no-grad residual pass, the training step (gradient accumulation), the NTK product and
            evaluation; None: all at once; "auto": 8192 (NTK 4096) on a CPU, where it keeps
            activations in cache and is up to 3x faster, all at once elsewhere. Chunking bounds
            memory and never changes results beyond float summation order.
        progress: show a progress bar (iteration, loss, last PSNR).
        stop_at: stop early at the first evaluation where every listed metric has reached its
            value (e.g. ``{"psnr": 30}``), for time-to-threshold benchmarks.
        distributed: shard the coordinates over the processes of a torch.distributed group
            (``nint.distributed``): None (default) does so when launched by ``torchrun`` with
            more than one process. Selections, the NTK product and the updates are the
            one-process ones; only ``standard``, ``uniform``, ``int`` and ``nint`` support it.
            Rank 0 evaluates and returns the full result; the other ranks return one with an
            empty history and summary.
        residual_every: m; 1 (default) is the exact path. m > 1 is an opt-in approximation that
            CHANGES THE SELECTION (``nint.residuals``): the full residual pass runs at every m-th
            selection that asks for it, and in between the selection reads the last one with
            the rows trained on since patched from the training step's errors.
        compile: opt-in ``torch.compile`` of the SIREN's training forward/backward and NTK
            VJP/JVP (``nint.models.CompiledSiren``). Faster per iteration, but compiled float32
            rounding differs from the plain path, so selections can differ (docs/speed.md).
            The residual pass stays eager. Compilation runs on the fit's shapes before the
            training clock starts; its seconds are ``summary["compile_seconds"]`` (None without
            compile).
        **sampler_options: options of the strategy (ratio, scheduler, interval, xi, alpha, ...).
            Without ``ratio``, a named strategy gets the signal's ``default_ratio`` (meshes: 0.4)
            if it has one, else the sampler's default (0.2).

    Returns:
        A ``FitResult``; ``result.save(folder)`` writes the run folder.
    """
    check_budget(iterations, seconds)
    if eval_every is not None and eval_every < 1:
        raise NintError(f"evaluation cadence must be at least 1 iteration, got {eval_every}")
    if eval_every_seconds is not None and not eval_every_seconds > 0:
        raise NintError(f"evaluation cadence must be positive seconds, got {eval_every_seconds}")
    eval_at = check_eval_at(eval_at)
    if eval_every is None and eval_every_seconds is None and eval_at is None:
        if signal.default_eval_at:
            eval_at = check_eval_at(signal.default_eval_at)
        else:
            eval_every = 10
    eval_steps = frozenset(eval_at or ())
    if not lr > 0:
        raise NintError(f"the learning rate must be positive, got {lr}")
    dev = resolve_device(device)
    shard, dev = join_if_launched(signal.n_points, dev, distributed)
    chunks = resolve_chunks(
        dev,
        forward_chunk=forward_chunk,
        train_chunk=train_chunk,
        ntk_chunk_size=ntk_chunk_size,
        eval_chunk=eval_chunk,
    )
    forward_chunk, train_chunk = chunks["forward_chunk"], chunks["train_chunk"]
    ntk_chunk_size, eval_chunk = chunks["ntk_chunk_size"], chunks["eval_chunk"]

    if isinstance(strategy, Sampler):
        sampler = strategy
    else:
        if signal.default_ratio is not None and "ratio" not in sampler_options:
            sampler_options = {**sampler_options, "ratio": signal.default_ratio}
        sampler = make_sampler(
            strategy, signal.n_points, seed=seed, raster=signal.raster, **sampler_options
        )
    stale = None
    if residual_every != 1:
        stale = StaleResiduals(residual_every)
        if "residual" not in sampler.uses:
            raise NintError(
                f"residual_every applies to strategies that use the residual pass; "
                f"{sampler.name!r} does not"
            )
        if signal.fresh_points:
            raise NintError(
                "residual_every needs fixed coordinates; this signal draws new points every "
                "iteration"
            )
    if shard is not None and not sampler.shardable:
        shardable = ", ".join(name for name, cls in SAMPLERS.items() if cls.shardable)
        raise NintError(
            f"strategy {sampler.name!r} cannot be sharded over processes; use one of {shardable}"
        )
    if model is None:
        torch.manual_seed(seed)
        if first_omega_0 is None:
            first_omega_0 = signal.default_first_omega_0
        model = Siren(signal.in_features, signal.out_features, width, depth, omega_0, first_omega_0)
    model = model.to(dev)
    if shard is not None:
        shard.broadcast_parameters(model)  # identical replicas, even for a caller's model

    def own(c: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """This process's rows of a training set (all of them in one process)."""
        if shard is not None:
            c, t = c[shard.lo : shard.hi], t[shard.lo : shard.hi]
        return c.to(dev), t.to(dev)

    coords, targets = own(signal.coords, signal.values)
    # its own generator: the sampler's is seeded with `seed` too, and must not mirror the draws
    data_generator = torch.Generator().manual_seed(seed + DATA_SEED_OFFSET)
    fresh = signal.fresh_points and not sampler.needs_fixed_points
    frozen_note = None
    if signal.fresh_points and sampler.needs_fixed_points:
        # EVOS caches fitness per coordinate, so it keeps one draw (its candidate pool) for the
        # whole fit instead of a fresh set every iteration; drawn before the clock starts
        coords, targets = (t.to(dev) for t in signal.draw_training_set(data_generator))
        frozen_note = (
            f"{sampler.name} keeps per-coordinate state, so it trained on one set of "
            f"{signal.n_points} points drawn once, not a fresh set every iteration"
        )
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    timer = PartTimer(dev)
    # the network the loop trains and selects with: the model itself or its compiled passes
    net, compile_seconds = model, None
    if compile:
        net = CompiledSiren(model)
        compile_seconds = net.warm_up(
            coords, targets, train_chunk=train_chunk, ntk_chunk_size=ntk_chunk_size,
            batch_size=sampler.batch_size(0.0), coord_grad=sampler.wants_coord_grad,
            ntk="ntk" in sampler.uses,
        )  # fmt: skip

    config = {
        "signal": signal.describe(),
        "sampler": sampler.config(),
        "model": {"class": type(model).__name__, **getattr(model, "hparams", {})},
        "budget": {"iterations": iterations, "seconds": seconds},
        "eval_every": eval_every,
        "eval_every_seconds": eval_every_seconds,
        "eval_at": list(eval_at) if eval_at else None,
        "fresh_points": fresh,
        "lr": lr,
        "optimizer": "Adam",
        "seed": seed,
        "device": str(dev),
        **chunks,
        "stop_at": stop_at,
        "world_size": 1 if shard is None else shard.world,
        "residual_every": residual_every,
        "compile": compile,
        "fast_inference": fast_inference_enabled(),
    }

    history: list[dict[str, float]] = []
    metric = signal.primary_metric
    main = shard is None or shard.is_main
    # in a sharded fit every decision taken on the clock follows rank 0's clock
    clock_decides = shard is not None and (seconds is not None or eval_every_seconds is not None)

    def shared_clock() -> float:
        if not clock_decides:
            return timer.total()
        with timer.measure("comm"):
            return shard.broadcast_float(timer.total(), dev)

    wall_start = time.perf_counter()

    def evaluate(step: int, loss: float) -> torch.Tensor:
        """Score the current weights off the training clock; returns the prediction."""
        pred = signal.predict_for_eval(model, eval_chunk, dev)
        row = {"iteration": step, "train_seconds": timer.total(), "loss": loss}
        row.update(signal.evaluate(pred))
        last = sampler.last_indices
        row["batch_size"] = 0 if last is None else int(last.numel())
        row["wall_seconds"] = time.perf_counter() - wall_start
        history.append(row)
        return pred

    prediction = torch.empty(0)
    if main:
        prediction = evaluate(0, math.nan)
        unknown = sorted(set(stop_at or {}) - set(history[0]))
        if unknown:
            raise NintError(f"stop_at names unknown metric(s) {', '.join(unknown)}")
    bar = tqdm(
        total=iterations if iterations is not None else seconds,
        disable=True if not (progress and main) else None,  # None: shown only on a terminal
        unit="it" if iterations is not None else "s",
        bar_format=None
        if iterations is not None
        else "{l_bar}{bar}| {n:.1f}/{total:g} s [{elapsed}<{remaining}{postfix}]",
        leave=False,
        dynamic_ncols=True,
    )
    next_eval_s = eval_every_seconds or math.inf
    step = 0
    last_loss = torch.zeros(())
    while True:
        train_s = shared_clock()
        if (iterations is not None and step >= iterations) or (
            seconds is not None and train_s >= seconds
        ):
            break
        with timer.measure("overhead"):
            if fresh:
                with timer.measure("data"):
                    coords, targets = own(*signal.draw_training_set(data_generator))
            progress_now = progress_of(step, train_s, iterations, seconds)
            ctx = SelectionContext(
                net, coords, targets, progress_now, timer, forward_chunk, ntk_chunk_size, fresh,
                shard, stale,
            )  # fmt: skip
            with timer.measure("select"):
                idx = sampler.select(step, ctx)  # global indices in [0, N)
            with timer.measure("train"):
                optimizer.zero_grad(set_to_none=True)
                rows = idx if shard is None else shard.local(idx)
                out = train_step(
                    net, coords, targets, rows, train_chunk,
                    weigh=sampler.loss_weights if sampler.reweights else None,
                    keep_errors=sampler.wants_feedback or stale is not None,
                    coord_grad=sampler.wants_coord_grad,
                    total_count=idx.numel(),
                )  # fmt: skip
            if shard is not None:
                with timer.measure("comm"):
                    out.loss = shard.sum_gradients(model, [out.loss])[0]
            with timer.measure("optimizer"):
                optimizer.step()
            if stale is not None:
                with timer.measure("select"):
                    stale.patch(rows, out.errors)
            if sampler.wants_feedback:
                with timer.measure("select"):
                    sampler.observe(StepFeedback(idx, out.errors, out.coord_grad))
        step += 1
        last_loss = out.loss  # no .item() here: it would synchronise a GPU inside the loop
        now = shared_clock() if eval_every_seconds is not None else timer.total()
        due = (
            (eval_every is not None and step % eval_every == 0)
            or step in eval_steps
            or now >= next_eval_s
        )
        stop = False
        if due:
            while next_eval_s <= now:
                next_eval_s += eval_every_seconds or math.inf
            if main:
                prediction = evaluate(step, float(last_loss))
                bar.set_postfix_str(
                    f"it={step} loss={float(last_loss):.2e} {metric}={history[-1][metric]:.2f}"
                )
                stop = bool(stop_at) and all(
                    _reached(history[-1][m], v, m in signal.lower_is_better)
                    for m, v in stop_at.items()
                )
            if shard is not None:
                # off the clock: the other ranks wait here while rank 0 evaluates
                stop = shard.broadcast_float(float(stop), dev) > 0
        bar.update(1 if iterations is not None else timer.total() - bar.n)
        if stop:
            break
    bar.close()
    if not main:
        return FitResult(signal, model, sampler, config, [], {}, prediction)
    if history[-1]["iteration"] != step:
        prediction = evaluate(step, float(last_loss))
    # the last history row always scores the final weights, so its prediction is the final one
    summary = {"strategy": sampler.name, **summarise(signal, history, timer, step)}
    if stale is not None:
        summary["residual_passes"] = stale.full_passes
        summary["notes"].append(
            f"approximate selection: the full residual pass ran every {residual_every} "
            f"selections ({stale.full_passes} times), patched from training errors in between"
        )
    summary["compile_seconds"] = compile_seconds
    if compile:
        summary["compile_eager_calls"] = dict(net.eager_calls)
    if frozen_note:
        summary["notes"].append(frozen_note)
    if eval_steps:
        # the metrics at each requested checkpoint, as the seed's tables report them
        summary["at_iterations"] = {
            str(row["iteration"]): {k: v for k, v in row.items() if k != "iteration"}
            for row in history
            if row["iteration"] in eval_steps
        }
    return FitResult(signal, model, sampler, config, history, summary, prediction.cpu())
