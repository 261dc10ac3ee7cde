"""INR backbones, their registry and contract, and full-signal inference.

The contract (``nint.models.base``; docs/models.md): a backbone maps (N, D) float32 coordinates
to (N, C), is initialised by its seed, declares its config and optionally a reduced-precision
scorer. ``model_config(model)`` and ``scorer_copy(model, dtype)`` read those declarations for
any module. The registry (``BACKBONES``, ``register``, ``build_model``) is imported on first use
of one of its names: it checks new options against the strategies' and settings' names, which
import this package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import Backbone, adam_options, model_config, scorer_copy
from .inference import fast_inference, fast_inference_enabled, predict
from .siren import SineLayer, Siren

if TYPE_CHECKING:
    from .compiled import CompiledSiren
    from .finer import Finer
    from .fourier import FourierFeatures
    from .gauss import Gauss
    from .hashgrid import HashGrid
    from .registry import BACKBONES, build_model, check_backbone, register
    from .wire import Wire

__all__ = [
    "BACKBONES",
    "Backbone",
    "CompiledSiren",
    "Finer",
    "FourierFeatures",
    "Gauss",
    "HashGrid",
    "Siren",
    "SineLayer",
    "Wire",
    "adam_options",
    "build_model",
    "check_backbone",
    "fast_inference",
    "fast_inference_enabled",
    "model_config",
    "predict",
    "register",
    "scorer_copy",
]

#: names imported on first use -> their module
_LAZY = {
    "CompiledSiren": "compiled",
    "BACKBONES": "registry",
    "build_model": "registry",
    "check_backbone": "registry",
    "register": "registry",
    "Finer": "finer",
    "FourierFeatures": "fourier",
    "Gauss": "gauss",
    "HashGrid": "hashgrid",
    "Wire": "wire",
}


def __getattr__(name: str) -> Any:
    # CompiledSiren: only fit(compile=True) needs it, and `import nint` should not pay for the
    # torch.compile machinery it leads to. The registry: see the module docstring.
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    if module != "registry":
        importlib.import_module(f"{__name__}.registry")  # every backbone registered first
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
