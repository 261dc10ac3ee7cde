"""Audio: WAV, FLAC and OGG files (soundfile) as time coordinates and amplitude targets.

Sample t of a T-sample clip is coordinate -R + 2 R t / (T - 1) in [-R, R] (R = ``coord_range``).
The clip is mixed down to mono and its amplitude divided by its peak |x|, so targets lie in
[-1, 1]; reconstructions are scaled back before they are written or scored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import torch

from ..checks import HALF_SPAN, NON_NEGATIVE, POSITIVE, check_float, check_memory
from ..errors import NintError
from ..metrics.audio import pesq_wb, resampling_note, si_snr, stoi
from ..options import Option
from .base import Metric, Signal, existing_file

AUDIO_SUFFIXES = frozenset({".wav", ".flac", ".ogg", ".oga"})
# Chosen by measurement on LibriSpeech (docs/audio.md): time in [-100, 100] with a first-layer
# omega_0 of 30, i.e. sine frequencies up to 30 * 100 = 3000 per unit of normalised time.
DEFAULT_COORD_RANGE = 100.0
DEFAULT_FIRST_OMEGA_0 = 30.0


class AudioSignal(Signal):
    """A mono clip: coords (T, 1) in [-R, R], values (T, 1) = samples / peak.

    R (``coord_range``) is refused above half the largest float32, where the float32
    coordinates would overflow to inf and NaN.
    """

    modality = "audio"
    metrics = (
        Metric("si_snr", "SI-SNR", ".2f", thresholds=(5.0, 10.0, 15.0)),
        Metric("stoi", "STOI", ".3f"),
        Metric("pesq", "PESQ", ".3f"),
    )
    default_first_omega_0 = DEFAULT_FIRST_OMEGA_0

    def __init__(
        self,
        samples: np.ndarray,
        rate: int,
        name: str = "audio",
        coord_range: float = DEFAULT_COORD_RANGE,
        start: float = 0.0,
    ) -> None:
        samples = np.asarray(samples, dtype=np.float64).ravel()
        if samples.size < 2:
            raise NintError(f"an audio clip needs at least 2 samples, got {samples.size}")
        check_float(coord_range, "the coordinate range", HALF_SPAN)
        if not np.all(np.isfinite(samples)):
            # float WAVs can hold NaN or inf; one of them makes the peak and every target NaN
            raise NintError(f"audio {name!r} has non-finite samples (NaN or inf)")
        if np.all(samples == samples[0]):  # SI-SNR is undefined against a constant reference
            raise NintError("the audio clip is silent (all samples are equal)")
        peak = float(np.max(np.abs(samples)))
        self.samples = samples
        self.rate = int(rate)
        self.peak = peak
        self.coord_range = float(coord_range)
        self.start = float(start)
        coords = torch.linspace(-self.coord_range, self.coord_range, samples.size)[:, None]
        values = torch.from_numpy((samples / peak).astype(np.float32))[:, None]
        super().__init__(coords, values, name)

    @property
    def seconds(self) -> float:
        return self.samples.size / self.rate

    def as_audio(self, prediction: torch.Tensor) -> np.ndarray:
        """(T, 1) prediction -> (T,) float64 samples at the clip's original scale."""
        return prediction.detach().double().cpu().numpy().ravel() * self.peak

    def evaluate(self, prediction: torch.Tensor) -> dict[str, float | None]:
        audio = self.as_audio(prediction)
        metrics: dict[str, float | None] = {
            "mse": float(np.mean((audio - self.samples) ** 2)),
            "si_snr": si_snr(audio, self.samples),
        }
        self.missing = {}
        self._record(metrics, "stoi", stoi(audio, self.samples, self.rate))
        self._record(metrics, "pesq", pesq_wb(audio, self.samples, self.rate))
        return metrics

    def notes(self) -> list[str]:
        note = resampling_note(self.rate)
        return [note] if note else []

    def reconstruction(self, prediction: torch.Tensor) -> np.ndarray:
        """The fitted clip, (T,) samples at the original scale and rate (``self.rate``)."""
        return self.as_audio(prediction)

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "rate": self.rate,
            "seconds": self.seconds,
            "start": self.start,
            "coord_range": self.coord_range,
            "peak": self.peak,
            "normalisation": "samples divided by peak |x|",
        }


#: ``load_audio``'s options, as the command line offers them
AUDIO_OPTIONS = (
    Option("start", "segment start in seconds (0)", allowed=NON_NEGATIVE),
    Option("duration", "segment length in seconds (to the end)", allowed=POSITIVE),
    Option(
        "coord_range", "time coordinates span [-R, R] (100; first omega_0 30)", allowed=HALF_SPAN
    ),
)


def load_audio(
    path: str | Path,
    start: float | None = None,
    duration: float | None = None,
    coord_range: float | None = None,
) -> AudioSignal:
    """Read a WAV, FLAC or OGG file (or a segment of it) as a mono signal.

    Args:
        path: the audio file; several channels are averaged to mono.
        start: segment start in seconds (0).
        duration: segment length in seconds (to the end of the clip).
        coord_range: R of the time coordinates in [-R, R] (100); at most half the largest
            float32 (1.7e38), so that the float32 coordinates and their span 2R stay finite.

    Raises:
        NintError: a missing, unreadable, empty or silent file, or a segment outside the clip.
    """
    path = existing_file(path, "an audio")
    try:
        info = sf.info(str(path))
    except (sf.SoundFileError, RuntimeError, TypeError) as exc:
        # libsndfile's message repeats the path: keep only its reason
        reason = str(exc).rsplit(": ", 1)[-1].strip().rstrip(".") or "unknown format"
        raise NintError(f"cannot read {path} as audio ({reason})") from None
    if info.frames == 0:
        raise NintError(f"{path} holds no audio samples")
    length = info.frames / info.samplerate
    start = 0.0 if start is None else float(start)
    if not 0.0 <= start < length:
        raise NintError(f"--start {start:g} s is outside the clip ({length:.3f} s long)")
    if duration is not None and not duration > 0:
        raise NintError(f"--duration must be positive seconds, got {duration:g}")
    if duration is not None and start + duration > length + 1e-9:
        end = start + duration
        raise NintError(
            f"the segment {start:g}-{end:g} s ends after the clip ({length:.3f} s long)"
        )
    first = int(round(start * info.samplerate))
    count = -1 if duration is None else int(round(duration * info.samplerate))
    frames = info.frames - first if count < 0 else count
    # float64 as read (every channel) and mixed down, then float32 coordinates, targets, a
    # full prediction and residual
    check_memory(frames * (8 * info.channels + 8 + 16), f"{frames} audio samples")
    try:
        data, rate = sf.read(str(path), start=first, frames=count, dtype="float64", always_2d=True)
    except (sf.SoundFileError, RuntimeError) as exc:
        raise NintError(f"cannot decode {path} ({exc})") from None
    return AudioSignal(
        data.mean(axis=1),
        rate,
        name=path.stem,
        coord_range=DEFAULT_COORD_RANGE if coord_range is None else coord_range,
        start=start,
    )
