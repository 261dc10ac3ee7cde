"""SIREN (Sitzmann et al., NeurIPS 2020): an MLP with sine activations."""

from __future__ import annotations

import copy
import math
from typing import cast

import torch
from torch import nn

from ..checks import FLOAT32_POSITIVE, check_float, check_memory
from ..errors import NintError
from ..options import Option
from .base import Backbone

#: the hidden-layer size and count every MLP backbone takes (each declares its own default)
WIDTH = Option("width", "hidden units per layer", type=int)
DEPTH = Option("depth", "number of hidden (activation) layers", type=int)
#: a sine frequency: multiplied into float32 activations, so it must stay finite there
OMEGA_0 = Option(
    "omega_0", "hidden-layer frequency omega_0", flag="--omega0", allowed=FLOAT32_POSITIVE
)
FIRST_OMEGA_0 = Option(
    "first_omega_0",
    "first-layer frequency omega_0 (default: the signal's, 30 for images)",
    flag="--first-omega0",
    allowed=FLOAT32_POSITIVE,
)


def mlp_parameter_count(in_features: int, width: int, depth: int, out_features: int) -> int:
    """Weights and biases of an MLP with ``depth`` hidden layers of ``width`` units and a linear
    output layer, for the memory check every MLP backbone runs before allocating."""
    hidden = (in_features + 1) * width + (depth - 1) * (width + 1) * width
    return hidden + (width + 1) * out_features


def siren_output_layer(width: int, out_features: int, omega_0: float) -> nn.Linear:
    """The linear output layer after sine layers, its weight drawn as a hidden SIREN layer's:
    U(-sqrt(6/width)/omega_0, sqrt(6/width)/omega_0); the bias keeps PyTorch's init."""
    out = nn.Linear(width, out_features)
    bound = math.sqrt(6.0 / width) / omega_0
    with torch.no_grad():
        out.weight.uniform_(-bound, bound)
    return out


class SineLayer(nn.Module):
    """y = sin(omega_0 (W x + b)) with the SIREN initialisation of W.

    First layer: W ~ U(-1/in, 1/in); later layers: W ~ U(-sqrt(6/in)/omega_0, sqrt(6/in)/omega_0).
    Biases keep PyTorch's default initialisation, as in the SIREN reference code.
    """

    def __init__(self, in_features: int, out_features: int, omega_0: float, is_first: bool):
        super().__init__()
        self.omega_0 = omega_0
        self.linear = nn.Linear(in_features, out_features)
        bound = 1.0 / in_features if is_first else math.sqrt(6.0 / in_features) / omega_0
        with torch.no_grad():
            self.linear.weight.uniform_(-bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sin(self.omega_0 * self.linear(x))


class Siren(Backbone):
    """Coordinate MLP: ``depth`` sine layers of ``width`` units, then a linear output layer.

    Args:
        in_features: D, the coordinate dimension (1 audio, 2 images, 3 shapes).
        out_features: C, the number of channels.
        width: hidden units per layer (256).
        depth: number of sine layers (5).
        omega_0: frequency of the hidden sine layers (30).
        first_omega_0: frequency of the first layer (30).

    Both frequencies must be finite in float32 (at most about 3.4e38): a larger one becomes inf
    and every prediction NaN, so it is refused with ``NintError``.

    Shapes: (N, D) -> (N, C).
    """

    name = "siren"
    display_name = "SIREN"
    options = (WIDTH, DEPTH, OMEGA_0, FIRST_OMEGA_0)
    default_lr = 1e-4

    def __init__(
        self,
        in_features: int,
        out_features: int,
        width: int = 256,
        depth: int = 5,
        omega_0: float = 30.0,
        first_omega_0: float = 30.0,
    ) -> None:
        super().__init__()
        if depth < 1 or width < 1:
            raise NintError(f"SIREN needs depth >= 1 and width >= 1, got {depth} x {width}")
        # multiplied into float32 activations: one past float32's range is inf, and sin(inf) NaN
        check_float(omega_0, "omega_0", FLOAT32_POSITIVE)
        check_float(first_omega_0, "first_omega_0", FLOAT32_POSITIVE)
        params = mlp_parameter_count(in_features, width, depth, out_features)
        # float32 weights, their gradients and Adam's two moments: four copies, allocated below
        # and by the trainer's optimiser
        check_memory(16 * params, f"a SIREN of width {width} and depth {depth}")
        layers: list[nn.Module] = [SineLayer(in_features, width, first_omega_0, is_first=True)]
        layers += [SineLayer(width, width, omega_0, is_first=False) for _ in range(depth - 1)]
        layers.append(siren_output_layer(width, out_features, omega_0))
        self.net = nn.Sequential(*layers)
        self.hparams = {
            "in_features": in_features,
            "out_features": out_features,
            "width": width,
            "depth": depth,
            "omega_0": omega_0,
            "first_omega_0": first_omega_0,
        }

    @property
    def sine_layers(self) -> list[SineLayer]:
        """The sine layers, first to last (``net`` holds them, then the output layer)."""
        return cast(list[SineLayer], list(self.net)[:-1])

    @property
    def output_layer(self) -> nn.Linear:
        return cast(nn.Linear, self.net[-1])

    def forward(self, coords: torch.Tensor) -> torch.Tensor:
        return self.net(coords)

    def reduced_precision_copy(self, dtype: torch.dtype) -> nn.Module:
        """A copy for the fast selection's passes (``nint.fast_selection``): the first layer in
        float32, the rest in ``dtype``; float32 (N, D) coordinates in, (N, C) ``dtype`` out. Its
        parameters come in the order of ``self.parameters()``, so the copy is refreshed with
        ``copy_``. bfloat16's 8-bit mantissa in the first layer would merge neighbouring
        coordinates (audio samples 0.006 apart in [-100, 100], pixels of a 512-pixel image
        0.004 apart in [-1, 1])."""
        return ReducedPrecisionSiren(self.net, dtype)

    def forward_inference(self, coords: torch.Tensor, chunk: int | None = None) -> torch.Tensor:
        """The same (N, D) -> (N, C) map as ``forward``, ``chunk`` rows at a time (None: all at
        once), for gradient-free passes only (the residual pass and evaluation).

        Per chunk and sine layer one ``addmm(b, h, W^T, out=buffer)`` (what ``nn.Linear`` runs
        for a 2-D input with a bias), then ``mul_(omega_0)`` and ``sin_()`` in place. Two
        (chunk, width) buffers serve all layers and chunks by turns, and the output layer writes
        straight into its rows of the (N, C) result, so the pass allocates three tensors instead
        of three per layer and chunk plus a concatenation. The ops and their order are those of
        ``forward``, so the result is bitwise equal to ``model(x)`` chunk by chunk
        (tests/test_fast.py; docs/speed.md). Needs autograd off (``torch.no_grad``): the in-place
        ops would corrupt a graph. Inputs that are not 2-D go through ``forward`` in one piece.
        """
        if torch.is_grad_enabled():
            raise NintError("Siren.forward_inference needs torch.no_grad or torch.inference_mode")
        if coords.dim() != 2:
            return self.forward(coords)
        n = coords.shape[0]
        step = chunk or n
        hidden, last = self.sine_layers, self.output_layer
        weight = last.weight
        out = torch.empty(n, last.out_features, dtype=weight.dtype, device=coords.device)
        rows = min(step, n)
        buffers = [
            torch.empty(
                rows, hidden[0].linear.out_features, dtype=weight.dtype, device=coords.device
            )
            for _ in range(min(2, len(hidden)))
        ]
        for i in range(0, n, step):
            h = coords[i : i + step]
            for j, layer in enumerate(hidden):
                buf = buffers[j % 2][: h.shape[0]]
                torch.addmm(layer.linear.bias, h, layer.linear.weight.t(), out=buf)
                buf.mul_(layer.omega_0)
                buf.sin_()
                h = buf
            torch.addmm(last.bias, h, last.weight.t(), out=out[i : i + step])
        return out


class ReducedPrecisionSiren(nn.Module):
    """A SIREN copy whose first layer runs in float32 and whose other layers run in ``dtype``.

    Shapes: (N, D) float32 coordinates -> (N, C) in ``dtype``.
    """

    def __init__(self, net: nn.Sequential, dtype: torch.dtype) -> None:
        super().__init__()
        self.first = copy.deepcopy(net[0])
        self.rest = copy.deepcopy(net[1:]).to(dtype)
        self.dtype = dtype

    def forward(self, coords: torch.Tensor) -> torch.Tensor:
        return self.rest(self.first(coords).to(self.dtype))
