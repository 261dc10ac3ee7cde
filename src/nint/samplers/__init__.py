"""Sampling strategies, registered by name."""

from __future__ import annotations

import inspect
from typing import Any

from ..errors import NintError
from .base import Sampler, SelectionContext
from .evos import EvosSampler
from .int_ import IntSampler
from .nint import NintSampler
from .standard import StandardSampler
from .uniform import UniformSampler

#: name -> sampler class; the names used on the command line and in tables
SAMPLERS: dict[str, type[Sampler]] = {
    "standard": StandardSampler,
    "uniform": UniformSampler,
    "int": IntSampler,
    "evos": EvosSampler,
    "nint": NintSampler,
}

#: the names of the seed's tables
DISPLAY_NAMES = {
    "standard": "Stand.",
    "uniform": "Unif.",
    "int": "INT",
    "evos": "EVOS",
    "nint": "NINT",
}


def make_sampler(name: str, n_points: int, **options: Any) -> Sampler:
    """Build a registered sampler. Unknown names and options raise ``NintError``."""
    check_strategy(name)
    accepted = sampler_options(name)
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise NintError(
            f"strategy {name!r} does not take {', '.join(unknown)}; it takes {', '.join(accepted)}"
        )
    return SAMPLERS[name](n_points, **options)


def check_strategy(name: str) -> str:
    """``name`` if it is registered, else NintError listing the registered names."""
    if name not in SAMPLERS:
        raise NintError(f"unknown strategy {name!r}; choose from {', '.join(SAMPLERS)}")
    return name


def sampler_options(name: str) -> list[str]:
    """The keyword options a registered strategy accepts (its own and the common ones)."""
    names: list[str] = []
    for cls in SAMPLERS[name].__mro__:
        if cls is object or "__init__" not in vars(cls):
            continue
        for param in inspect.signature(vars(cls)["__init__"]).parameters.values():
            if param.kind is param.KEYWORD_ONLY and param.name not in names:
                names.append(param.name)
    return names


__all__ = [
    "SAMPLERS",
    "DISPLAY_NAMES",
    "Sampler",
    "SelectionContext",
    "check_strategy",
    "make_sampler",
    "sampler_options",
]
