"""Sampling strategies, registered by name."""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from ..errors import NintError
from .base import Sampler, SelectionContext, StepFeedback
from .egra import EgraSampler
from .evos import EvosSampler
from .expansive import ExpansiveSampler
from .int_ import IntSampler
from .nint import NintSampler
from .soft import SoftMiningSampler
from .standard import StandardSampler
from .uniform import UniformSampler

#: name -> sampler class; the names used on the command line and in tables
SAMPLERS: dict[str, type[Sampler]] = {
    "standard": StandardSampler,
    "uniform": UniformSampler,
    "int": IntSampler,
    "evos": EvosSampler,
    "soft": SoftMiningSampler,
    "expansive": ExpansiveSampler,
    "egra": EgraSampler,
    "nint": NintSampler,
}

#: the names of the seed's tables
DISPLAY_NAMES = {
    "standard": "Stand.",
    "uniform": "Unif.",
    "int": "INT",
    "evos": "EVOS",
    "soft": "SoftM.",
    "expansive": "Expan.",
    "egra": "EGRA",
    "nint": "NINT",
}

#: strategies that need an image's pixel grid (``Signal.raster``); the seed runs them on images only
IMAGE_ONLY = ("soft", "expansive", "egra")


def make_sampler(
    name: str, n_points: int, raster: np.ndarray | None = None, **options: Any
) -> Sampler:
    """Build a registered sampler. Unknown names and options raise ``NintError``.

    Args:
        name: a key of ``SAMPLERS``.
        n_points: N, the number of coordinates.
        raster: the signal's image (``Signal.raster``), handed to strategies with an image prior
            (soft, expansive, egra, evos with crossover); they raise NintError without one.
        **options: the strategy's keyword options (``sampler_options(name)``).
    """
    check_strategy(name)
    accepted = sampler_options(name)
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise NintError(
            f"strategy {name!r} does not take {', '.join(unknown)}; it takes {', '.join(accepted)}"
        )
    cls = SAMPLERS[name]
    if _takes_raster(cls):
        return cls(n_points, raster=raster, **options)
    return cls(n_points, **options)


def _takes_raster(cls: type[Sampler]) -> bool:
    return "raster" in inspect.signature(cls.__init__).parameters


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
            if (
                param.kind is param.KEYWORD_ONLY
                and param.name not in names
                and param.name != "raster"  # the signal's image, not a user option
            ):
                names.append(param.name)
    return names


__all__ = [
    "SAMPLERS",
    "DISPLAY_NAMES",
    "Sampler",
    "SelectionContext",
    "StepFeedback",
    "IMAGE_ONLY",
    "check_strategy",
    "make_sampler",
    "sampler_options",
]
