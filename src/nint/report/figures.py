"""Curves of a metric against training time or iterations, one line per run.

The legend sits outside the axes, to their right, so that it never covers a curve, however many
runs there are and wherever their curves go; the figure grows wider for it instead.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .plotting import drawable, new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure


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
    """``curves_figure`` saved as ``path`` (PNG)."""
    curves_figure(curves, metric, x, title, thresholds).savefig(path)
    return Path(path)


def curves_figure(
    curves: Mapping[str, Sequence[Mapping[str, float | None]]],
    metric: str = "psnr",
    x: str = "train_seconds",
    title: str | None = None,
    thresholds: Sequence[float] = (),
) -> Figure:
    """One line per run: ``metric`` of each history row against ``x``, dotted grey lines at
    ``thresholds``, the legend outside the axes on the right.

    ``curves`` maps each run's label (the legend entry) to its history rows; ``title`` and the
    labels are drawn as ``plotting.drawable`` makes them (characters the font lacks become "?").
    """
    # constrained layout makes room for the legend outside the axes
    fig = new_figure(figsize=(7.6, 4.2), dpi=120, layout="constrained")
    ax = fig.subplots()
    lines, labels = [], []
    for label, rows in curves.items():
        xs, ys = [_gap(r[x]) for r in rows], [_gap(r[metric]) for r in rows]
        lines += ax.plot(xs, ys, linewidth=1.6)
        labels.append(drawable(label))
    for value in thresholds:
        ax.axhline(value, color="0.6", linestyle=":", linewidth=1)
    ax.set_xlabel({"train_seconds": "training seconds", "iteration": "iterations"}.get(x, x))
    ax.set_ylabel(metric.upper() + (" (dB)" if metric == "psnr" else ""))
    if title:
        ax.set_title(drawable(title))
    ax.grid(alpha=0.3)
    # handles and labels given explicitly: matplotlib would leave out a label starting with "_"
    ax.legend(lines, labels, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
    return fig


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
