"""Figures with matplotlib's Agg backend (no screen needed)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def _gap(value: float | None) -> float:
    """A missing value (None) as NaN, which matplotlib leaves as a gap in the line."""
    return math.nan if value is None else value


def plot_curves(
    curves: Mapping[str, Sequence[Mapping[str, float | None]]],
    path: Path,
    metric: str = "psnr",
    x: str = "train_seconds",
    title: str | None = None,
    thresholds: Sequence[float] = (),
) -> Path:
    """One line per run: ``metric`` of each history row against ``x``; saved as PNG."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    for label, rows in curves.items():
        xs, ys = [_gap(r[x]) for r in rows], [_gap(r[metric]) for r in rows]
        ax.plot(xs, ys, label=label, linewidth=1.6)
    for value in thresholds:
        ax.axhline(value, color="0.6", linestyle=":", linewidth=1)
    ax.set_xlabel({"train_seconds": "training seconds", "iteration": "iterations"}.get(x, x))
    ax.set_ylabel(metric.upper() + (" (dB)" if metric == "psnr" else ""))
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def plot_comparison(
    curves: Mapping[str, Sequence[Mapping[str, float | None]]],
    folder: Path,
    metric: str = "psnr",
    title: str | None = None,
    thresholds: Sequence[float] = (),
) -> list[Path]:
    """Side-by-side runs against training seconds and against iterations (two PNGs)."""
    return [
        plot_curves(curves, Path(folder) / f"{metric}_vs_{name}.png", metric, x, title, thresholds)
        for name, x in (("time", "train_seconds"), ("iteration", "iteration"))
    ]
