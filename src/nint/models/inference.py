"""Full-signal inference without gradients, in chunks.

``predict`` is the residual pass of every strategy that scores all coordinates (INT, NINT, ...) and
the evaluation pass. For a ``Siren`` it runs ``Siren.forward_inference`` (in-place sine layers
under ``torch.inference_mode``), which is bitwise equal to ``model(x)`` under ``torch.no_grad``
and cheaper; ``fast_inference(False)`` switches back to the plain ``model(x)`` (for benchmarks and
the identity tests). Another model with its own ``forward_inference`` (``CompiledSiren``) is run
through it whatever the switch says. Any other module runs ``model(x)`` under ``torch.no_grad``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import torch
from torch import nn

from .siren import Siren

_FAST = ContextVar("nint_fast_inference", default=True)


@contextmanager
def fast_inference(enabled: bool) -> Iterator[None]:
    """Within the block, ``predict`` runs a ``Siren``'s fast pass (True, the default) or the plain
    ``model(x)`` (False). Results are bitwise the same either way; only the time differs."""
    token = _FAST.set(bool(enabled))
    try:
        yield
    finally:
        _FAST.reset(token)


def fast_inference_enabled() -> bool:
    """Whether ``predict`` currently takes a ``Siren``'s fast pass."""
    return _FAST.get()


def predict(model: nn.Module, coords: torch.Tensor, chunk: int | None = None) -> torch.Tensor:
    """(N, C) prediction over all (N, D) coordinates without gradients, ``chunk`` rows at a time
    (None: one pass). Used for the residual pass of selection and for evaluation.

    The result is an ordinary tensor (not an inference tensor), so callers may modify it in place
    or use it as a constant in autograd code.
    """
    n = coords.shape[0]
    step = chunk or n
    forward = getattr(model, "forward_inference", None)
    if forward is None or (isinstance(model, Siren) and not _FAST.get()):
        with torch.no_grad():
            return torch.cat([model(coords[i : i + step]) for i in range(0, n, step)])
    with torch.inference_mode():
        parts = [forward(coords[i : i + step]) for i in range(0, n, step)]
    # concatenated outside inference mode: a normal tensor, for callers that keep it
    with torch.no_grad():
        return torch.cat(parts)
