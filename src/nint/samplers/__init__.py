"""Sampling strategies, one file each, registered by name with ``@register``.

The built-in strategies are imported in the paper's table order; any other module in this
package is imported after them, so a new strategy file registers itself with no other edit.
A strategy defined outside the package registers itself the same way when its module is
imported (``@nint.samplers.register``).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import NintError
from .base import Option, Sampler, SelectionContext, StepFeedback
from .registry import (
    SAMPLERS,
    check_strategy,
    declared_options,
    display_name,
    image_only,
    keyword_options,
    register,
)

#: the built-in strategies' modules, in the order of the paper's tables
BUILT_IN = ("standard", "uniform", "int_", "evos", "soft", "expansive", "egra", "nint")
_HELPERS = ("base", "registry", "priors")
for _module in BUILT_IN + tuple(
    m.name for m in pkgutil.iter_modules(__path__) if m.name not in BUILT_IN + _HELPERS
):
    importlib.import_module(f"{__name__}.{_module}")


def make_sampler(
    name: str, n_points: int, raster: np.ndarray | None = None, **options: Any
) -> Sampler:
    """Build a registered sampler. Unknown names and options raise ``NintError``.

    Args:
        name: a key of ``SAMPLERS``.
        n_points: N, the number of coordinates.
        raster: the signal's image (``Signal.raster``), handed to strategies that take one
            (soft, expansive, egra, evos with crossover); image-only ones raise NintError
            without one.
        **options: the strategy's keyword options (``sampler_options(name)``) and ``seed``.
    """
    check_strategy(name)
    cls = SAMPLERS[name]
    accepted = sampler_options(name)
    unknown = sorted(set(options) - set(accepted) - {"seed"})
    if unknown:
        raise NintError(
            f"strategy {name!r} does not take {', '.join(unknown)}; it takes {', '.join(accepted)}"
        )
    # a strategy's own constructor: its options (and raster=) were checked against it above
    construct: Callable[..., Sampler] = cls
    if cls.takes_raster():
        return construct(n_points, raster=raster, **options)
    return construct(n_points, **options)


def sampler_options(name: str) -> list[str]:
    """The keyword options a registered strategy accepts (its own and the common ones)."""
    return keyword_options(SAMPLERS[name])


__all__ = [
    "BUILT_IN",
    "SAMPLERS",
    "Option",
    "Sampler",
    "SelectionContext",
    "StepFeedback",
    "check_strategy",
    "declared_options",
    "display_name",
    "image_only",
    "make_sampler",
    "register",
    "sampler_options",
]
