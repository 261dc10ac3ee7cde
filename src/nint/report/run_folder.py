"""Writing a run folder, all or nothing.

Everything is written into a sibling ``<out>.partial-<pid>`` folder and renamed to ``<out>`` only
once every file is in place, so a folder named ``<out>`` is always complete. An existing ``<out>``
is an error unless ``overwrite`` is set; it is then replaced only after the new run is written.
"""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import NintError
from .artifacts import write_artifacts
from .environment import environment
from .figures import plot_curves

if TYPE_CHECKING:
    from ..result import FitResult


def _json_safe(value: Any) -> Any:
    """inf/NaN are not JSON: write them as strings ("inf") / null."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(_json_safe(data), indent=2, allow_nan=False) + "\n")


def write_history(path: Path, history: list[dict[str, float]]) -> None:
    columns: list[str] = []
    for row in history:
        columns += [k for k in row if k not in columns]
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(history)


def check_out(out: str | Path, overwrite: bool) -> Path:
    """Fail early (before any training) when ``out`` exists and may not be replaced."""
    out = Path(out)
    if out.exists() and not overwrite:
        raise NintError(f"output folder {out} already exists (use --overwrite to replace it)")
    if out.exists() and not out.is_dir():
        raise NintError(f"output path {out} exists and is not a folder")
    return out


def write_run(result: FitResult, out: str | Path, overwrite: bool = False) -> Path:
    """Write config, environment, history, summary, reconstruction and figures to ``out``."""
    out = check_out(out, overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f"{out.name}.partial-{os.getpid()}")
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir()
    try:
        write_json(partial / "config.json", result.config)
        write_json(partial / "environment.json", environment(result.config["device"]))
        write_history(partial / "history.csv", result.history)
        write_artifacts(result.signal, result.prediction, result.sampler.parts, partial)
        metric = result.signal.primary_metric
        plot_curves(
            {result.sampler.name: result.history},
            partial / f"{metric}_vs_time.png",
            metric=metric,
            title=f"{result.signal.name}: {result.sampler.name}",
        )
        # summary.json last: its presence marks a finished run for anyone reading the folder
        write_json(partial / "summary.json", result.summary)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    if out.exists():
        shutil.rmtree(out)
    partial.rename(out)
    return out
