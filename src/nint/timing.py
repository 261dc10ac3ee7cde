"""The training clock and its breakdown by part.

Only work that belongs to training is timed: selection (including the full residual pass and NTK
scoring a strategy asks for), the forward/backward pass on the chosen coordinates and the optimiser
step. Evaluation, metrics and file output happen outside ``measure`` blocks and are never charged.
On CUDA every boundary synchronises the device, otherwise asynchronous kernels would be charged to
whichever part happens to wait for them.

Every duration nint reports is a difference of two readings of ``clock``. It is one module-level
function so that a test can put a clock of its own in its place (``tests/test_promises.py``
adds simulated seconds to it instead of sleeping, so its promises hold however busy the machine).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

import torch


def clock() -> float:
    """Seconds on a monotonic clock with sub-microsecond resolution (``time.perf_counter``)."""
    return time.perf_counter()


class PartTimer:
    """Exclusive wall-clock seconds per named part; nested parts are not double-counted."""

    def __init__(self, device: torch.device | str = "cpu") -> None:
        self.device = torch.device(device)
        self.totals: dict[str, float] = defaultdict(float)
        self._stack: list[list[float]] = []  # per open part: [start, seconds spent in children]

    def now(self) -> float:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)  # wait for queued kernels before reading the clock
        return clock()

    @contextmanager
    def measure(self, name: str) -> Iterator[None]:
        frame = [self.now(), 0.0]
        self._stack.append(frame)
        try:
            yield
        finally:
            elapsed = self.now() - frame[0]
            self._stack.pop()
            self.totals[name] += elapsed - frame[1]
            if self._stack:
                self._stack[-1][1] += elapsed

    def total(self) -> float:
        return float(sum(self.totals.values()))
