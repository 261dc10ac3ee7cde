"""The paper's experiments as data: which signals, which strategies with which settings, which
budgets and metrics, and how the presets scale them.

An ``Experiment`` holds no code of its own: the runner (``runner.py``) turns it into independent
fits, and the report (``report.py``) turns their run folders into the paper's table and figure.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Variant:
    """One row of a table: a strategy with its settings.

    Attributes:
        label: the row's name as in the paper ("NINT", "B = 40%", "Incremental").
        strategy: a registered strategy name.
        options: sampler options, as (name, value) pairs.
        underline: the paper underlines the rows that use the ``step`` batch-ratio scheduler.
    """

    label: str
    strategy: str
    options: tuple[tuple[str, Any], ...] = ()
    underline: bool = False

    @property
    def key(self) -> str:
        """A folder-safe id unique within an experiment ("nint", "nint-step", "b-40")."""
        text = self.label.lower() + ("-step" if self.underline else "")
        return re.sub(r"[^a-z0-9]+", "-", text).strip("-")

    @property
    def settings(self) -> dict[str, Any]:
        return dict(self.options)


@dataclass(frozen=True)
class Metric:
    """A column family: a metric from ``summary.json`` / ``history.csv``.

    Attributes:
        key: the metric's name in the history ("psnr", "si_snr", "chamfer").
        label: the column label ("PSNR", "SI-SNR", "CHD (x1e-3)").
        higher_is_better: which end is bold.
        digits: decimals shown.
        scale: multiplies the value for display (1e3 for Chamfer in units of 1e-3).
    """

    key: str
    label: str
    higher_is_better: bool = True
    digits: int = 3
    scale: float = 1.0


@dataclass(frozen=True)
class Threshold:
    """A target whose first crossing is reported in iterations and training seconds."""

    metric: str
    value: float
    label: str

    @property
    def key(self) -> str:
        """The key of ``summary.json``'s "reached" entry, e.g. "psnr>=30" or "lpips<=0.2"."""
        op = "<=" if self.metric in ("lpips", "chamfer") else ">="
        return f"{self.metric}{op}{self.value:g}"


@dataclass(frozen=True)
class Preset:
    """How one preset sizes an experiment.

    Attributes:
        checkpoints: the budgets at which metrics are tabled (seconds or iterations); the last
            one is each fit's budget unless ``cap`` says otherwise.
        limit: how many signals of the data set to fit (None: all).
        load: options for the signal loader (crop, size, duration, grid resolution, ...).
        cap: for threshold tables, the iteration budget of each fit.
        eval_every: evaluation cadence in iterations (iteration budgets).
        factors: how this preset departs from the paper, printed in the table's caption.
    """

    checkpoints: tuple[float, ...] = ()
    limit: int | None = None
    load: tuple[tuple[str, Any], ...] = ()
    cap: int | None = None
    eval_every: int | None = None
    factors: tuple[str, ...] = ()


@dataclass(frozen=True)
class Experiment:
    """One of the paper's tables (and its figure), as data.

    Attributes:
        name: the command-line name ("audio", "sdf", "ablation", ...).
        title: the table's title.
        paper_ref: where it is in the paper ("Table 6").
        data: the kind of data set: "librispeech", "images" or "meshes".
        variants: the table's rows.
        metrics: the metrics tabled at each checkpoint (layout "checkpoints").
        unit: "seconds" (training clock) or "iterations".
        layout: "checkpoints" (budgets x metrics) or "thresholds" (iterations and seconds to
            each threshold, Table 8).
        thresholds: the targets of a "thresholds" table, or extra time-to-target columns of a
            "checkpoints" table (Tables 9 and 10).
        presets: "paper" and "cpu".
        loader: how a data file becomes a signal, when not by ``nint.load_signal`` (Table 9:
            ``load_superres``, trained downsampled and scored at full size).
        fit: extra ``nint.fit`` keyword arguments shared by every run.
    """

    name: str
    title: str
    paper_ref: str
    data: str
    variants: tuple[Variant, ...]
    metrics: tuple[Metric, ...]
    unit: str
    layout: str
    presets: dict[str, Preset]
    thresholds: tuple[Threshold, ...] = ()
    loader: Callable[..., Any] | None = None
    fit: tuple[tuple[str, Any], ...] = field(default=())

    def __post_init__(self) -> None:
        keys = [v.key for v in self.variants]
        if len(set(keys)) != len(keys):
            raise ValueError(f"experiment {self.name}: variant keys collide: {keys}")
        if self.unit not in ("seconds", "iterations") or self.layout not in (
            "checkpoints",
            "thresholds",
        ):
            raise ValueError(f"experiment {self.name}: bad unit or layout")
