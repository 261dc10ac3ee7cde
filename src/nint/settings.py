"""A fit's settings: every option of ``fit`` in one object, checked once, recorded as config.json.

``FitSettings(...)`` raises ``NintError`` for any value a user could get wrong (a zero budget, a
negative learning rate, an unknown device) before anything is built. ``for_signal`` fills in what
depends on the signal (its default evaluation checkpoints and first-layer frequency); ``config``
is what the run folder records.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any

import torch

from .checks import (
    POSITIVE,
    check_bool,
    check_device,
    check_float,
    check_int,
    check_seed,
)
from .errors import NintError
from .losses import Loss, make_loss
from .models import fast_inference_enabled

if TYPE_CHECKING:
    from .signals import Signal

#: the evaluation cadence when neither the caller nor the signal names one
DEFAULT_EVAL_EVERY = 10
#: the chunk-size settings: residual pass, training step, NTK product, evaluation
CHUNK_KEYS = ("forward_chunk", "train_chunk", "ntk_chunk_size", "eval_chunk")


@dataclass(frozen=True)
class FitSettings:
    """Everything ``fit`` takes besides the signal, the strategy and its options.

    Attributes:
        iterations, seconds: the budget; training stops at whichever is reached first. Seconds
            are training-clock seconds (selection + forward/backward + optimiser, no evaluation).
        eval_every, eval_every_seconds, eval_at: evaluation cadence in iterations, in training
            seconds, and/or at the listed iterations. With none of them, the signal's
            ``default_eval_at`` (meshes: 500, 1k, 2k, 5k, 10k) or else every 10 iterations.
            Iteration 0 (before training) and the last iteration are always evaluated. The
            metrics at the ``eval_at`` iterations reached are also in ``summary["at_iterations"]``.
        lr: Adam learning rate, constant; None (default): the backbone's ``default_lr``
            (the SIREN's 1e-4; ``nint.models.BACKBONES``), filled in by ``for_signal``.
        loss: the training loss per coordinate and channel, "mse" (default, the paper's), "l1"
            or "huber" (``nint.losses``); the loss is its mean over the chosen coordinates and
            channels. NINT's K r multiplies its gradient with respect to the prediction, and the
            error parts (INT, NINT's, EVOS, Soft Mining) rank coordinates by its value.
        huber_delta: Huber's threshold delta (1.0, PyTorch's default); only with loss="huber".
        seed: seeds the default model's initialisation, the sampler's generator and (plus
            ``DATA_SEED_OFFSET``) the draws of signals with fresh training points.
        device: "cpu", "cuda", "cuda:N" or None/"auto" (CUDA when available).
        model: the registered backbone the fit builds (``nint.models.BACKBONES``; "siren").
        model_options: that backbone's options (``width``, ``depth``, ``omega_0``, ...; those
            left out take its defaults); ``fit(signal, model="finer", width=64)`` fills it from
            keyword options. A backbone taking ``first_omega_0`` gets the signal's default (30
            for images) unless it is given. Options of another backbone are refused.
        forward_chunk, train_chunk, ntk_chunk_size, eval_chunk: coordinates per chunk of the
            no-grad residual pass, the training step (gradient accumulation), the NTK product and
            evaluation; None: all at once; "auto": 8192 (NTK 4096) on a CPU, where it keeps
            activations in cache and is up to 3x faster, all at once elsewhere. Chunking bounds
            memory and never changes results beyond float summation order.
        progress: show a progress bar (iteration, loss, last value of the primary metric).
        stop_at: stop early at the first evaluation where every listed metric has reached its
            value (e.g. ``{"psnr": 30}``), for time-to-threshold benchmarks.
        distributed: shard the coordinates over the processes of a torch.distributed group
            (``nint.distributed``): None (default) does so when launched by ``torchrun`` with
            more than one process. Selections, the NTK product and the updates are the
            one-process ones; only strategies declared ``shardable`` support it. Rank 0
            evaluates and returns the full result; the other ranks return one with an empty
            history and summary.
        residual_every: m; 1 (default) is the exact path. m > 1 is an opt-in approximation that
            CHANGES THE SELECTION (``nint.residuals``): the full residual pass runs at every m-th
            selection that asks for it, and in between the selection reads the last one with
            the rows trained on since patched from the training step's errors.
        compile: opt-in ``torch.compile`` of the SIREN's training forward/backward and NTK
            VJP/JVP (``nint.models.CompiledSiren``). Faster per iteration, but compiled float32
            rounding differs from the plain path, so selections can differ (docs/speed.md).
            The residual pass stays eager. Compilation runs on the fit's shapes before the
            training clock starts; its seconds are ``summary["compile_seconds"]``.
    """

    iterations: int | None = None
    seconds: float | None = None
    eval_every: int | None = None
    eval_every_seconds: float | None = None
    eval_at: tuple[int, ...] | None = None
    lr: float | None = None
    seed: int = 0
    device: str | torch.device | None = None
    model: str = "siren"
    model_options: dict[str, Any] | None = None
    forward_chunk: int | None | str = "auto"
    train_chunk: int | None | str = "auto"
    ntk_chunk_size: int | None | str = "auto"
    eval_chunk: int | None | str = "auto"
    progress: bool = False
    stop_at: dict[str, float] | None = None
    distributed: bool | None = None
    residual_every: int = 1
    compile: bool = False
    loss: str = "mse"
    huber_delta: float | None = None

    def __post_init__(self) -> None:
        check_budget(self.iterations, self.seconds)
        # each count is checked to be a real int (not 2.5, not True) and stored as a plain int,
        # so that a NumPy integer reaches config.json as a JSON number
        counts = {
            "eval_every": ("the evaluation cadence in iterations", 1),
            "residual_every": ("residual_every", 1),
        }
        for key, (name, minimum) in counts.items():
            if getattr(self, key) is not None:
                object.__setattr__(self, key, check_int(getattr(self, key), name, minimum))
        if self.iterations is not None:
            object.__setattr__(self, "iterations", int(self.iterations))
        if self.eval_every_seconds is not None:
            check_float(self.eval_every_seconds, "the evaluation cadence in seconds", POSITIVE)
        object.__setattr__(self, "eval_at", check_eval_at(self.eval_at))
        if self.lr is not None:
            check_float(self.lr, "the learning rate", POSITIVE)
        self.loss_function()  # NintError for an unknown loss or a delta that does not apply
        object.__setattr__(self, "seed", check_seed(self.seed))
        # the backbone's name and options, checked here so that a bad one stops before
        # anything is built (imported here: the registry imports this module's class)
        from .models.registry import check_model_options

        options = check_model_options(self.model, dict(self.model_options or {}))
        object.__setattr__(self, "model_options", options)
        if self.compile and self.model != "siren":
            raise NintError(f"compile=True compiles a SIREN; model {self.model!r} is not one")
        for key in CHUNK_KEYS:
            check_chunk(key, getattr(self, key))
        for key in ("progress", "compile"):
            check_bool(getattr(self, key), key)
        if self.distributed is not None:
            check_bool(self.distributed, "distributed")

    @classmethod
    def split(
        cls, options: dict[str, Any], model: str | None = None
    ) -> tuple[FitSettings, dict[str, Any]]:
        """``options`` as (settings, the rest): settings fields, and the options any registered
        backbone declares as ``model_options`` of the backbone ``model`` (None: "siren"); the
        rest are the strategy's own options."""
        from .models.registry import model_option_names

        names = {f.name for f in fields(cls)}
        backbone = model_option_names()
        chosen = {k: v for k, v in options.items() if k in names}
        if model is not None:
            chosen["model"] = model
        given = {k: v for k, v in options.items() if k in backbone}
        if given:
            chosen["model_options"] = given
        rest = {k: v for k, v in options.items() if k not in names and k not in backbone}
        return cls(**chosen), rest

    def for_signal(self, signal: Signal) -> FitSettings:
        """These settings with the signal's and the backbone's defaults filled in: evaluation
        cadence, first_omega_0 (for a backbone that takes it), the learning rate."""
        changes: dict[str, Any] = {}
        if self.eval_every is None and self.eval_every_seconds is None and self.eval_at is None:
            if signal.default_eval_at:
                changes["eval_at"] = tuple(signal.default_eval_at)
            else:
                changes["eval_every"] = DEFAULT_EVAL_EVERY
        from .models.registry import BACKBONES, option_defaults

        cls = BACKBONES[self.model]
        options = dict(self.model_options or {})
        if "first_omega_0" in option_defaults(cls) and "first_omega_0" not in options:
            options["first_omega_0"] = signal.default_first_omega_0
            changes["model_options"] = options
        if self.lr is None:
            changes["lr"] = cls.default_lr
        return replace(self, **changes)

    def loss_function(self) -> Loss:
        """The fit's ``Loss`` (``nint.losses``), from ``loss`` and ``huber_delta``."""
        return make_loss(self.loss, self.huber_delta)

    def chunks(self, device: torch.device) -> dict[str, int | None]:
        """The four chunk sizes with "auto" resolved for ``device``: cache-sized on a CPU (8192,
        NTK 4096), one pass elsewhere."""
        resolved: dict[str, int | None] = {}
        for key in CHUNK_KEYS:
            value = getattr(self, key)
            if value == "auto":
                cpu_size = 4096 if key == "ntk_chunk_size" else 8192
                value = cpu_size if device.type == "cpu" else None
            resolved[key] = value
        return resolved

    def config(
        self,
        device: torch.device,
        chunks: dict[str, int | None],
        world_size: int,
        fresh_points: bool,
    ) -> dict[str, Any]:
        """The settings part of a run's config.json, with the resolved ``chunks`` (the signal,
        sampler and model are added by ``fit``)."""
        return {
            "budget": {"iterations": self.iterations, "seconds": self.seconds},
            "eval_every": self.eval_every,
            "eval_every_seconds": self.eval_every_seconds,
            "eval_at": list(self.eval_at) if self.eval_at else None,
            "fresh_points": fresh_points,
            "lr": self.lr,
            **self.loss_function().config(),
            "seed": self.seed,
            "device": str(device),
            **chunks,
            "stop_at": self.stop_at,
            "world_size": world_size,
            "residual_every": self.residual_every,
            "compile": self.compile,
            "fast_inference": fast_inference_enabled(),
        }


def check_budget(iterations: int | None, seconds: float | None) -> None:
    """NintError unless at least one budget is given, iterations as an integer >= 1 and
    seconds as a positive finite number (bools refused: ``True`` is neither)."""
    if iterations is None and seconds is None:
        raise NintError("give a training budget: iterations and/or seconds")
    if iterations is not None:
        check_int(iterations, "the iteration budget")
    if seconds is not None and (
        isinstance(seconds, bool)
        or not isinstance(seconds, numbers.Real)
        or not (seconds > 0 and math.isfinite(seconds))
    ):
        raise NintError(f"the time budget must be positive finite seconds, got {seconds!r}")


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


def check_chunk(key: str, value: int | None | str) -> None:
    if value in (None, "auto") or (
        isinstance(value, int) and not isinstance(value, bool) and value >= 1
    ):
        return
    raise NintError(f"{key} must be a positive integer, None or 'auto', got {value!r}")


def resolve_device(device: str | torch.device | None) -> torch.device:
    """The device a fit runs on: None/"auto" is CUDA when available; anything else must be a
    CPU or a visible CUDA device (``checks.check_device``)."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(check_device(str(device)))
