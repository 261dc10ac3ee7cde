import os
import time
from pathlib import Path

import numpy as np
import pytest
import torch

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def synthetic_image(height: int = 32, width: int = 32, channels: int = 3) -> np.ndarray:
    """A smooth colour pattern with an edge: easy enough to fit in a few dozen iterations."""
    yy, xx = np.mgrid[0:height, 0:width] / np.array([height, width])[:, None, None]
    planes = [
        0.5 + 0.4 * np.sin(2 * np.pi * xx),
        0.5 + 0.4 * np.cos(2 * np.pi * yy),
        np.where(xx + yy > 1.0, 0.8, 0.2),
    ]
    return np.stack(planes[:channels], axis=2).astype(np.float32)


class SimulatedClock:
    """The real clock plus simulated seconds: ``pause(s)`` moves it on by ``s`` at once.

    Put in place of ``nint.timing.clock`` (the fixture ``simulated_clock``), it lets a test slow
    a part of a fit by far more than any load could, without waiting: its timing promises then
    hold on a saturated machine too."""

    def __init__(self) -> None:
        self.simulated = 0.0

    def __call__(self) -> float:
        return time.perf_counter() + self.simulated

    def pause(self, seconds: float) -> None:
        self.simulated += seconds


@pytest.fixture
def simulated_clock(monkeypatch) -> SimulatedClock:
    import nint.timing

    clock = SimulatedClock()
    monkeypatch.setattr(nint.timing, "clock", clock)
    return clock


@pytest.fixture(autouse=True)
def _threads():
    torch.set_num_threads(2)


def pytest_collection_modifyitems(config, items):
    """Skip tests marked ``cuda`` where PyTorch sees no GPU (tests/test_cuda.py says how to run
    their code on a CPU anyway)."""
    if torch.cuda.is_available() or os.environ.get("NINT_CUDA_TESTS_DEVICE") == "cpu":
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU; this PyTorch sees none")
    for item in items:
        if item.get_closest_marker("cuda"):
            item.add_marker(skip)
