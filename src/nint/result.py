"""What a fit returns (``FitResult``) and how its summary is built from history and clock.

This module sits between the loop and the report: ``nint.train`` builds a result, and
``nint.report`` writes one to a run folder; neither imports the other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .samplers import Sampler
from .signals import Signal
from .signals.base import Metric
from .timing import PartTimer

#: parts of the training clock, in the order they are reported ("data": drawing a fresh training
#: set, for signals with ``fresh_points``; "comm": summing gradients and sharing the clock across
#: the processes of a sharded fit, zero in one process)
PARTS = ("data", "residual", "ntk", "select", "train", "comm", "optimizer", "overhead")


@dataclass
class FitResult:
    """What a fit produced. ``history`` rows are evaluations; ``summary`` is the final record.

    ``prediction`` is the signal predicted by the final weights at its evaluation coordinates.
    """

    signal: Signal
    model: nn.Module
    sampler: Sampler
    config: dict[str, Any]
    history: list[dict[str, float | None]]
    summary: dict[str, Any]
    prediction: torch.Tensor = field(repr=False)

    def save(self, out: str | Path, overwrite: bool = False) -> Path:
        """Write the run folder (``nint.report.write_run``: result -> folder); returns its path.

        ``overwrite`` replaces an existing ``out`` only if nint wrote it (its ``.nint-run``
        marker) and it does not hold the current folder; anything else raises NintError."""
        from .report.run_folder import write_run  # the report reads results, never the reverse

        return write_run(self, out, overwrite=overwrite)


def first_crossing(
    history: list[dict[str, float | None]], metric: Metric, value: float
) -> dict[str, float] | None:
    """The first evaluation (iteration and training seconds) at which ``metric`` reached
    ``value``; None if none did."""
    for row in history:
        if metric.reached(row.get(metric.name), value):
            iteration, seconds = row["iteration"], row["train_seconds"]
            assert iteration is not None and seconds is not None  # every row has both
            return {"iteration": int(iteration), "seconds": seconds}
    return None


def summarise(
    signal: Signal, history: list[dict[str, float | None]], timer: PartTimer, iterations: int
):
    """The modality-independent summary of a finished fit, from its history and clock."""
    final = history[-1]
    reach = {
        metric.threshold_key(value): first_crossing(history, metric, value)
        for metric in signal.metrics
        for value in metric.thresholds
    }
    train_seconds = timer.total()
    return {
        "iterations": iterations,
        "train_seconds": train_seconds,
        "seconds_per_iteration": train_seconds / iterations if iterations else math.nan,
        "final": {k: v for k, v in final.items() if k not in ("iteration", "train_seconds")},
        "reached": reach,
        "reached_note": "first evaluation at or past the threshold (resolution: eval cadence)",
        "time_parts": {part: timer.totals.get(part, 0.0) for part in PARTS},
        "evaluations": len(history),
        "missing": dict(signal.missing),
        "notes": signal.notes(),
    }
