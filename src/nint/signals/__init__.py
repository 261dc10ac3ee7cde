"""Signals: files -> coordinates and targets, and predictions -> files."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import NintError
from ..options import Option
from .audio import AUDIO_OPTIONS, AUDIO_SUFFIXES, AudioSignal, load_audio
from .base import Signal
from .image import IMAGE_OPTIONS, ImageSignal, load_image
from .librispeech import Utterance, list_utterances, load_utterances
from .mesh import MESH_SUFFIXES
from .sdf import MESH_OPTIONS, SdfSignal, load_mesh
from .superres import SuperResSignal, load_superres


@dataclass(frozen=True)
class Modality:
    """A kind of signal file, declared once: which files it reads, its loader and the loader's
    options (from which the command line's flags follow).

    Attributes:
        name: the signals' ``modality`` ("image", "audio", "sdf").
        label: how files of this kind are named in messages and ``--help`` ("mesh").
        suffixes: the file endings it reads; empty for the fallback (images: whatever Pillow
            reads).
        loader: path, **options -> Signal.
        options: the loader's options.
    """

    name: str
    label: str
    suffixes: frozenset[str]
    loader: Callable[..., Signal]
    options: tuple[Option, ...]


#: every modality a file can be; the one without suffixes (images) takes every other file
MODALITIES: dict[str, Modality] = {
    "image": Modality("image", "image", frozenset(), load_image, IMAGE_OPTIONS),
    "audio": Modality("audio", "audio", AUDIO_SUFFIXES, load_audio, AUDIO_OPTIONS),
    "sdf": Modality("sdf", "mesh", MESH_SUFFIXES, load_mesh, MESH_OPTIONS),
}


def modality_of(path: str | Path) -> str:
    """'audio' for .wav/.flac/.ogg files, 'sdf' for .ply/.obj/.off/.stl meshes, 'image' for
    everything else (read by Pillow)."""
    suffix = Path(path).suffix.lower()
    for modality in MODALITIES.values():
        if suffix in modality.suffixes:
            return modality.name
    return next(m.name for m in MODALITIES.values() if not m.suffixes)


def load_signal(path: str | Path, **options: Any) -> Signal:
    """Read a signal file, choosing the loader by extension.

    ``options`` are the loader's (``MODALITIES[...].options``): ``size``, ``crop`` for images;
    ``start``, ``duration``, ``coord_range`` for audio; ``points_per_iteration``, ``pool_size``,
    ``grid_resolution``, ``chamfer_points`` for meshes. Options left None are ignored; one that
    does not apply to the file's modality is an error.
    """
    modality = MODALITIES[modality_of(path)]
    accepted = {option.name for option in modality.options}
    flags = {o.name: o.cli_flag for m in MODALITIES.values() for o in m.options}
    given = {k: v for k, v in options.items() if v is not None}
    for key in given:
        if key not in accepted:
            raise NintError(
                f"{flags.get(key, key)} does not apply to {modality.label} files "
                f"({Path(path).name})"
            )
    return modality.loader(path, **given)


__all__ = [
    "AUDIO_SUFFIXES",
    "AudioSignal",
    "ImageSignal",
    "MODALITIES",
    "Modality",
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
