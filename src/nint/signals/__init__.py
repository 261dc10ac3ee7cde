"""Signals: files -> coordinates and targets, and predictions -> files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .base import Signal
from .image import ImageSignal, load_image


def load_signal(path: str | Path, **options: Any) -> Signal:
    """Read a signal file. Images (anything Pillow reads) are the supported modality so far;
    ``options`` are the loader's (``size``, ``crop`` for images)."""
    return load_image(path, **options)


__all__ = ["Signal", "ImageSignal", "load_image", "load_signal"]
