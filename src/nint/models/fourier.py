"""Fourier features (Tancik et al., NeurIPS 2020): random Gaussian Fourier features of the
coordinates, then a ReLU MLP.

gamma(x) = [cos(2 pi B x), sin(2 pi B x)] with B ~ N(0, sigma^2) of shape (m, D), drawn once from
the build seed and kept as a persistent buffer (saved with the weights; not trained, so it is no
part of the NTK).

Choices (docs/deviations.md, "Backbones"): m = 256 features; sigma = 5 on nint's [-1, 1]
coordinates, which is the paper's sigma = 10 on its [0, 1] coordinates (x' = 2 x - 1 doubles
every frequency; the constant phase it adds is immaterial for random B); 3 ReLU layers of 256
(the paper's image network: 4 linear layers of 256); PyTorch's ``nn.Linear`` initialisation;
a linear output (the paper ends images with a sigmoid).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..checks import POSITIVE, check_memory
from ..errors import NintError
from ..options import Option
from .base import Backbone
from .siren import DEPTH, WIDTH

FOURIER_FEATURES = Option(
    "fourier_features", "Fourier features: m, the number of frequencies", type=int
)
FOURIER_SIGMA = Option(
    "fourier_sigma",
    "Fourier features: sigma of B ~ N(0, sigma^2) on [-1, 1] coordinates",
    allowed=POSITIVE,
)


def fourier_encoding(coords: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """[cos(2 pi B x), sin(2 pi B x)]: (N, D) coordinates, (m, D) B -> (N, 2m)."""
    projected = (2.0 * math.pi) * coords @ b.t()
    return torch.cat([torch.cos(projected), torch.sin(projected)], dim=1)


def relu_mlp(in_features: int, width: int, depth: int, out_features: int) -> nn.Sequential:
    """``depth`` Linear + ReLU layers of ``width`` units, then a linear output layer."""
    layers: list[nn.Module] = []
    for i in range(depth):
        layers += [nn.Linear(in_features if i == 0 else width, width), nn.ReLU()]
    layers.append(nn.Linear(width if depth else in_features, out_features))
    return nn.Sequential(*layers)


class FourierFeatures(Backbone):
    """Random Fourier features of the coordinates, then ``depth`` ReLU layers of ``width``.

    Args:
        in_features, out_features: D and C.
        width, depth: hidden units and ReLU layers (256, 3).
        fourier_features: m, the number of random frequencies (256).
        fourier_sigma: the standard deviation of B's entries (5 on [-1, 1]).

    Shapes: (N, D) -> (N, C).
    """

    name = "fourier"
    display_name = "Fourier features"
    options = (WIDTH, DEPTH, FOURIER_FEATURES, FOURIER_SIGMA)
    default_lr = 1e-3  # the paper's Adam rate for images

    def __init__(
        self, in_features: int, out_features: int, width: int = 256, depth: int = 3,
        fourier_features: int = 256, fourier_sigma: float = 5.0,
    ) -> None:  # fmt: skip
        super().__init__()
        if depth < 1 or width < 1 or fourier_features < 1:
            raise NintError(
                f"Fourier features need depth, width and fourier_features >= 1, got "
                f"{depth}, {width}, {fourier_features}"
            )
        params = (2 * fourier_features + 1) * width + (depth - 1) * (width + 1) * width
        check_memory(16 * params, f"a Fourier-feature MLP of width {width}")
        self.register_buffer("b", torch.randn(fourier_features, in_features) * fourier_sigma)
        self.b: torch.Tensor
        self.mlp = relu_mlp(2 * fourier_features, width, depth, out_features)
        self.hparams = {
            "in_features": in_features, "out_features": out_features, "width": width,
            "depth": depth, "fourier_features": fourier_features, "fourier_sigma": fourier_sigma,
        }  # fmt: skip

    def forward(self, coords: torch.Tensor) -> torch.Tensor:
        return self.mlp(fourier_encoding(coords, self.b))
