"""Audio metrics: SI-SNR (our own), STOI (pystoi) and wide-band PESQ (pesq).

PESQ's wide-band mode is defined at 16 kHz; STOI is computed at 16 kHz too, so both see the same
signal. Clips at other rates are resampled (polyphase, scipy) for those two metrics only, and
``resampling_note`` says so. A metric that cannot be computed is returned as ``Missing`` with the
reason (too short for PESQ, too few speech frames for STOI, a prediction holding NaN or inf),
never as a number. SI-SNR of a prediction holding NaN or inf is NaN, as PSNR is for images.

STOI and PESQ are measures for speech; on other sounds they still return numbers (STOI -0.07 for a
sine), which mean little. ``speech_note`` says so where a clip does not look like speech, by one
cheap test (``level_spread``): speech rises and falls with its syllables and pauses, so the level
of its 32 ms frames varies by several dB (7-10 dB over whole LibriSpeech utterances, at least
2.9 dB over any half second of them), while a steady sound (a tone, a chirp, a drone, stationary
noise) varies by well under 1 dB. A spread under ``STEADY_DB`` = 1.5 dB gets the note. The test
judges loudness only, never the spectrum: an amplitude-modulated tone, a fading note, music or
noise bursts pass as speech (no note), and speech buried in loud steady noise may get the note.
"""

from __future__ import annotations

import math
import warnings
from fractions import Fraction

import numpy as np

from .missing import Missing

METRIC_RATE = 16_000  # wide-band PESQ is defined at 16 kHz
#: the frames whose levels ``level_spread`` compares, in seconds (about one phoneme)
LEVEL_FRAME = 0.032
#: frames this far (dB) below the loudest are left out of the spread, as STOI leaves them out
#: as silence: digital silence has no level in dB, and padding is no sign of speech
SILENCE_DB = 40.0
#: a spread of frame levels under this (dB) is a steady sound, not speech
STEADY_DB = 1.5


def si_snr(estimate: np.ndarray, reference: np.ndarray) -> float:
    """Scale-invariant signal-to-noise ratio in dB (Le Roux et al., 2019).

    Both signals are made zero-mean; the estimate is projected on the reference,
    s = (<e, r> / ||r||^2) r, and SI-SNR = 10 log10(||s||^2 / ||e - s||^2).
    Returns ``inf`` when the estimate is an exact scaled copy, ``-inf`` when it holds no
    component of the reference (a constant or an orthogonal estimate) and NaN when the estimate
    holds NaN or inf (a diverged fit). Removing the mean and the scale takes two degrees of
    freedom, so T must be at least 3: every non-constant estimate of a 2-sample reference is a
    scaled copy of it, and would score ``inf``.

    Args:
        estimate, reference: (T,) float arrays of the same length, T >= 3.
    """
    e = np.asarray(estimate, dtype=np.float64).ravel()
    r = np.asarray(reference, dtype=np.float64).ravel()
    if e.shape != r.shape:
        raise ValueError(f"SI-SNR needs equal lengths, got {e.size} and {r.size}")
    if r.size < 3:
        raise ValueError(f"SI-SNR needs at least 3 samples, got {r.size}")
    if not np.all(np.isfinite(e)):
        return math.nan  # said here, instead of NumPy's warnings on inf - inf
    e, r = e - e.mean(), r - r.mean()
    energy = float(np.dot(r, r))
    if energy == 0.0:
        raise ValueError("SI-SNR is undefined for a silent (constant) reference")
    target = (np.dot(e, r) / energy) * r
    noise = e - target
    target_energy, noise_energy = float(np.dot(target, target)), float(np.dot(noise, noise))
    if target_energy == 0.0:  # nothing of the reference in the estimate (a constant included)
        return -math.inf
    if noise_energy == 0.0:
        return math.inf
    return 10.0 * math.log10(target_energy / noise_energy)


def to_metric_rate(signal: np.ndarray, rate: int) -> np.ndarray:
    """Resample (T,) audio to 16 kHz with a polyphase filter; unchanged if already 16 kHz."""
    if rate == METRIC_RATE:
        return np.asarray(signal, dtype=np.float64)
    ratio = Fraction(METRIC_RATE, rate).limit_denominator(1000)
    from scipy.signal import resample_poly  # here: scipy.signal is slow to import (~1 s)

    return resample_poly(np.asarray(signal, dtype=np.float64), ratio.numerator, ratio.denominator)


def resampling_note(rate: int) -> str | None:
    if rate == METRIC_RATE:
        return None
    return f"STOI and PESQ computed at 16 kHz on copies resampled from {rate} Hz"


def non_finite(estimate: np.ndarray, metric: str) -> Missing | None:
    """Missing when the estimate holds NaN or inf (pystoi would return NaN, PESQ would raise)."""
    if np.all(np.isfinite(estimate)):
        return None
    return Missing(f"{metric}: the prediction holds NaN or inf")


def stoi(estimate: np.ndarray, reference: np.ndarray, rate: int) -> float | Missing:
    """Short-time objective intelligibility (pystoi), at 16 kHz."""
    from pystoi import stoi as _stoi
    from pystoi.stoi import FS, N_FRAME, N

    if missing := non_finite(estimate, "STOI"):
        return missing
    ref, est = to_metric_rate(reference, rate), to_metric_rate(estimate, rate)
    # pystoi scores N = 30 frames of N_FRAME samples (hop N_FRAME / 2) at FS = 10 kHz; shorter
    # clips make it raise (under one frame) or return a placeholder with a warning
    shortest = ((N - 1) * (N_FRAME // 2) + N_FRAME) / FS
    if ref.size / METRIC_RATE < shortest:
        return Missing(
            f"STOI needs at least {shortest:.3f} s of audio ({N} frames), "
            f"the clip has {ref.size / METRIC_RATE:.3g} s"
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = float(_stoi(ref, est, METRIC_RATE, extended=False))
    # pystoi returns a placeholder 1e-5 with a warning when too few speech frames remain
    if any("Not enough STFT frames" in str(w.message) for w in caught):
        return Missing("too few speech frames for STOI (clip too short or silent)")
    return value


def pesq_wb(estimate: np.ndarray, reference: np.ndarray, rate: int) -> float | Missing:
    """Wide-band PESQ (ITU-T P.862.2) at 16 kHz."""
    from pesq import PesqError, pesq

    if missing := non_finite(estimate, "PESQ"):
        return missing
    ref, est = to_metric_rate(reference, rate), to_metric_rate(estimate, rate)
    try:
        return float(pesq(METRIC_RATE, ref, est, "wb"))
    except PesqError as exc:
        message = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        return Missing(f"PESQ: {message}")


def level_spread(samples: np.ndarray, rate: int) -> float | None:
    """The standard deviation (dB) of the levels of (T,) audio's ``LEVEL_FRAME`` frames
    (10 log10 of each frame's mean square; frames ``SILENCE_DB`` below the loudest left out);
    None when fewer than two frames are left to compare (a clip under 64 ms)."""
    n = max(1, round(LEVEL_FRAME * rate))
    frames = np.asarray(samples, dtype=np.float64)[: samples.size // n * n].reshape(-1, n)
    power = np.mean(frames**2, axis=1)
    if power.size == 0 or power.max() == 0.0:
        return None
    loud = power[power >= power.max() * 10.0 ** (-SILENCE_DB / 10.0)]
    if loud.size < 2:
        return None
    return float(np.std(10.0 * np.log10(loud)))


def speech_note(samples: np.ndarray, rate: int, scored: list[str]) -> str | None:
    """A note for the summary when the metrics ``scored`` (labels, e.g. ["STOI", "PESQ"]: the
    speech metrics that got a value) were computed on a clip that does not look like speech
    (``level_spread`` under ``STEADY_DB``); None otherwise."""
    spread = level_spread(samples, rate)
    if not scored or spread is None or spread >= STEADY_DB:
        return None
    names = " and ".join(scored)
    verb, them = ("assume", "them") if len(scored) > 1 else ("assumes", "it")
    return (
        f"{names} {verb} speech, and this clip does not look like speech: its level is steady "
        f"({spread:.2f} dB spread over {LEVEL_FRAME * 1000:.0f} ms frames, where speech varies "
        f"by several dB); read {them} with care"
    )
