"""WIRE (Saragadam et al., CVPR 2023): an MLP with complex Gabor wavelet activations,
parametrised with real tensors only.

A complex layer z = W h + b, with W = A + iB, b = c + id and h = u + iv, is computed as

    Re z = A u - B v + c,    Im z = A v + B u + d

from four real parameters, and the activation psi(z) = exp(i omega z) exp(-|s z|^2) as

    |psi| = exp(-omega Im z - s^2 |z|^2),   psi = |psi| (cos(omega Re z) + i sin(omega Re z)).

The first layer is real (z = W x + b), as in the paper; the output is the real part of a last
complex linear layer. So the NTK product, Adam and safetensors see real tensors only, and the
function is the paper's: Adam on (A, B) is Adam on the real and imaginary parts of W, which is
what PyTorch's Adam does for a complex parameter (it views it as real pairs).

Choices (docs/deviations.md, "Backbones"): omega_0 = 20 and s = 10 for every layer (the paper's
image values, as far as we know); width 181 = 256 / sqrt(2) (the paper narrows the hidden layers
by sqrt(2) to keep a real network's parameter count); depth 3 Gabor layers (first + 2 hidden);
the complex layers' real and imaginary weights and biases each drawn from U(-1/sqrt(n),
1/sqrt(n)), PyTorch's ``nn.Linear`` bound applied per part.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..checks import FLOAT32_POSITIVE, check_memory
from ..errors import NintError
from ..options import Option
from .base import Backbone
from .siren import DEPTH, OMEGA_0, WIDTH

WIRE_SCALE = Option("wire_scale", "WIRE: Gabor window scale s0", allowed=FLOAT32_POSITIVE)


def gabor(
    re: torch.Tensor, im: torch.Tensor, omega: float, scale: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """The complex Gabor wavelet exp(i omega z) exp(-|s z|^2) of z = re + i im, as (real part,
    imaginary part). Shapes: two equal shapes -> two of the same shape."""
    magnitude = torch.exp(-omega * im - scale**2 * (re * re + im * im))
    phase = omega * re
    return magnitude * torch.cos(phase), magnitude * torch.sin(phase)


class ComplexLinear(nn.Module):
    """z = W h + b for complex W, b, h held as real and imaginary parts.

    Shapes: (N, in) real part, (N, in) imaginary part -> two (N, out)."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        bound = 1.0 / math.sqrt(in_features)
        self.weight_re = nn.Parameter(
            torch.empty(out_features, in_features).uniform_(-bound, bound)
        )
        self.weight_im = nn.Parameter(
            torch.empty(out_features, in_features).uniform_(-bound, bound)
        )
        self.bias_re = nn.Parameter(torch.empty(out_features).uniform_(-bound, bound))
        self.bias_im = nn.Parameter(torch.empty(out_features).uniform_(-bound, bound))

    def forward(self, u: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        linear = nn.functional.linear
        re = linear(u, self.weight_re, self.bias_re) - linear(v, self.weight_im)
        im = linear(v, self.weight_re, self.bias_im) + linear(u, self.weight_im)
        return re, im


class Wire(Backbone):
    """WIRE: a real Gabor layer, complex Gabor layers, the real part of a complex output layer.

    ``depth`` Gabor layers of ``width`` units: the first real, the others complex.

    Args:
        in_features, out_features: D and C.
        width: hidden units (complex) per layer (181 = 256 / sqrt(2)).
        depth: Gabor layers, the first included (3).
        omega_0: the wavelet frequency omega_0 of every layer (20).
        wire_scale: the Gaussian window's scale s0 of every layer (10).

    Shapes: (N, D) -> (N, C).
    """

    name = "wire"
    display_name = "WIRE"
    options = (WIDTH, DEPTH, OMEGA_0, WIRE_SCALE)
    # the reference code trains images at 5e-3 decayed to 5e-4 (as far as we know); nint's rate
    # is constant, and a constant 5e-3 oscillated on a 32 x 32 kodim05 crop (Stand., 150
    # iterations: 20 dB at 100) where 1e-3 reached 42 dB; benchmarks/backbones.py measures it
    default_lr = 1e-3

    def __init__(
        self, in_features: int, out_features: int, width: int = 181, depth: int = 3,
        omega_0: float = 20.0, wire_scale: float = 10.0,
    ) -> None:  # fmt: skip
        super().__init__()
        if depth < 1 or width < 1:
            raise NintError(f"WIRE needs depth >= 1 and width >= 1, got {depth} x {width}")
        params = (in_features + 1) * width + 2 * (depth - 1) * (width + 1) * width
        check_memory(16 * (params + 2 * (width + 1) * out_features), f"a WIRE of width {width}")
        self.omega_0, self.scale = omega_0, wire_scale
        self.first = nn.Linear(in_features, width)
        self.hidden = nn.ModuleList(ComplexLinear(width, width) for _ in range(depth - 1))
        self.out = ComplexLinear(width, out_features)
        self.hparams = {
            "in_features": in_features, "out_features": out_features, "width": width,
            "depth": depth, "omega_0": omega_0, "wire_scale": wire_scale,
        }  # fmt: skip

    def forward(self, coords: torch.Tensor) -> torch.Tensor:
        z = self.first(coords)
        u, v = gabor(z, torch.zeros_like(z), self.omega_0, self.scale)
        for layer in self.hidden:
            re, im = layer(u, v)
            u, v = gabor(re, im, self.omega_0, self.scale)
        return self.out(u, v)[0]  # the real part
