"""Opt-in: the full residual pass every m iterations, patched from the training forward between.

Error-guided strategies (INT, NINT) need r = f(x) - y over all N coordinates at every selection,
one no-grad forward over the whole signal. On a CPU that pass costs more than the training step
on 20 % of the coordinates, so it decides their speed. With ``residual_every = m > 1`` the full
pass runs only at every m-th selection; in between, the selection reads the last full residual,
in which the rows trained on since were overwritten with their errors from the training step's
own forward (exact for those rows at the weights before that step's update).

This CHANGES WHAT IS SELECTED: rows not trained on since the last full pass keep residuals up to
m - 1 updates old, and NINT's K r multiplies the current kernel with that mixed residual. It is
not part of the paper or the released code; m = 1 (the default) is the exact path.
"""

from __future__ import annotations

import torch

from .errors import NintError


class StaleResiduals:
    """The last full residual, its age in selections, and patches from training steps.

    Args:
        every: m, the full pass runs at every m-th request (1: every request, the exact path).
    """

    def __init__(self, every: int) -> None:
        if isinstance(every, bool) or int(every) != every or every < 1:
            raise NintError(f"residual_every must be an integer >= 1, got {every!r}")
        self.every = int(every)
        self.value: torch.Tensor | None = None
        self.requests = 0  # full residuals requested so far
        self.full_passes = 0

    def due(self) -> bool:
        """True when the next request must run the full pass."""
        return self.value is None or self.requests % self.every == 0

    def take(self, compute) -> torch.Tensor:
        """The residual for this selection: ``compute()`` when due, else the patched copy.

        Args:
            compute: () -> (N, C) the exact residual from a full no-grad forward.
        """
        if self.due():
            self.value = compute()
            self.full_passes += 1
        self.requests += 1
        assert self.value is not None
        return self.value

    def patch(self, rows: torch.Tensor, errors: torch.Tensor) -> None:
        """Overwrite the residual of ``rows`` (k,) with the training step's errors (k, C)."""
        if self.value is not None and rows.numel():
            self.value[rows] = errors.to(self.value.dtype)
