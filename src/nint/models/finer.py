"""FINER (Liu et al., CVPR 2024): an MLP with variable-periodic activations
sin(omega_0 (|z| + 1) z).

Deviations from the paper and its reference code (docs/deviations.md, "Backbones"):

- As in the reference code's default (``scale_req_grad=False``, as far as we know), the factor
  |z| + 1 is treated as a constant in the backward pass: gradients, and so the NTK, see
  sin(omega_0 a z) with a = |z| + 1 held fixed. The forward value is the paper's.
- The first layer's bias keeps PyTorch's initialisation U(-1/sqrt(n), 1/sqrt(n)) unless
  ``first_bias_scale`` k is given (then U(-k, k)): the reference code's default is None too.
- Width and depth default to nint's SIREN (256 x 5), so a table compares activations at one size.
"""

from __future__ import annotations

import torch
from torch import nn

from ..checks import POSITIVE, check_memory
from ..errors import NintError
from ..options import Option
from .base import Backbone
from .siren import (
    DEPTH,
    FIRST_OMEGA_0,
    OMEGA_0,
    WIDTH,
    SineLayer,
    mlp_parameter_count,
    siren_output_layer,
)

FIRST_BIAS_SCALE = Option(
    "first_bias_scale",
    "FINER: first-layer bias drawn from U(-k, k) (default: PyTorch's init)",
    allowed=POSITIVE,
)


def finer_activation(z: torch.Tensor, omega_0: float) -> torch.Tensor:
    """sin(omega_0 (|z| + 1) z), the factor |z| + 1 detached (no gradient through it).

    Shapes: any -> the same."""
    scale = z.detach().abs() + 1.0
    return torch.sin(omega_0 * scale * z)


class FinerLayer(SineLayer):
    """y = sin(omega_0 (|z| + 1) z), z = W x + b, with SIREN's weight initialisation
    (``SineLayer``'s) and, if ``bias_scale`` k is given, the bias drawn from U(-k, k)."""

    def __init__(
        self, in_features: int, out_features: int, omega_0: float, is_first: bool,
        bias_scale: float | None = None,
    ) -> None:  # fmt: skip
        super().__init__(in_features, out_features, omega_0, is_first)
        if bias_scale is not None:
            with torch.no_grad():
                self.linear.bias.uniform_(-bias_scale, bias_scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return finer_activation(self.linear(x), self.omega_0)


class Finer(Backbone):
    """FINER: ``depth`` variable-periodic layers of ``width`` units, then a linear output layer
    (initialised as SIREN's).

    Args:
        in_features, out_features: D and C.
        width, depth: hidden units and FINER layers (256, 5).
        omega_0, first_omega_0: hidden and first-layer frequencies (30, 30).
        first_bias_scale: k of the first layer's bias U(-k, k) (None: PyTorch's default).

    Shapes: (N, D) -> (N, C).
    """

    name = "finer"
    display_name = "FINER"
    options = (WIDTH, DEPTH, OMEGA_0, FIRST_OMEGA_0, FIRST_BIAS_SCALE)
    # SIREN's rate: on a 32 x 32 kodim05 crop (Stand., 150 iterations) 1e-4 reached 52 dB and
    # 5e-4 stalled near 34 dB; benchmarks/backbones.py measures it at image sizes
    default_lr = 1e-4

    def __init__(
        self,
        in_features: int,
        out_features: int,
        width: int = 256,
        depth: int = 5,
        omega_0: float = 30.0,
        first_omega_0: float = 30.0,
        first_bias_scale: float | None = None,
    ) -> None:
        super().__init__()
        if depth < 1 or width < 1:
            raise NintError(f"FINER needs depth >= 1 and width >= 1, got {depth} x {width}")
        params = mlp_parameter_count(in_features, width, depth, out_features)
        check_memory(16 * params, f"a FINER of width {width}")
        layers: list[nn.Module] = [
            FinerLayer(in_features, width, first_omega_0, True, first_bias_scale)
        ]
        layers += [FinerLayer(width, width, omega_0, False) for _ in range(depth - 1)]
        layers.append(siren_output_layer(width, out_features, omega_0))
        self.net = nn.Sequential(*layers)
        self.hparams = {
            "in_features": in_features, "out_features": out_features, "width": width,
            "depth": depth, "omega_0": omega_0, "first_omega_0": first_omega_0,
            "first_bias_scale": first_bias_scale,
        }  # fmt: skip

    def forward(self, coords: torch.Tensor) -> torch.Tensor:
        return self.net(coords)
