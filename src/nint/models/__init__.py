"""INR backbones and full-signal inference."""

from .inference import fast_inference, fast_inference_enabled, predict
from .siren import SineLayer, Siren

__all__ = ["Siren", "SineLayer", "fast_inference", "fast_inference_enabled", "predict"]
