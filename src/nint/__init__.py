"""nint: NTK-guided coordinate sampling (NINT) and its baselines for training implicit neural
representations.

>>> import nint
>>> signal = nint.load_image("photo.png", size=256)            # doctest: +SKIP
>>> result = nint.fit(signal, "nint", seconds=60, progress=True)  # doctest: +SKIP
>>> result.summary["final"]["psnr"]                            # doctest: +SKIP

The public names are imported on first use (module ``__getattr__``, PEP 562): ``import nint`` and
``nint --version`` do not import torch; ``nint.fit`` or ``from nint import fit`` do.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> the submodule that defines it
_EXPORTS: dict[str, str] = {
    "AudioSignal": "signals",
    "Batch": "teacher",
    "FitResult": "result",
    "FitSettings": "settings",
    "INTERVALS": "schedules",
    "ImageSignal": "signals",
    "NintError": "errors",
    "SAMPLERS": "samplers",
    "SCHEDULERS": "schedules",
    "Sampler": "samplers",
    "SdfSignal": "signals",
    "SelectionContext": "samplers",
    "Signal": "signals",
    "Siren": "models",
    "Teacher": "teacher",
    "batch_ratio": "schedules",
    "error_scores": "ntk",
    "fit": "train",
    "kernel_residual_product": "ntk",
    "list_utterances": "signals",
    "load_run": "checkpoint",
    "load_audio": "signals",
    "load_image": "signals",
    "load_mesh": "signals",
    "load_signal": "signals",
    "load_utterances": "signals",
    "make_sampler": "samplers",
    "ntk_scores": "ntk",
    "sampling_interval": "schedules",
}

# a literal list, as type checkers read it (tests/test_import_cost.py checks it matches _EXPORTS)
__all__ = [
    "AudioSignal",
    "Batch",
    "FitResult",
    "FitSettings",
    "INTERVALS",
    "ImageSignal",
    "NintError",
    "SAMPLERS",
    "SCHEDULERS",
    "Sampler",
    "SdfSignal",
    "SelectionContext",
    "Signal",
    "Siren",
    "Teacher",
    "batch_ratio",
    "error_scores",
    "fit",
    "kernel_residual_product",
    "list_utterances",
    "load_audio",
    "load_image",
    "load_mesh",
    "load_run",
    "load_signal",
    "load_utterances",
    "make_sampler",
    "ntk_scores",
    "sampling_interval",
]

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time __getattr__ imports these
    from .checkpoint import load_run
    from .errors import NintError
    from .models import Siren
    from .ntk import error_scores, kernel_residual_product, ntk_scores
    from .result import FitResult
    from .samplers import SAMPLERS, Sampler, SelectionContext, make_sampler
    from .schedules import INTERVALS, SCHEDULERS, batch_ratio, sampling_interval
    from .settings import FitSettings
    from .signals import (
        AudioSignal,
        ImageSignal,
        SdfSignal,
        Signal,
        list_utterances,
        load_audio,
        load_image,
        load_mesh,
        load_signal,
        load_utterances,
    )
    from .teacher import Batch, Teacher
    from .train import fit


def _import_public_name(name: str) -> Any:
    """Import a public name's submodule on first use and cache the name here."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if not TYPE_CHECKING:
    # hidden from type checkers, which would otherwise accept any attribute of nint (a module
    # __getattr__ answers every name); they see the names through the imports above
    __getattr__ = _import_public_name
