"""Tracebacks and hangs that became one line, where the case is not a command line refused before
training (those are rows of tests/test_bad_inputs.py).
"""

import numpy as np
import pytest
import torch

from nint import AudioSignal, NintError, Siren
from nint.experiments.runner import ray_endpoint

RATE = 16000
TINY = ["--iterations", "1", "--width", "8", "--depth", "2", "--quiet"]


def speech_like(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return 0.5 * np.sin(2 * np.pi * 220 * t) * np.sin(2 * np.pi * 3 * t)


# ---- float32 overflow through the Python API ----------------------------------------------


def test_values_that_overflow_float32_are_refused():
    with pytest.raises(NintError, match=r"omega_0 must be a finite number in \(0, 3.40282e\+38\]"):
        Siren(1, 1, omega_0=1e300)
    with pytest.raises(NintError, match="first_omega_0"):
        Siren(1, 1, first_omega_0=1e39)
    with pytest.raises(NintError, match=r"coordinate range .* \(0, 1.70141e\+38\]"):
        AudioSignal(speech_like(0.01), RATE, coord_range=1e308)
    edge = AudioSignal(speech_like(0.01), RATE, coord_range=3.4028234663852886e38 / 2)
    assert torch.isfinite(edge.coords).all()


# ---- Ray addresses ------------------------------------------------------------------------


def test_ray_addresses_are_parsed_or_refused():
    assert ray_endpoint("127.0.0.1:6379") == ("127.0.0.1", 6379)
    assert ray_endpoint("ray://head.example:10001") == ("head.example", 10001)
    assert ray_endpoint("[::1]:6379") == ("::1", 6379)
    assert ray_endpoint("auto") is None and ray_endpoint("local") is None
    for bad in ("nonsense", "host:notaport", "host:", ":6379", "h:0", "h:99999", "h:+5", "h: 5"):
        with pytest.raises(NintError, match="is not host:port"):
            ray_endpoint(bad)
