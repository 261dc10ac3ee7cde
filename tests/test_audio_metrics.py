import math

import numpy as np
import pytest
import soundfile as sf
from conftest import SHARED

from nint.metrics import Missing
from nint.metrics.audio import pesq_wb, resampling_note, si_snr, stoi, to_metric_rate

CLIP = SHARED / "audio/librispeech/test-clean/121/121726/121-121726-0000.flac"
needs_clip = pytest.mark.skipif(not CLIP.exists(), reason="no shared LibriSpeech data")


def test_si_snr_hand_cases():
    r = np.array([1.0, -1.0, 1.0, -1.0])
    assert si_snr(r, r) == math.inf
    assert si_snr(3.0 * r, r) == math.inf  # scale invariant
    assert si_snr(r + 5.0, r) == math.inf  # offset removed (zero-mean)
    assert si_snr(np.full(4, 3.0), r) == -math.inf  # a constant recovers nothing
    noise = 0.5 * np.array([1.0, 1.0, -1.0, -1.0])  # zero-mean, orthogonal to r
    assert si_snr(noise, r) == -math.inf
    # ||r||^2 = 4, ||noise||^2 = 1
    assert si_snr(r + noise, r) == pytest.approx(10 * math.log10(4.0))
    assert si_snr(2.0 * (r + noise), r) == pytest.approx(10 * math.log10(4.0))


def test_si_snr_known_noise_level():
    rng = np.random.default_rng(0)
    r = np.sin(np.linspace(0, 40 * np.pi, 8000))
    r -= r.mean()
    n = rng.standard_normal(r.size)
    n -= n.mean()
    n -= (n @ r) / (r @ r) * r  # orthogonal to the reference
    n *= math.sqrt((r @ r) / (n @ n) / 100.0)  # 20 dB below the reference
    assert si_snr(r + n, r) == pytest.approx(20.0, abs=1e-9)


def test_si_snr_silent_reference():
    with pytest.raises(ValueError, match="silent"):
        si_snr(np.ones(10), np.zeros(10))


@needs_clip
def test_stoi_and_pesq_rank_degraded_copies():
    clean, rate = sf.read(CLIP)
    rng = np.random.default_rng(1)
    noisy = clean + 0.01 * rng.standard_normal(clean.size)
    noisier = clean + 0.05 * rng.standard_normal(clean.size)
    s_clean, s_noisy, s_noisier = (stoi(x, clean, rate) for x in (clean, noisy, noisier))
    p_clean, p_noisy, p_noisier = (pesq_wb(x, clean, rate) for x in (clean, noisy, noisier))
    assert s_clean > s_noisy > s_noisier > 0.3
    assert p_clean > p_noisy > p_noisier >= 1.0
    assert p_clean > 4.0


@needs_clip
def test_too_short_is_missing_never_a_number():
    clean, rate = sf.read(CLIP)
    short = clean[:1000]
    assert isinstance(stoi(short, short, rate), Missing)
    missing = pesq_wb(short, short, rate)
    assert isinstance(missing, Missing) and "1/4 of a second" in missing.reason


@needs_clip
def test_other_rates_are_resampled_for_stoi_and_pesq():
    clean, rate = sf.read(CLIP)
    clean = clean[: 2 * rate]
    up = np.interp(np.arange(0, clean.size, rate / 44100), np.arange(clean.size), clean)
    assert to_metric_rate(up, 44100).size == pytest.approx(clean.size, abs=2)
    assert stoi(up, up, 44100) == pytest.approx(1.0, abs=1e-6)
    assert pesq_wb(up, up, 44100) > 4.0
    assert "44100" in resampling_note(44100) and resampling_note(16000) is None
