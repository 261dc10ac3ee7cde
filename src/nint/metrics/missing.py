"""The value of a metric that could not be computed."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Missing:
    """A metric that could not be computed, and why. Never turned into a number."""

    reason: str
