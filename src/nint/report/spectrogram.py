"""Audio figures: mel spectrograms, the ground-truth / reconstruction figure of a fit, and the
waveform with the samples a selection chose."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from scipy.signal import stft

from .plotting import drawable, new_figure, part_colour, part_label

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    """HTK mel scale: 2595 log10(1 + f / 700)."""
    return 2595.0 * np.log10(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)


def mel_to_hz(mel: np.ndarray | float) -> np.ndarray:
    return 700.0 * (10.0 ** (np.asarray(mel, dtype=np.float64) / 2595.0) - 1.0)


def mel_filterbank(rate: int, n_fft: int, n_mels: int) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) triangular filters, equally spaced on the mel scale."""
    freqs = np.linspace(0.0, rate / 2.0, n_fft // 2 + 1)
    edges = mel_to_hz(np.linspace(0.0, hz_to_mel(rate / 2.0), n_mels + 2))
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (freqs[None, :] - lower) / (centre - lower)
    falling = (upper - freqs[None, :]) / (upper - centre)
    return np.clip(np.minimum(rising, falling), 0.0, None)


def mel_spectrogram(
    audio: np.ndarray, rate: int, n_fft: int = 1024, hop: int = 256, n_mels: int = 80
) -> np.ndarray:
    """(n_mels, frames) mel power spectrogram in dB (floor at -100 dB) of (T,) audio."""
    # never longer than the clip: scipy would shorten the window itself (with a warning) and
    # then find the overlap too long for it
    n_fft = min(n_fft, len(audio))
    _, _, spec = stft(audio, fs=rate, nperseg=n_fft, noverlap=n_fft - min(hop, n_fft // 2))
    power = np.abs(spec) ** 2
    mel = mel_filterbank(rate, n_fft, n_mels) @ power
    return 10.0 * np.log10(np.maximum(mel, 1e-10))


def plot_audio_comparison(
    panels: dict[str, np.ndarray], rate: int, path: Path, title: str | None = None
) -> Path:
    """Mel spectrogram above waveform, one column per panel (e.g. ground truth, reconstruction)."""
    specs = {name: mel_spectrogram(audio, rate) for name, audio in panels.items()}
    vmax = max(float(s.max()) for s in specs.values())
    peak = 1.05 * max(float(np.max(np.abs(audio))) for audio in panels.values())
    fig = new_figure(figsize=(4.2 * len(panels), 5.0), dpi=110)
    axes = fig.subplots(2, len(panels), squeeze=False, gridspec_kw={"height_ratios": [2, 1]})
    for col, (name, audio) in enumerate(panels.items()):
        seconds = len(audio) / rate
        ax = axes[0, col]
        ax.imshow(
            specs[name],
            origin="lower",
            aspect="auto",
            cmap="magma",
            vmin=vmax - 80.0,
            vmax=vmax,
            extent=(0.0, seconds, 0.0, float(hz_to_mel(rate / 2))),
        )
        ax.set_title(drawable(name))
        ax.set_ylabel("mel" if col == 0 else "")
        ax = axes[1, col]
        ax.plot(np.arange(len(audio)) / rate, audio, linewidth=0.4, color="tab:blue")
        ax.set_xlim(0.0, seconds)
        ax.set_ylim(-peak, peak)  # one amplitude scale for every panel
        ax.set_xlabel("seconds")
        ax.set_ylabel("amplitude" if col == 0 else "")
    if title:
        fig.suptitle(drawable(title))
    fig.tight_layout()
    fig.savefig(path)
    return Path(path)


def plot_selected_samples(
    audio: np.ndarray,
    rate: int,
    parts: dict[str, np.ndarray],
    path: Path,
    start: float = 0.0,
) -> Path:
    """``selected_samples_figure`` saved as ``path`` (PNG)."""
    selected_samples_figure(audio, rate, parts, start).savefig(path)
    return Path(path)


def selected_samples_figure(
    audio: np.ndarray, rate: int, parts: dict[str, np.ndarray], start: float = 0.0
) -> Figure:
    """(T,) waveform in grey with the samples of each part (index arrays) marked in their
    part's colour (``plotting.PARTS``); the legend, outside the axes on the right, names each
    part with its count."""
    t = np.arange(audio.size) / rate + start
    fig = new_figure(figsize=(10.5, 3), dpi=110, layout="constrained")
    ax = fig.subplots()
    ax.plot(t, audio, color="0.75", linewidth=0.4)
    marks = [
        ax.scatter(t[idx], audio[idx], s=1.0, color=part_colour(part))
        for part, idx in parts.items()
    ]
    ax.set_xlabel("seconds")
    ax.set_ylabel("amplitude")
    chosen = np.unique(np.concatenate([idx.ravel() for idx in parts.values()])).size
    ax.legend(
        marks,
        [part_label(part, idx.size) for part, idx in parts.items()],
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        borderaxespad=0.0,
        markerscale=6,
        fontsize=8,
        title=f"last selection:\n{chosen} of {audio.size} samples",
        title_fontsize=8,
    )
    return fig
