"""Signals: files -> coordinates and targets, and predictions -> files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import NintError
from .audio import AUDIO_SUFFIXES, AudioSignal, load_audio
from .base import Signal
from .image import ImageSignal, load_image
from .librispeech import Utterance, list_utterances, load_utterances
from .superres import SuperResSignal, load_superres

_OPTION_FLAGS = {
    "size": "--size",
    "crop": "--crop",
    "start": "--start",
    "duration": "--duration",
    "coord_range": "--coord-range",
}
_LOADERS = {
    "audio": (load_audio, ("start", "duration", "coord_range")),
    "image": (load_image, ("size", "crop")),
}


def modality_of(path: str | Path) -> str:
    """'audio' for .wav/.flac/.ogg files, 'image' for everything else (read by Pillow)."""
    return "audio" if Path(path).suffix.lower() in AUDIO_SUFFIXES else "image"


def load_signal(path: str | Path, **options: Any) -> Signal:
    """Read a signal file, choosing the loader by extension.

    ``options`` are the loader's: ``size``, ``crop`` for images; ``start``, ``duration``,
    ``coord_range`` for audio. Options left None are ignored; one that does not apply to the
    file's modality is an error.
    """
    modality = modality_of(path)
    loader, accepted = _LOADERS[modality]
    given = {k: v for k, v in options.items() if v is not None}
    for key in given:
        if key not in accepted:
            flag = _OPTION_FLAGS.get(key, key)
            raise NintError(f"{flag} does not apply to {modality} files ({Path(path).name})")
    return loader(path, **given)


__all__ = [
    "AUDIO_SUFFIXES",
    "AudioSignal",
    "ImageSignal",
    "Signal",
    "SuperResSignal",
    "Utterance",
    "list_utterances",
    "load_audio",
    "load_image",
    "load_signal",
    "load_superres",
    "load_utterances",
    "modality_of",
]
