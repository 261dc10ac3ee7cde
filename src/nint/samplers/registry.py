"""The strategy registry: one ``@register`` on a sampler class, and everything else follows.

The command line's flags, ``nint strategies``, ``nint demo``, ``nint bench`` and the benchmark
tables all read the registry and the class's declarations (``name``, ``display_name``,
``options``, ``uses``, ``needs_image``, ...), so a new strategy is one file.
"""

from __future__ import annotations

import inspect

from ..errors import NintError
from .base import Option, Sampler

#: name -> sampler class, in registration order (the paper's table order for the built-ins)
SAMPLERS: dict[str, type[Sampler]] = {}
#: keyword arguments of a sampler that are not user options
_NOT_OPTIONS = ("raster", "seed")


def register(cls: type[Sampler]) -> type[Sampler]:
    """Register a sampler class under its ``name`` (a class decorator); returns the class.

    Its declared ``options`` must be exactly the keyword arguments it takes beyond the seed and
    the signal's raster, so the command line can never offer an option the class refuses.
    """
    if not cls.name or not cls.display_name:
        raise NintError(f"{cls.__name__} needs a name and a display_name to be registered")
    declared = {option.name for option in declared_options(cls)}
    accepted = set(keyword_options(cls))
    if declared != accepted:
        raise NintError(
            f"{cls.__name__} declares options {sorted(declared)} but takes {sorted(accepted)}"
        )
    SAMPLERS[cls.name] = cls
    return cls


def check_strategy(name: str) -> str:
    """``name`` if it is registered, else NintError listing the registered names."""
    if name not in SAMPLERS:
        raise NintError(f"unknown strategy {name!r}; choose from {', '.join(SAMPLERS)}")
    return name


def display_name(name: str) -> str:
    """The table name of a registered strategy ("NINT", "Stand."), else ``name`` itself."""
    cls = SAMPLERS.get(name)
    return cls.display_name if cls is not None else name


def image_only() -> tuple[str, ...]:
    """The registered strategies that need an image's pixel grid."""
    return tuple(name for name, cls in SAMPLERS.items() if cls.needs_image)


def declared_options(cls: type[Sampler]) -> list[Option]:
    """The options of ``cls`` and its bases, base-class options first."""
    found: dict[str, Option] = {}
    for klass in reversed(cls.__mro__):
        for option in vars(klass).get("options", ()):
            found[option.name] = option
    return list(found.values())


def keyword_options(cls: type[Sampler]) -> list[str]:
    """The keyword options ``cls`` accepts (its own and its bases'), seed and raster excluded."""
    names: list[str] = []
    for klass in cls.__mro__:
        if klass is object or "__init__" not in vars(klass):
            continue
        for param in inspect.signature(vars(klass)["__init__"]).parameters.values():
            if (
                param.kind is param.KEYWORD_ONLY
                and param.name not in names
                and param.name not in _NOT_OPTIONS
            ):
                names.append(param.name)
    return names
