"""Opt-in ``torch.compile`` of a SIREN's training step and NTK passes (VJP and JVP).

``fit(..., compile=True)`` trains through a ``CompiledSiren`` wrapped around the SIREN. It runs

- the training step's forward (and, through AOTAutograd, its backward),
- the per-chunk VJP and JVP of the NTK product (``nint.ntk.kernel_residual_product``)

through ``torch.compile(dynamic=False, fullgraph=True)`` of pure functions of the weights, which
inductor fuses into matrix products plus one fused bias/scale/sine kernel per layer. The no-grad
residual pass stays the SIREN's eager fast pass (``Siren.forward_inference``, bitwise equal to
``model(x)``): compiled, it was measured no faster than that (benchmarks/residual_pass.py
``--compiled``; docs/speed.md). Compiled
kernels evaluate sine and sum in another order than eager PyTorch, so **compiled numerics differ
from the plain path** (by float32 rounding) and a selection can differ where two scores are that
close; docs/speed.md gives the measured effect. It is an explicitly named opt-in, never implied.

Shapes are static: every distinct input shape is a graph of its own. ``warm_up`` compiles the
shapes a fit will use (full chunks and the last, shorter one of the training step and of the NTK
product) before the training clock starts and returns the seconds it took. A call
with a shape that was not warmed up (a batch size that changes with a non-constant scheduler, say)
runs the eager path instead of compiling on the clock; ``eager_calls`` counts those calls.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Sequence

import torch
from torch import nn
from torch.func import jvp, vjp

from .. import timing
from ..errors import NintError
from .base import Backbone
from .siren import Siren

#: dynamo's recompile limit while warming up: each warmed shape is one more graph of the same code
WARM_UP_RECOMPILE_LIMIT = 64


def siren_apply(
    params: Sequence[torch.Tensor], omegas: Sequence[float], x: torch.Tensor
) -> torch.Tensor:
    """The SIREN map as a pure function of its weights.

    Args:
        params: [W_0, b_0, ..., W_L, b_L], the weights (out, in) and biases (out,) of the sine
            layers then the linear output layer, in ``Siren.parameters()`` order.
        omegas: the L sine layers' omega_0.
        x: (N, D) coordinates.

    Returns:
        (N, C): sin(omega_l (W_l h + b_l)) per sine layer, then W_L h + b_L.
    """
    h = x
    for layer, omega in enumerate(omegas):
        h = torch.sin(omega * nn.functional.linear(h, params[2 * layer], params[2 * layer + 1]))
    return nn.functional.linear(h, params[-2], params[-1])


def siren_vjp(
    params: Sequence[torch.Tensor], omegas: Sequence[float], x: torch.Tensor, r: torch.Tensor
) -> list[torch.Tensor]:
    """J^T r for one chunk: x (n, D), r (n, C); returns tensors shaped like ``params``."""
    pullback = vjp(lambda p: siren_apply(p, omegas, x), list(params))[1]  # (output, pullback)
    (grads,) = pullback(r)
    return grads


def siren_jvp(
    params: Sequence[torch.Tensor],
    omegas: Sequence[float],
    x: torch.Tensor,
    v: Sequence[torch.Tensor],
) -> torch.Tensor:
    """J v for one chunk: x (n, D), v shaped like ``params``; returns (n, C)."""
    return jvp(lambda p: siren_apply(p, omegas, x), (list(params),), (list(v),))[1]  # (out, J v)


@functools.cache
def compiled(fn: Callable) -> Callable:
    """``torch.compile(fn, dynamic=False, fullgraph=True)``, made once per function (dynamo keeps
    its graphs on the function's code, so every ``CompiledSiren`` shares them)."""
    return torch.compile(fn, dynamic=False, fullgraph=True)


def _now(device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return timing.clock()


class CompiledSiren(Backbone):
    """A ``Siren`` whose passes run compiled on the shapes given to ``warm_up`` (else eager).

    The wrapped SIREN's parameters are used as they are (the optimiser keeps stepping them), so
    ``CompiledSiren(siren)(x)`` trains ``siren``. Shapes: (N, D) -> (N, C).

    A ``Backbone`` (not registered) so that ``nint.models.model_config`` and ``scorer_copy``
    read the wrapped SIREN's declarations through it.
    """

    def __init__(self, siren: nn.Module) -> None:
        super().__init__()
        if not isinstance(siren, Siren):  # fit(model=..., compile=True) hands any module
            raise NintError(f"compile=True compiles a Siren, got {type(siren).__name__}")
        if not all(p.requires_grad for p in siren.parameters()):
            raise NintError("compile=True needs every SIREN parameter trainable")
        self.siren = siren
        self.omegas = tuple(float(layer.omega_0) for layer in siren.sine_layers)
        self._warm: set[tuple] = set()
        #: calls that ran eagerly because their shape was not warmed up, by pass
        self.eager_calls: Counter[str] = Counter()

    def reduced_precision_copy(self, dtype: torch.dtype) -> nn.Module:
        """The wrapped SIREN's copy (``Siren.reduced_precision_copy``): the fast selection's
        passes run eager, in ``dtype``, on the same parameters."""
        return self.siren.reduced_precision_copy(dtype)

    def config(self) -> dict:
        """The wrapped SIREN's declared config (``Siren.config``)."""
        return self.siren.config()

    def params(self) -> list[torch.Tensor]:
        return list(self.siren.parameters())

    def _key(self, kind: str, x: torch.Tensor) -> tuple:
        return (kind, tuple(x.shape), x.dtype, x.device, x.requires_grad, torch.is_grad_enabled())

    def _compiled(self, kind: str, x: torch.Tensor) -> bool:
        if self._key(kind, x) in self._warm:
            return True
        self.eager_calls[kind] += 1
        return False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The training forward: compiled for warmed shapes (autograd off: the eager SIREN)."""
        if not torch.is_grad_enabled():
            return self.siren(x)
        if self._compiled("train", x):
            return compiled(siren_apply)(self.params(), self.omegas, x)
        return self.siren(x)

    def forward_inference(self, coords: torch.Tensor, chunk: int | None = None) -> torch.Tensor:
        """The residual pass (autograd off): the SIREN's eager fast pass, not compiled."""
        return self.siren.forward_inference(coords, chunk)

    def vjp(self, x: torch.Tensor, r: torch.Tensor) -> list[torch.Tensor]:
        """J^T r for one chunk (see ``siren_vjp``), compiled for warmed shapes."""
        params = [p.detach() for p in self.siren.parameters()]
        with torch.enable_grad():  # torch.func builds its own graph whatever the caller's mode
            fn = compiled(siren_vjp) if self._compiled("vjp", x) else siren_vjp
            return fn(params, self.omegas, x, r)

    def jvp(self, x: torch.Tensor, v: Sequence[torch.Tensor]) -> torch.Tensor:
        """J v for one chunk (see ``siren_jvp``), compiled for warmed shapes."""
        params = [p.detach() for p in self.siren.parameters()]
        with torch.enable_grad():
            fn = compiled(siren_jvp) if self._compiled("jvp", x) else siren_jvp
            return fn(params, self.omegas, x, v).detach()

    def warm_up(
        self,
        coords: torch.Tensor,
        targets: torch.Tensor,
        *,
        train_chunk: int | None,
        ntk_chunk_size: int | None,
        batch_size: int | None,
        coord_grad: bool = False,
        ntk: bool = False,
    ) -> float:
        """Compile every shape a fit will use and return the seconds it took.

        Args:
            coords, targets: (N, D) and (N, C), the fit's coordinates and values (only their
                shapes and first rows are used; no weight changes, gradients are cleared).
            train_chunk, ntk_chunk_size: the fit's chunk sizes (None: whole).
            batch_size: k, the coordinates of one training step (None: no training shapes).
            coord_grad: the training step asks for coordinate gradients (Soft Mining).
            ntk: compile the VJP and JVP too (strategies that use the NTK).
        """
        import torch._dynamo

        n = coords.shape[0]
        start = _now(coords.device)
        with torch._dynamo.config.patch(recompile_limit=WARM_UP_RECOMPILE_LIMIT):
            if batch_size:
                with torch.enable_grad():
                    for size in _chunk_sizes(batch_size, train_chunk):
                        x = coords[:size].clone().requires_grad_(coord_grad)
                        self._warm.add(self._key("train", x))
                        (self(x) - targets[:size]).pow(2).sum().backward()
                for p in self.siren.parameters():
                    p.grad = None
            if ntk:
                for size in _chunk_sizes(n, ntk_chunk_size):
                    x, r = coords[:size], targets[:size]
                    with torch.enable_grad():
                        self._warm.add(self._key("vjp", x))
                        self._warm.add(self._key("jvp", x))
                    self.jvp(x, self.vjp(x, r))
        return _now(coords.device) - start


def _chunk_sizes(n: int, chunk: int | None) -> list[int]:
    """The distinct chunk lengths of n rows in chunks of ``chunk`` (full ones, then the rest)."""
    if chunk is None or chunk >= n:
        return [n]
    return [chunk] + ([n % chunk] if n % chunk else [])
