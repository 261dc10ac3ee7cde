"""INR backbones and full-signal inference."""

from .compiled import CompiledSiren
from .inference import fast_inference, fast_inference_enabled, predict
from .siren import SineLayer, Siren

__all__ = [
    "CompiledSiren",
    "Siren",
    "SineLayer",
    "fast_inference",
    "fast_inference_enabled",
    "predict",
]
