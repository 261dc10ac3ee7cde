"""Full-signal inference without gradients, in chunks."""

from __future__ import annotations

import torch
from torch import nn


def predict(model: nn.Module, coords: torch.Tensor, chunk: int | None = None) -> torch.Tensor:
    """(N, C) prediction over all (N, D) coordinates without gradients, ``chunk`` rows at a time
    (None: one pass). Used for the residual pass of selection and for evaluation."""
    n = coords.shape[0]
    step = chunk or n
    with torch.no_grad():
        return torch.cat([model(coords[i : i + step]) for i in range(0, n, step)])
