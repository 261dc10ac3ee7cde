"""Gauss (Ramasinghe & Lucey, ECCV 2022): an MLP with Gaussian activations exp(-(s z)^2).

Choices (docs/deviations.md, "Backbones"): weights and biases keep PyTorch's ``nn.Linear``
initialisation (the paper prescribes none specific to Gaussians, as far as we know); the scale
s defaults to 10, the low end of the 10-30 the paper and later comparisons use for images; width
and depth default to nint's SIREN (256 x 5).
"""

from __future__ import annotations

import torch
from torch import nn

from ..checks import FLOAT32_POSITIVE, check_memory
from ..errors import NintError
from ..options import Option
from .base import Backbone
from .siren import DEPTH, WIDTH, mlp_parameter_count

GAUSS_SCALE = Option(
    "gauss_scale", "Gauss: activation scale s of exp(-(s z)^2)", allowed=FLOAT32_POSITIVE
)


def gauss_activation(z: torch.Tensor, scale: float) -> torch.Tensor:
    """exp(-(s z)^2). Shapes: any -> the same."""
    return torch.exp(-((scale * z) ** 2))


class GaussLayer(nn.Module):
    """y = exp(-(s (W x + b))^2)."""

    def __init__(self, in_features: int, out_features: int, scale: float) -> None:
        super().__init__()
        self.scale = scale
        self.linear = nn.Linear(in_features, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return gauss_activation(self.linear(x), self.scale)


class Gauss(Backbone):
    """``depth`` Gaussian layers of ``width`` units, then a linear output layer.

    Args:
        in_features, out_features: D and C.
        width, depth: hidden units and Gaussian layers (256, 5).
        gauss_scale: s (10).

    Shapes: (N, D) -> (N, C).
    """

    name = "gauss"
    display_name = "Gauss"
    options = (WIDTH, DEPTH, GAUSS_SCALE)
    # our choice for images (the WIRE comparisons train Gauss near 1e-3 to 5e-3); measured by
    # benchmarks/backbones.py
    default_lr = 1e-3

    def __init__(
        self, in_features: int, out_features: int, width: int = 256, depth: int = 5,
        gauss_scale: float = 10.0,
    ) -> None:  # fmt: skip
        super().__init__()
        if depth < 1 or width < 1:
            raise NintError(f"Gauss needs depth >= 1 and width >= 1, got {depth} x {width}")
        params = mlp_parameter_count(in_features, width, depth, out_features)
        check_memory(16 * params, f"a Gauss MLP of width {width}")
        layers: list[nn.Module] = [GaussLayer(in_features, width, gauss_scale)]
        layers += [GaussLayer(width, width, gauss_scale) for _ in range(depth - 1)]
        layers.append(nn.Linear(width, out_features))
        self.net = nn.Sequential(*layers)
        self.hparams = {
            "in_features": in_features, "out_features": out_features, "width": width,
            "depth": depth, "gauss_scale": gauss_scale,
        }  # fmt: skip

    def forward(self, coords: torch.Tensor) -> torch.Tensor:
        return self.net(coords)
