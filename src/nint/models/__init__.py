"""INR backbones and full-signal inference."""

from .inference import predict
from .siren import SineLayer, Siren

__all__ = ["Siren", "SineLayer", "predict"]
