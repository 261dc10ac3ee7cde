"""Audio: WAV, FLAC and OGG files (soundfile) as time coordinates and amplitude targets.

Sample t of a T-sample clip is coordinate -R + 2 R t / (T - 1) in [-R, R] (R = ``coord_range``).
The clip is mixed down to mono (or one channel is picked) and its amplitude divided by its peak
|x|, so targets lie in [-1, 1]; reconstructions are scaled back before they are written or scored.
"""

from __future__ import annotations

import math
import numbers
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import torch

from ..checks import HALF_SPAN, NON_NEGATIVE, POSITIVE, check_float, check_memory
from ..errors import NintError
from ..metrics.audio import pesq_wb, resampling_note, si_snr, speech_note, stoi
from ..options import Option
from .base import Metric, Signal, existing_file

AUDIO_SUFFIXES = frozenset({".wav", ".flac", ".ogg", ".oga"})
# Chosen by measurement on LibriSpeech (docs/audio.md): time in [-100, 100] with a first-layer
# omega_0 of 30, i.e. sine frequencies up to 30 * 100 = 3000 per unit of normalised time.
DEFAULT_COORD_RANGE = 100.0
DEFAULT_FIRST_OMEGA_0 = 30.0
#: SI-SNR removes a clip's mean and scale, which leaves nothing of a 2-sample clip to measure
#: (every estimate would score +inf): 3 samples is the least it can score
MIN_SAMPLES = 3
#: a mix of several channels below this share of the loudest channel's RMS level has cancelled
CANCELLED = 1e-3


def check_rate(rate: object) -> int:
    """``rate`` as an int; NintError unless it is a whole number of samples per second > 0."""
    hz = None
    if isinstance(rate, bool):  # an int to Python, never a sample rate
        pass
    elif isinstance(rate, numbers.Integral):
        hz = int(rate)
    elif isinstance(rate, numbers.Real) and math.isfinite(rate) and float(rate).is_integer():
        hz = int(float(rate))
    if hz is None or hz <= 0:
        raise NintError(f"the sample rate must be a whole number of Hz > 0, got {rate!r}")
    return hz


def mono_samples(samples: np.ndarray, name: str) -> np.ndarray:
    """(T,) float64 from samples of one channel: (T,), (T, 1) or (1, T); NintError for
    several channels, which flattening would interleave (or chain) into one long clip."""
    samples = np.asarray(samples)
    if sum(size > 1 for size in samples.shape) > 1:
        raise NintError(
            f"audio {name!r} has shape {samples.shape}: AudioSignal takes one channel, (T,); "
            "mix the channels (samples.mean(axis=1)) or pick one (samples[:, 0])"
        )
    return samples.astype(np.float64).ravel()


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
        """``samples``: one channel, (T,) with T >= 3; ``rate``: a whole number of Hz > 0.
        Several channels, a shorter clip, NaN, inf, silence or another rate are refused."""
        samples = mono_samples(samples, name)
        rate = check_rate(rate)
        if samples.size < MIN_SAMPLES:
            raise NintError(
                f"an audio clip needs at least {MIN_SAMPLES} samples for SI-SNR to measure "
                f"anything, got {samples.size}"
            )
        check_float(coord_range, "the coordinate range", HALF_SPAN)
        if not np.all(np.isfinite(samples)):
            # float WAVs can hold NaN or inf; one of them makes the peak and every target NaN
            raise NintError(f"audio {name!r} has non-finite samples (NaN or inf)")
        if np.all(samples == samples[0]):  # SI-SNR is undefined against a constant reference
            raise NintError("the audio clip is silent (all samples are equal)")
        peak = float(np.max(np.abs(samples)))
        self.samples = samples
        self.rate = rate
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
        """How STOI and PESQ were computed (resampled to 16 kHz), and a warning where the clip
        does not look like speech, which both assume (``metrics.audio.speech_note``)."""
        speech = ("stoi", "pesq")
        scored = [m.label for m in self.metrics if m.name in speech and m.name not in self.missing]
        notes = [resampling_note(self.rate), speech_note(self.samples, self.rate, scored)]
        return [note for note in notes if note]

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
    Option("channel", "fit channel N alone, counted from 0 (the mean of all channels)", int),
)


def quantisation_step(subtype: str) -> float:
    """The amplitude of one step of a PCM subtype as soundfile reads it (PCM_16: 2^-15); 0
    for float and compressed subtypes, whose steps are not fixed."""
    bits = {"PCM_S8": 8, "PCM_U8": 8, "PCM_16": 16, "PCM_24": 24, "PCM_32": 32}.get(subtype)
    return 0.0 if bits is None else 2.0 ** (1 - bits)


def to_mono(data: np.ndarray, channel: int | None, step: float, path: Path) -> np.ndarray:
    """(T,) from (T, C) samples: channel ``channel``, else the mean of all channels.

    A mean whose level has cancelled (RMS below ``CANCELLED`` of the loudest channel's, or
    peaks within one quantisation ``step`` of silence) is refused: dividing it by its peak
    would fit rounding noise scaled to full range instead of the sound.
    """
    channels = data.shape[1]
    if channel is not None:
        if isinstance(channel, bool) or not isinstance(channel, numbers.Integral):
            raise NintError(f"--channel must be a whole number, got {channel!r}")
        if not 0 <= channel < channels:
            raise NintError(
                f"--channel {channel}: {path} has {channels} channel(s), numbered from 0"
            )
        return data[:, channel]
    mix = data.mean(axis=1)
    if channels == 1 or mix.size < MIN_SAMPLES:  # too short a clip: AudioSignal says so
        return mix
    loudest = float(np.sqrt(np.max(np.mean(data**2, axis=0))))
    level = float(np.sqrt(np.mean(mix**2)))
    floor = float(np.max(np.abs(mix))) <= step < float(np.max(np.abs(data)))
    if level < CANCELLED * loudest or floor:
        raise NintError(
            f"the {channels} channels of {path} cancel when averaged to mono (the mix keeps "
            f"{level / loudest:.1g} of the loudest channel's level): fit one with --channel N"
        )
    return mix


def check_above_floor(mono: np.ndarray, subtype: str, path: Path) -> None:
    """NintError for a clip whose peak is at most one quantisation step of its PCM samples
    (but not silent): all it holds is rounding noise, which dividing by the peak would scale
    to full range and fit as if it were sound."""
    peak = float(np.max(np.abs(mono))) if mono.size else 0.0
    if 0.0 < peak <= quantisation_step(subtype):
        raise NintError(
            f"{path} holds only rounding noise: its peak is one step of its {subtype} samples"
        )


def load_audio(
    path: str | Path,
    start: float | None = None,
    duration: float | None = None,
    coord_range: float | None = None,
    channel: int | None = None,
) -> AudioSignal:
    """Read a WAV, FLAC or OGG file (or a segment of it) as a mono signal.

    Args:
        path: the audio file; several channels are averaged to mono, unless they cancel there
            (anti-phase channels), which is refused.
        start: segment start in seconds (0).
        duration: segment length in seconds (to the end of the clip).
        coord_range: R of the time coordinates in [-R, R] (100); at most half the largest
            float32 (1.7e38), so that the float32 coordinates and their span 2R stay finite.
        channel: fit this channel (from 0) alone instead of the mean of all channels.

    Raises:
        NintError: a missing, unreadable, empty or silent file, a segment outside the clip or
            shorter than 3 samples, channels that cancel in the mix, no such channel, or a
            clip that peaks within one quantisation step of silence (only rounding noise).
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
    mono = to_mono(data, channel, quantisation_step(info.subtype), path)
    check_above_floor(mono, info.subtype, path)
    return AudioSignal(
        mono,
        rate,
        name=path.stem,
        coord_range=DEFAULT_COORD_RANGE if coord_range is None else coord_range,
        start=start,
    )
