"""Full-signal inference without gradients, in chunks.

``predict`` is the residual pass of every strategy that scores all coordinates (INT, NINT, ...) and
the evaluation pass. For a ``Siren`` it runs ``Siren.forward_inference`` (in-place sine layers in
two reused buffers), which is bitwise equal to ``model(x)`` and cheaper; ``fast_inference(False)``
switches back to the plain ``model(x)`` (for benchmarks and the identity tests). Everything runs
under ``torch.no_grad``: ``torch.inference_mode`` was measured no faster for this pass
(docs/speed.md) and would hand out inference tensors, which callers could not later modify in
place or save for autograd. Another model with a ``forward_inference`` (``CompiledSiren``) is run
through it too; a module without one runs ``model(x)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import torch
from torch import nn

_FAST = ContextVar("nint_fast_inference", default=True)


@contextmanager
def fast_inference(enabled: bool) -> Iterator[None]:
    """Within the block, ``predict`` runs a model's ``forward_inference`` where it has one (True,
    the default) or the plain ``model(x)`` (False). For a ``Siren`` the results are bitwise the
    same either way; only the time differs."""
    token = _FAST.set(bool(enabled))
    try:
        yield
    finally:
        _FAST.reset(token)


def fast_inference_enabled() -> bool:
    """Whether ``predict`` currently takes a model's ``forward_inference``."""
    return _FAST.get()


def predict(model: nn.Module, coords: torch.Tensor, chunk: int | None = None) -> torch.Tensor:
    """(N, C) prediction over all (N, D) coordinates without gradients, ``chunk`` rows at a time
    (None: one pass). Used for the residual pass of selection and for evaluation.

    A model's ``forward_inference(coords, chunk)``, if it has one, does the chunking itself.
    """
    n = coords.shape[0]
    step = chunk or n
    forward = getattr(model, "forward_inference", None)
    with torch.no_grad():
        if forward is None or not _FAST.get():
            return torch.cat([model(coords[i : i + step]) for i in range(0, n, step)])
        return forward(coords, chunk)
