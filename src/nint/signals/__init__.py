"""Signals: files -> coordinates and targets, and predictions -> files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import NintError
from .audio import AUDIO_SUFFIXES, AudioSignal, load_audio
from .base import Signal
from .image import ImageSignal, load_image
from .librispeech import Utterance, list_utterances, load_utterances
from .mesh import MESH_SUFFIXES
from .sdf import SdfSignal, load_mesh
from .superres import SuperResSignal, load_superres

_OPTION_FLAGS = {
    "size": "--size",
    "crop": "--crop",
    "start": "--start",
    "duration": "--duration",
    "coord_range": "--coord-range",
    "points_per_iteration": "--points-per-iteration",
    "pool_size": "--pool-size",
    "grid_resolution": "--grid-resolution",
    "chamfer_points": "--chamfer-points",
}
_LOADERS = {
    "audio": (load_audio, ("start", "duration", "coord_range")),
    "image": (load_image, ("size", "crop")),
    "sdf": (load_mesh, ("points_per_iteration", "pool_size", "grid_resolution", "chamfer_points")),
}


def modality_of(path: str | Path) -> str:
    """'audio' for .wav/.flac/.ogg files, 'sdf' for .ply/.obj/.off/.stl meshes, 'image' for
    everything else (read by Pillow)."""
    suffix = Path(path).suffix.lower()
    if suffix in AUDIO_SUFFIXES:
        return "audio"
    return "sdf" if suffix in MESH_SUFFIXES else "image"


def load_signal(path: str | Path, **options: Any) -> Signal:
    """Read a signal file, choosing the loader by extension.

    ``options`` are the loader's: ``size``, ``crop`` for images; ``start``, ``duration``,
    ``coord_range`` for audio; ``points_per_iteration``, ``pool_size``, ``grid_resolution``,
    ``chamfer_points`` for meshes. Options left None are ignored; one that does not apply to the
    file's modality is an error.
    """
    modality = modality_of(path)
    loader, accepted = _LOADERS[modality]
    given = {k: v for k, v in options.items() if v is not None}
    for key in given:
        if key not in accepted:
            flag = _OPTION_FLAGS.get(key, key)
            kind = "mesh" if modality == "sdf" else modality
            raise NintError(f"{flag} does not apply to {kind} files ({Path(path).name})")
    return loader(path, **given)


__all__ = [
    "AUDIO_SUFFIXES",
    "AudioSignal",
    "ImageSignal",
    "MESH_SUFFIXES",
    "SdfSignal",
    "Signal",
    "SuperResSignal",
    "Utterance",
    "list_utterances",
    "load_audio",
    "load_image",
    "load_mesh",
    "load_signal",
    "load_superres",
    "load_utterances",
    "modality_of",
]
