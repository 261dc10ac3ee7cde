import os
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
