"""The backbone registry: a ``Backbone`` class with one ``@register``, and everything else follows.

``nint fit --model NAME`` and its flags, ``nint.fit(signal, model=NAME, **options)``, config.json
and ``nint.load_run``/``nint render`` all read the registry and the class's declarations
(``nint.models.base.Backbone``: ``name``, ``options``, ``default_lr``, ``adam_options``).

The model contract
------------------
- ``forward`` maps (N, D) float32 coordinates to (N, C) outputs.
- The seed initialises it: ``build_model(name, D, C, seed=s, **options)`` gives identical
  weights every time (it seeds the global torch RNG inside ``torch.random.fork_rng``, so the
  caller's RNG state is left as it was). The default SIREN is built exactly as before the
  registry existed (``torch.manual_seed(seed)`` then ``Siren(...)``), bit for bit.
- ``model_config(model)`` is its declared config (registry name, class, sizes and options), which
  config.json records and ``build_model(**config)`` rebuilds; for a module that is not a
  backbone it is ``{"class": ClassName, "rebuild_refused": why}``.
- Optionally a reduced-precision scorer for the fast selection: ``scorer_copy(model, dtype)``
  returns it, or None.
- Every trainable tensor is real.

Options share ``nint fit``'s flat flag namespace with the fit settings, the strategies' options
and the loaders' options, so an option whose name or flag is already one of those is refused
when the backbone is registered. Backbones may share an option (``width``), if they declare it
alike (same flag, type and range).

A backbone of your own::

    @nint.models.register
    class Tiny(nint.models.Backbone):
        name, display_name = "tiny", "Tiny"
        options = (Option("tiny_width", "hidden units (32)", type=int),)

        def __init__(self, in_features, out_features, tiny_width=32):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(in_features, tiny_width), nn.ReLU(),
                                     nn.Linear(tiny_width, out_features))
            self.hparams = {"in_features": in_features, "out_features": out_features,
                            "tiny_width": tiny_width}

        def forward(self, coords):
            return self.net(coords)

Register it before the command line's parser is built (import its module first) for
``--model tiny``; from Python ``nint.fit(signal, model="tiny")`` works once it is registered.
"""

from __future__ import annotations

import inspect
from typing import Any

import torch

from ..checks import POSITIVE, check_float, check_int, check_seed
from ..errors import NintError
from ..options import Option
from .base import Backbone

#: name -> backbone class, in registration order (the built-ins first)
BACKBONES: dict[str, type[Backbone]] = {}
#: the backbone a fit builds when none is named
DEFAULT_BACKBONE = "siren"
#: arguments of every backbone's ``__init__`` that are not options
_SIZES = ("in_features", "out_features")
#: names of ``nint fit``'s own flags and of ``nint.fit``'s arguments that are neither settings,
#: strategy options nor loader options (tests/test_backbones.py checks the parser against it)
COMMAND_NAMES = (
    "input", "config", "strategy", "model", "out", "overwrite", "quiet", "tensorboard",
    "signal", "settings", "callback", "optimizer", "help", "version",
)  # fmt: skip


def register(cls: type[Backbone]) -> type[Backbone]:
    """Register a backbone class under its ``name`` (a class decorator); returns the class.

    Raises NintError, at registration, when the class has no name, reuses a registered name,
    declares options other than the keyword arguments it takes beyond the input and output
    sizes, declares no positive ``default_lr``, or declares an option whose name or flag is
    already taken by a fit setting, a strategy option, a loader option, one of ``nint fit``'s
    own flags, or (declared differently) another backbone's option.
    """
    if not (isinstance(cls, type) and issubclass(cls, Backbone)):
        raise NintError(f"register takes a nint.models.Backbone subclass, got {cls!r}")
    if not cls.name or not cls.display_name:
        raise NintError(f"{cls.__name__} needs a name and a display_name to be registered")
    if cls.name in BACKBONES:
        raise NintError(f"a backbone named {cls.name!r} is already registered")
    declared = [option.name for option in cls.options]
    accepted = list(option_defaults(cls))
    if sorted(declared) != sorted(accepted):
        raise NintError(
            f"{cls.__name__} declares options {sorted(declared)} but takes {sorted(accepted)}"
        )
    check_float(cls.default_lr, f"{cls.__name__}.default_lr", POSITIVE)
    for option in cls.options:
        clash = _clash(option)
        if clash:
            raise NintError(
                f"backbone {cls.name!r}: option {option.name!r} ({option.cli_flag}) clashes "
                f"with {clash}"
            )
    BACKBONES[cls.name] = cls
    return cls


def _clash(option: Option) -> str | None:
    """What ``option``'s name or flag is already used by, or None."""
    taken = _taken()
    for key in (option.name, option.cli_flag):
        if key in taken:
            return taken[key]
    for name, cls in BACKBONES.items():
        for other in cls.options:
            if other.name == option.name and _shape(other) != _shape(option):
                return f"the option of backbone {name!r} declared differently"
            if other.name != option.name and other.cli_flag == option.cli_flag:
                return f"option {other.name!r} of backbone {name!r}"
    return None


def _shape(option: Option) -> tuple:
    """What two backbones sharing an option must agree on (the help may differ)."""
    return (option.cli_flag, option.type, option.choices, option.allowed)


def _taken() -> dict[str, str]:
    """Names and flags already in ``nint fit``'s namespace -> what holds them.

    Imported here, not at the top: the settings, strategies and loaders import ``nint.models``,
    and the registry is only imported after them."""
    from dataclasses import fields

    from ..samplers import SAMPLERS, declared_options
    from ..settings import FitSettings
    from ..signals import MODALITIES

    taken: dict[str, str] = {}

    def add(name: str, flag: str, what: str) -> None:
        taken.setdefault(name, what)
        taken.setdefault(flag, what)

    for name in COMMAND_NAMES:
        add(name, "--" + name.replace("_", "-"), f"nint fit's own {name!r}")
    for field in fields(FitSettings):
        add(field.name, "--" + field.name.replace("_", "-"), f"the fit setting {field.name!r}")
    for strategy, cls in SAMPLERS.items():
        for option in declared_options(cls):
            add(option.name, option.cli_flag, f"an option of strategy {strategy!r}")
    for modality in MODALITIES.values():
        for option in modality.options:
            add(option.name, option.cli_flag, f"an option of {modality.label} files")
    return taken


def check_backbone(name: object) -> str:
    """``name`` if it is a registered backbone, else NintError listing the registered names."""
    if not isinstance(name, str) or name not in BACKBONES:
        raise NintError(f"unknown model {name!r}; choose from {', '.join(BACKBONES)}")
    return name


def option_defaults(cls: type[Backbone]) -> dict[str, Any]:
    """The options ``cls.__init__`` takes beyond the sizes, with their defaults (None: none)."""
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]  # self
    return {
        p.name: None if p.default is p.empty else p.default
        for p in params
        if p.name not in _SIZES and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }


def model_option_names() -> dict[str, Option]:
    """Every registered backbone's option, by name (first declaration)."""
    found: dict[str, Option] = {}
    for cls in BACKBONES.values():
        for option in cls.options:
            found.setdefault(option.name, option)
    return found


def owners(option: str) -> list[str]:
    """The registered backbones that take ``option``."""
    return [name for name, cls in BACKBONES.items() if option in {o.name for o in cls.options}]


def check_model_options(name: str, options: dict[str, Any]) -> dict[str, Any]:
    """``options`` checked for backbone ``name``: NintError, in one line, for an option it does
    not take (naming the backbones that do) or a value out of its range; None values are
    left out (the backbone's default)."""
    cls = BACKBONES[check_backbone(name)]
    declared = {option.name: option for option in cls.options}
    checked: dict[str, Any] = {}
    for key, value in options.items():
        if value is None:
            continue
        if key not in declared:
            takers = owners(key)
            where = f" (it is an option of {', '.join(repr(t) for t in takers)})" if takers else ""
            raise NintError(f"model {name!r} does not take {key!r}{where}")
        option = declared[key]
        if option.type is int:
            checked[key] = check_int(value, key, 1)
        elif option.allowed is not None:
            checked[key] = check_float(value, key, option.allowed)
        elif option.choices is not None and value not in option.choices:
            raise NintError(f"{key} must be one of {', '.join(option.choices)}, got {value!r}")
        else:
            checked[key] = value
    return checked


def build_model(
    name: str, in_features: int, out_features: int, seed: int = 0, **options: Any
) -> Backbone:
    """The registered backbone ``name`` for D = ``in_features`` inputs and C = ``out_features``
    outputs, initialised from ``seed`` (same seed, same weights), with ``options`` (the
    backbone's defaults for those left out or None).

    The global torch RNG is seeded inside ``torch.random.fork_rng``: the caller's RNG state is
    unchanged afterwards. Extra keys of a recorded config (``class``) are ignored, so
    ``build_model(**config["model"])`` rebuilds a run's model.
    """
    options.pop("class", None)
    checked = check_model_options(name, options)
    seed = check_seed(seed)
    cls = BACKBONES[name]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return cls(in_features, out_features, **checked)


def _register_built_ins() -> None:
    from .finer import Finer
    from .fourier import FourierFeatures
    from .gauss import Gauss
    from .hashgrid import HashGrid
    from .siren import Siren
    from .wire import Wire

    for cls in (Siren, Finer, Wire, Gauss, FourierFeatures, HashGrid):
        register(cls)


_register_built_ins()
