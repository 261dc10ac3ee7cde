"""Checks of what ``fit`` is given, made before anything is built or trained.

Each check ends in one ``NintError`` naming the argument and what to do instead: a value that is
not a signal, a misspelt setting (by its name, with a suggestion), a strategy option a sampler
instance would ignore, a model whose outputs do not match the signal's channels, an optimizer
factory that returns something else than an optimizer of the model's parameters. Also here: the
optimizer a fit trains with, and how it and a callback are recorded in config.json.
"""

from __future__ import annotations

import difflib
import inspect
import os
from collections.abc import Callable, Iterable
from dataclasses import fields
from typing import Any

import numpy as np
import torch
from torch import nn

from .errors import NintError
from .models import adam_options
from .samplers import SAMPLERS, Sampler, check_strategy, keyword_options
from .settings import FitSettings
from .signals import Signal

#: the keyword arguments of ``fit`` itself, besides the settings and the strategy's options
FIT_ARGUMENTS = ("signal", "strategy", "model", "settings", "callback", "optimizer")
#: a callback at each evaluation: the history row (a copy) in, True to stop the fit
Callback = Callable[[dict[str, Any]], Any]
#: builds the optimizer from the model (its ``parameters()``, or parameter groups of it)
OptimizerFactory = Callable[[nn.Module], torch.optim.Optimizer]


def check_signal(signal: object) -> None:
    """NintError unless ``signal`` is a ``nint.Signal``, with the way to make one from what the
    caller gave (a path, an array)."""
    if isinstance(signal, Signal):
        return
    if isinstance(signal, (str, os.PathLike)):
        got = f"the path {os.fspath(signal)!r}"
        hint = f"load the file first: nint.load_signal({os.fspath(signal)!r})"
    elif isinstance(signal, (np.ndarray, torch.Tensor)):
        got = f"{_a(type(signal).__name__)} of shape {tuple(signal.shape)}"
        hint = (
            "wrap it first: nint.ImageSignal(array) for an image (H, W) or (H, W, C), "
            "nint.AudioSignal(samples, rate) for audio"
        )
    else:
        got = _describe(signal)
        hint = "load one with nint.load_signal(path), or build a nint.ImageSignal or AudioSignal"
    raise NintError(f"fit needs a nint.Signal, got {got}; {hint}")


def check_strategy_value(strategy: object) -> str:
    """The strategy's name for messages; NintError unless ``strategy`` is a registered name or
    a ``Sampler`` instance."""
    if isinstance(strategy, Sampler):
        return strategy.name or type(strategy).__name__
    if isinstance(strategy, str):
        return check_strategy(strategy)
    if isinstance(strategy, type) and issubclass(strategy, Sampler):
        hint = f"pass its name {strategy.name!r}" if strategy.name else "pass an instance"
        raise NintError(f"strategy is the class {strategy.__name__}; {hint}")
    raise NintError(
        f"strategy must be a strategy's name ({', '.join(SAMPLERS)}) or a Sampler instance, "
        f"got {_describe(strategy)}"
    )


def check_option_names(strategy: str | Sampler, options: Iterable[str]) -> None:
    """NintError naming every keyword option of ``fit`` that is neither a ``FitSettings`` field
    nor an option of ``strategy``, with the closest known name; and, for a sampler instance,
    every strategy option (the instance was built with its own, so they would be ignored)."""
    from .models.registry import model_option_names

    # a backbone's options are settings here; FitSettings refuses those of another backbone
    settings = [f.name for f in fields(FitSettings)] + list(model_option_names())
    every_strategy_option = {name for cls in SAMPLERS.values() for name in keyword_options(cls)}
    if isinstance(strategy, Sampler):
        own = keyword_options(type(strategy))
        ignored = [o for o in options if o in every_strategy_option or o in own]
        if ignored:
            names = ", ".join(repr(o) for o in ignored)
            hint = f" ({strategy.name!r})" if strategy.name else ""
            raise NintError(
                f"option{'s' if len(ignored) > 1 else ''} {names} would be ignored: a Sampler "
                f"instance carries its own options; pass the strategy's name{hint} instead, or "
                f"configure the sampler"
            )
        label = strategy.name or type(strategy).__name__
    else:
        own, label = keyword_options(SAMPLERS[strategy]), strategy
    known = [*settings, *own, *FIT_ARGUMENTS]
    problems = [
        _unknown_option(name, label, own, known)
        for name in options
        if name not in settings and name not in own
    ]
    if problems:
        raise NintError("; ".join(problems))


def _unknown_option(name: str, strategy: str, own: list[str], known: list[str]) -> str:
    """One clause of the message for an option ``fit`` does not take."""
    owners = [n for n, cls in SAMPLERS.items() if n != strategy and name in keyword_options(cls)]
    if owners:
        of = ", ".join(repr(n) for n in owners)
        return f"strategy {strategy!r} does not take {name!r} (it is an option of {of})"
    unknown = f"unknown option {name!r} for fit with strategy {strategy!r}"
    close = difflib.get_close_matches(name, known, n=1)
    if close:
        return f"{unknown} (did you mean {close[0]!r}?)"
    return (
        f"{unknown} (fit takes the fields of nint.FitSettings and the strategy's options: "
        f"{', '.join(own)})"
    )


def given(settings: FitSettings, options: dict[str, Any], names: Iterable[str]) -> list[str]:
    """Those of ``names`` the caller set: given as options, or differing from the default in
    the ``FitSettings`` they passed (one set to its default value cannot be told apart)."""
    defaults = {f.name: f.default for f in fields(FitSettings)}
    return [n for n in names if n in options or getattr(settings, n) != defaults[n]]


def split_model(model: object) -> tuple[nn.Module | None, str | None]:
    """``fit``'s ``model`` argument as (a module of the caller's, a backbone's name): NintError
    unless it is None, a module or a string (the name is checked by ``FitSettings``)."""
    if model is None or isinstance(model, str):
        return None, model
    if not isinstance(model, nn.Module):
        raise NintError(
            f"model must be a torch.nn.Module instance, got {_describe(model)}; or name a "
            f"registered backbone (nint.models.BACKBONES)"
        )
    return model, None


def model_settings_given(settings: FitSettings) -> list[str]:
    """The settings that describe the backbone ``fit`` would build: the backbone's options the
    caller gave, and ``model`` when it is not the default."""
    from .models.registry import DEFAULT_BACKBONE

    named = ["model"] if settings.model != DEFAULT_BACKBONE else []
    return named + list(settings.model_options or {})


def check_model_argument(model: nn.Module | None, model_settings: list[str]) -> None:
    """NintError when settings of the backbone nint would build (``model_settings``, those the
    caller set) come with a model of the caller's own."""
    if model is not None and model_settings:
        one = len(model_settings) == 1
        raise NintError(
            f"{', '.join(model_settings)} describe{'s' if one else ''} the backbone nint builds "
            f"and would be ignored with a model of your own (model=); build your model with "
            f"{'it' if one else 'them'} instead"
        )


def check_callback(callback: object) -> None:
    """NintError unless ``callback`` is None or can be called with one argument (the row)."""
    if callback is None:
        return
    if not callable(callback):
        raise NintError(f"callback must be a function of a history row, got {_describe(callback)}")
    try:
        signature = inspect.signature(callback)
    except (TypeError, ValueError):  # some builtins have no signature to read: trust them
        return
    try:
        signature.bind({})
    except TypeError:
        raise NintError(
            f"callback {callable_name(callback)} must take one argument (the history row), "
            f"its signature is {signature}"
        ) from None


def check_optimizer_argument(optimizer: object, lr_given: bool) -> None:
    """NintError unless ``optimizer`` is None or a callable; or when ``lr`` comes with it."""
    if optimizer is None:
        return
    if isinstance(optimizer, torch.optim.Optimizer):
        raise NintError(
            "optimizer takes a function of the model, not an optimizer (it would hold another "
            "model's parameters): optimizer=lambda model: torch.optim.Adam(model.parameters())"
        )
    if not callable(optimizer):
        raise NintError(
            f"optimizer must be a function of the model returning a torch.optim.Optimizer, "
            f"got {_describe(optimizer)}"
        )
    if lr_given:
        raise NintError(
            "lr would be ignored with optimizer=: set the learning rate in the optimizer the "
            "factory builds"
        )


def build_optimizer(
    factory: OptimizerFactory | None, model: nn.Module, lr: float | None
) -> torch.optim.Optimizer:
    """The fit's optimizer: Adam(lr) over all parameters (the default; with the Adam options a
    backbone declares, ``nint.models.adam_options``), or ``factory(model)``, checked to be an
    optimizer of (some of) the model's parameters and nothing else."""
    if factory is None:
        assert lr is not None  # FitSettings.for_signal fills in the backbone's default
        return torch.optim.Adam(model.parameters(), lr=lr, **adam_options(model))
    name = callable_name(factory)
    try:
        optimizer = factory(model)
    except Exception as err:  # the caller's code: one line naming it, not a traceback
        raise NintError(
            f"optimizer {name} failed on the model: {_first_line(err)} (it receives the model; "
            f"e.g. optimizer=lambda model: torch.optim.SGD(model.parameters(), lr=0.1))"
        ) from None
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise NintError(
            f"optimizer {name} returned {_describe(optimizer)}, not a torch.optim.Optimizer"
        )
    mine = {id(p) for p in model.parameters()}
    held = [p for group in optimizer.param_groups for p in group["params"]]
    foreign = sum(id(p) not in mine for p in held)
    if foreign or not held:
        what = f"{foreign} tensor(s) that are not the model's" if foreign else "no parameters"
        raise NintError(
            f"optimizer {name} returned an optimizer of {what}; build it from the parameters "
            f"of the model it receives"
        )
    return optimizer


def optimizer_config(optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """config.json's record of an optimizer: its class name and, per parameter group, the
    hyperparameters that are JSON values (lr, betas, weight_decay, ...; tensors as floats)."""
    groups = []
    for group in optimizer.param_groups:
        record = {}
        for key, value in group.items():
            if key == "params":
                record["n_tensors"] = len(value)
                continue
            if isinstance(value, torch.Tensor) and value.numel() == 1:
                value = value.item()
            if isinstance(value, tuple):
                value = list(value)
            if _json_value(value):
                record[key] = value
        groups.append(record)
    return {"optimizer": type(optimizer).__name__, "optimizer_param_groups": groups}


def _json_value(value: object) -> bool:
    if isinstance(value, list):
        return all(_json_value(v) for v in value)
    return value is None or isinstance(value, (bool, int, float, str))


def probe_model(model: nn.Module, signal: Signal, device: torch.device) -> None:
    """Run ``model`` on two of the signal's coordinates and check that it returns (2, C) with
    C the signal's channels; NintError naming the model otherwise, before any training.

    Off the training clock and without gradients; the model is put in eval mode (no dropout
    draws, no batch-norm statistics updated) and the global RNG is restored afterwards, so a
    fit with the probe selects and trains exactly as one without it.
    """
    coords = signal.coords[:2].to(device)
    name, channels = type(model).__name__, signal.out_features
    modes = [(m, m.training) for m in model.modules()]
    cuda = [device] if device.type == "cuda" else []
    try:
        with torch.random.fork_rng(devices=cuda), torch.no_grad():
            model.eval()
            out = model(coords)
    except Exception as err:  # the caller's model: one line naming it, not a traceback
        raise NintError(
            f"model {name} fails on the signal's coordinates ({coords.shape[1]}-D, "
            f"{str(coords.dtype).removeprefix('torch.')}): {_first_line(err)}"
        ) from None
    finally:
        for module, training in modes:
            module.training = training
    if not isinstance(out, torch.Tensor):
        raise NintError(f"model {name} returns {_describe(out)}, not a tensor")
    if out.ndim != 2 or out.shape[0] != coords.shape[0]:
        raise NintError(
            f"model {name} maps {tuple(coords.shape)} coordinates to shape {tuple(out.shape)}; "
            f"fit needs one row of outputs per coordinate: ({coords.shape[0]}, {channels})"
        )
    if out.shape[1] != channels:
        raise NintError(
            f"model {name} maps {coords.shape[1]}-D coordinates to {out.shape[1]} outputs; the "
            f"{signal.modality or 'signal'} signal has {channels} channel"
            f"{'s' if channels != 1 else ''}: give the model {channels} output"
            f"{'s' if channels != 1 else ''}"
        )


def callable_name(fn: object) -> str:
    """How config.json and messages name a callable: its qualified name ('<lambda>' too)."""
    return getattr(fn, "__qualname__", None) or type(fn).__qualname__


def _first_line(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    return f"{type(err).__name__}: {lines[0]}" if lines else type(err).__name__


def _describe(value: object) -> str:
    """A value, as messages name it: None, the class X, a dict, the string 'x'."""
    if value is None:
        return "None"
    if isinstance(value, type):
        return f"the class {value.__name__}"
    if isinstance(value, str):
        return f"the string {value!r}"
    return _a(type(value).__name__)


def _a(noun: str) -> str:
    """'a dict', 'an int'."""
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"
