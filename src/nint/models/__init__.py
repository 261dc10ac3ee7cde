"""INR backbones."""

from .siren import SineLayer, Siren

__all__ = ["Siren", "SineLayer"]
