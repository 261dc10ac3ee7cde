"""LibriSpeech utterances from a folder in the corpus layout.

    <root>/<speaker>/<chapter>/<speaker>-<chapter>-<utterance>.flac

``root`` is a split folder such as ``test-clean``. Utterances are listed in corpus order: by
speaker, chapter and utterance number, compared as numbers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import NintError
from .audio import AudioSignal, load_audio

_NAME = re.compile(r"(\d+)-(\d+)-(\d+)\.flac")


@dataclass(frozen=True)
class Utterance:
    """One utterance: its id ("121-121726-0000"), the numbers in it, and its file."""

    id: str
    speaker: int
    chapter: int
    index: int
    path: Path


def list_utterances(root: str | Path, limit: int | None = None) -> list[Utterance]:
    """The utterances under ``root`` in corpus order, at most ``limit`` of them.

    Files that do not follow the layout (a name that does not match its folders) are ignored.

    Raises:
        NintError: ``root`` is missing or holds no utterance.
    """
    root = Path(root)
    if not root.is_dir():
        raise NintError(f"no LibriSpeech folder at {root}")
    if limit is not None and limit < 1:
        raise NintError(f"the utterance limit must be at least 1, got {limit}")
    found = []
    for path in root.glob("*/*/*.flac"):
        m = _NAME.fullmatch(path.name)
        if not m or (m[1], m[2]) != (path.parent.parent.name, path.parent.name):
            continue
        speaker, chapter, index = int(m[1]), int(m[2]), int(m[3])
        found.append(Utterance(path.stem, speaker, chapter, index, path))
    if not found:
        raise NintError(
            f"no utterances in the layout speaker/chapter/speaker-chapter-utt.flac under {root}"
        )
    found.sort(key=lambda u: (u.speaker, u.chapter, u.index))
    return found[:limit]


def load_utterances(
    root: str | Path, limit: int | None = None, **options: Any
) -> Iterator[tuple[Utterance, AudioSignal]]:
    """Yield (utterance, signal) in corpus order; ``options`` go to ``load_audio``."""
    for utterance in list_utterances(root, limit):
        yield utterance, load_audio(utterance.path, **options)
