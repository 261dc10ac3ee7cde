"""Run folders of an experiment -> the paper's table (Markdown and CSV) and its figure.

Numbers come only from the runs' ``summary.json`` and ``history.csv``; nothing is recomputed. A
cell is the mean over the data set's signals, with the standard deviation when there are several;
a value that is missing in any run (a metric that could not be computed, a target not reached)
leaves the cell missing (an em dash), never a number.
"""

from __future__ import annotations

import csv
import json
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..report.tables import markdown_table
from .runner import RunSpec
from .spec import Experiment, Preset


@dataclass
class Column:
    """One column of the table: a label, a way to read a run's value, which end is best."""

    label: str
    higher_is_better: bool
    digits: int
    scale: float = 1.0
    source: tuple = ()  # ("history", metric, unit, checkpoint) or ("reached", key, field)


def columns(experiment: Experiment, preset: Preset) -> list[Column]:
    cols = []
    if experiment.layout == "checkpoints":
        unit = "s" if experiment.unit == "seconds" else "it"
        for cp in preset.checkpoints:
            for m in experiment.metrics:
                arrow = "↑" if m.higher_is_better else "↓"
                cols.append(
                    Column(
                        f"{cp:g} {unit} {m.label} {arrow}",
                        m.higher_is_better,
                        m.digits,
                        m.scale,
                        ("history", m.key, experiment.unit, cp),
                    )
                )
        for t in experiment.thresholds:
            cols.append(Column(f"{t.label} (s) ↓", False, 2, 1.0, ("reached", t.key, "seconds")))
    else:
        for field in ("iteration", "seconds"):
            for t in experiment.thresholds:
                unit = "it" if field == "iteration" else "s"
                digits = 0 if field == "iteration" else 2
                cols.append(
                    Column(f"{t.label} ({unit}) ↓", False, digits, 1.0, ("reached", t.key, field))
                )
    return cols


def read_history(folder: Path) -> list[dict[str, float | None]]:
    with open(folder / "history.csv", newline="") as f:
        return [
            {k: (float(v) if v not in ("", None) else None) for k, v in row.items()}
            for row in csv.DictReader(f)
        ]


def value_of(column: Column, summary: dict, history: list[dict]) -> float | None:
    """A run's value for a column (None: missing, not reached or not computable)."""
    kind = column.source[0]
    if kind == "reached":
        _, key, field = column.source
        hit = summary["reached"].get(key)
        return None if hit is None else float(hit[field])
    _, metric, unit, checkpoint = column.source
    axis = "train_seconds" if unit == "seconds" else "iteration"
    for row in history:  # the first evaluation at or past the checkpoint
        if row[axis] is not None and row[axis] >= checkpoint - 1e-9:
            value = row.get(metric)
            return None if value is None or math.isnan(value) else value * column.scale
    return None


@dataclass
class Cell:
    values: list[float | None]

    @property
    def complete(self) -> bool:
        return bool(self.values) and all(v is not None for v in self.values)

    def _known(self) -> list[float] | None:
        """The values when every one is known (``complete``), else None."""
        known = [v for v in self.values if v is not None]
        return known if self.complete else None

    @property
    def mean(self) -> float | None:
        known = self._known()
        return None if known is None else statistics.fmean(known)

    @property
    def std(self) -> float | None:
        known = self._known()
        if known is None or len(known) < 2:
            return None
        return statistics.stdev(known)


def collect(experiment: Experiment, preset: Preset, specs: Sequence[RunSpec]) -> dict:
    """{variant key: [Cell per column]} from the finished runs (all of them must be finished)."""
    cols = columns(experiment, preset)
    cells = {v.key: [Cell([]) for _ in cols] for v in experiment.variants}
    for spec in specs:
        folder = Path(spec.folder)
        summary = json.loads((folder / "summary.json").read_text())
        history = read_history(folder)
        for cell, column in zip(cells[spec.variant], cols, strict=True):
            cell.values.append(value_of(column, summary, history))
    return cells


def _best(cells: list[Cell], column: Column) -> float | None:
    means = [c.mean for c in cells if c.mean is not None]
    if not means:
        return None
    return max(means) if column.higher_is_better else min(means)


def _text(cell: Cell, column: Column) -> str:
    if cell.mean is None:
        return "—"
    text = f"{cell.mean:.{column.digits}f}"
    if cell.std is not None:
        text += f" ± {cell.std:.{column.digits}f}"
    return text


def markdown(experiment: Experiment, preset: Preset, cells: dict) -> str:
    """The table: one row per variant (step-scheduler rows underlined), best mean in bold."""
    cols = columns(experiment, preset)
    header = ["Strategy"] + [c.label for c in cols]
    best = [_best([cells[v.key][i] for v in experiment.variants], c) for i, c in enumerate(cols)]
    rows = []
    for v in experiment.variants:
        label = f"<u>{v.label}</u>" if v.underline else v.label
        row = [label]
        for i, column in enumerate(cols):
            cell = cells[v.key][i]
            text = _text(cell, column)
            mean, best_mean = cell.mean, best[i]
            if (
                mean is not None
                and best_mean is not None
                and round(mean, column.digits) == round(best_mean, column.digits)
            ):
                text = f"**{text}**"
            row.append(text)
        rows.append(row)
    return markdown_table(header, rows)  # cells are already text: fmt leaves them as they are


def write_csv(experiment: Experiment, preset: Preset, cells: dict, path: Path) -> Path:
    """The table's numbers: per row and column the mean, the standard deviation and n."""
    cols = columns(experiment, preset)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        header = ["strategy", "step_scheduler"]
        for c in cols:
            header += [f"{c.label} mean", f"{c.label} std", f"{c.label} n"]
        writer.writerow(header)
        for v in experiment.variants:
            row: list[object] = [v.label, v.underline]
            for cell in cells[v.key]:
                row += [
                    "" if cell.mean is None else cell.mean,
                    "" if cell.std is None else cell.std,
                    sum(x is not None for x in cell.values),
                ]
            writer.writerow(row)
    return path
