"""Tracebacks and hangs that became one line, where the case is not a command line refused before
training (those are rows of tests/test_bad_inputs.py).
"""

import math
import os
import pickle

import numpy as np
import pytest
import soundfile as sf
import torch

from nint import AudioSignal, NintError, Siren, fit
from nint.cli import main
from nint.experiments.runner import ray_endpoint
from nint.metrics import Missing
from nint.metrics import lpips as lp
from nint.metrics.audio import pesq_wb, si_snr, stoi

RATE = 16000
TINY = ["--iterations", "1", "--width", "8", "--depth", "2", "--quiet"]


def speech_like(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return 0.5 * np.sin(2 * np.pi * 220 * t) * np.sin(2 * np.pi * 3 * t)


# ---- LPIPS weights that are present but unusable -------------------------------------------


class MakesFolder:
    """A pickle that, if unpickled unsafely, would create a folder (the mark of code run)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (os.mkdir, (self.path,))


@pytest.fixture
def weights(tmp_path, monkeypatch):
    """An empty folder NINT_LPIPS_WEIGHTS points at, and no other weights anywhere."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    folder = tmp_path / "weights"
    folder.mkdir()
    monkeypatch.setenv(lp.ENV_VAR, str(folder))
    return folder


@pytest.mark.parametrize(
    "content, reason",
    [
        (b"not weights at all", "cannot be read as PyTorch weights (UnpicklingError)"),
        (b"", "cannot be read as PyTorch weights (EOFError)"),
        (b"PK\x03\x04 a zip archive cut short", "cannot be read as PyTorch weights"),
        (pickle.dumps([1, 2]), "cannot be read as PyTorch weights"),
        ("list", "holds a list, not a state dict"),
        ("wrong keys", "has no tensor features.0.weight of shape (64, 3, 11, 11)"),
    ],
    ids=["text", "empty", "cut-zip", "plain-pickle", "list", "wrong-keys"],
)
def test_unusable_lpips_weights_are_missing_naming_the_file(weights, content, reason):
    alexnet = weights / lp.ALEXNET_FILE
    if content == "list":
        torch.save([torch.zeros(1)], alexnet)
    elif content == "wrong keys":
        torch.save({"features.0.weight": torch.zeros(2, 2)}, alexnet)
    else:
        alexnet.write_bytes(content)
    torch.save({"lin0.model.1.weight": torch.zeros(1, 64, 1, 1)}, weights / lp.HEADS_FILE)
    value = lp.lpips(np.zeros((8, 8, 3)), np.zeros((8, 8, 3)))
    assert isinstance(value, Missing), value
    assert f"{alexnet} {reason}" in value.reason
    assert "\n" not in value.reason


def test_lpips_weights_are_never_unpickled_unsafely(weights, tmp_path):
    marker = tmp_path / "code-ran"
    (weights / lp.ALEXNET_FILE).write_bytes(pickle.dumps(MakesFolder(str(marker))))
    (weights / lp.HEADS_FILE).write_bytes(pickle.dumps(MakesFolder(str(marker))))
    value = lp.lpips(np.zeros((8, 8, 3)), np.zeros((8, 8, 3)))
    assert isinstance(value, Missing) and str(weights / lp.ALEXNET_FILE) in value.reason
    assert not marker.exists()


# ---- predictions holding NaN or inf --------------------------------------------------------


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_audio_metrics_of_a_non_finite_prediction_do_not_crash(bad):
    reference = speech_like(0.5)
    estimate = reference.copy()
    estimate[100] = bad
    scores = {"STOI": stoi(estimate, reference, RATE), "PESQ": pesq_wb(estimate, reference, RATE)}
    for metric, value in scores.items():
        assert isinstance(value, Missing), value
        assert value.reason == f"{metric}: the prediction holds NaN or inf"
    assert math.isnan(si_snr(estimate, reference))


def test_a_model_that_predicts_nan_before_training_ends_in_one_line(tmp_path, capsys):
    # first omega_0 1e37 times time coordinates up to 100 overflows float32: sin(inf) is NaN
    clip = tmp_path / "clip.wav"
    sf.write(clip, speech_like(0.5), RATE)
    out = tmp_path / "run"
    code = main(["fit", str(clip), *TINY, "--first-omega0", "1e37", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("nint: error: "), err
    assert "the untrained model already predicts NaN or inf" in err
    assert "first_omega_0 (1e+37)" in err
    assert not out.exists()
    with pytest.raises(NintError, match="already predicts NaN or inf"):
        fit(AudioSignal(speech_like(0.1), RATE), "uniform", iterations=1, first_omega_0=1e37)


def test_a_diverged_fit_still_blames_the_learning_rate():
    signal = AudioSignal(speech_like(0.1), RATE)
    with pytest.raises(NintError, match="lower learning rate than 1e"):
        fit(signal, "uniform", iterations=20, lr=1e30, width=8, depth=2)


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
