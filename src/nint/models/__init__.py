"""INR backbones and full-signal inference."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .inference import fast_inference, fast_inference_enabled, predict
from .siren import SineLayer, Siren

if TYPE_CHECKING:
    from .compiled import CompiledSiren

__all__ = [
    "CompiledSiren",
    "Siren",
    "SineLayer",
    "fast_inference",
    "fast_inference_enabled",
    "predict",
]


def __getattr__(name: str) -> Any:
    # CompiledSiren is imported on first use: only fit(compile=True) needs it, and `import nint`
    # should not pay for the torch.compile machinery it leads to
    if name == "CompiledSiren":
        from .compiled import CompiledSiren

        return CompiledSiren
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
