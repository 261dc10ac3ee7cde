"""Audio metrics: SI-SNR (our own), STOI (pystoi) and wide-band PESQ (pesq).

PESQ's wide-band mode is defined at 16 kHz; STOI is computed at 16 kHz too, so both see the same
signal. Clips at other rates are resampled (polyphase, scipy) for those two metrics only, and
``resampling_note`` says so. A metric that cannot be computed is returned as ``Missing`` with the
reason (too short for PESQ, too few speech frames for STOI, a prediction holding NaN or inf),
never as a number. SI-SNR of a prediction holding NaN or inf is NaN, as PSNR is for images.
"""

from __future__ import annotations

import math
import warnings
from fractions import Fraction

import numpy as np

from .missing import Missing

METRIC_RATE = 16_000  # wide-band PESQ is defined at 16 kHz


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
