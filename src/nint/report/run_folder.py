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
import tempfile
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


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:  # a name too long for the file system: nothing of that name exists
        return False


def check_creatable(folder: str | Path) -> Path:
    """NintError unless ``folder`` exists as a folder or could be created (with its parents and
    its ``.partial-<pid>`` sibling) now; creates nothing that outlives the check.

    Checked before any training, so that a run is never lost for want of a place to write it.
    """
    folder = Path(folder)
    if _exists(folder):
        if not folder.is_dir():
            raise NintError(f"output path {folder} exists and is not a folder")
        return folder
    existing = folder.parent
    while not _exists(existing) and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise NintError(f"cannot create {folder}: {existing} is a file, not a folder")
    try:
        name_max = os.pathconf(existing, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        name_max = 255
    # the run is first written as "<name>.partial-<pid>" (write_run): that name must fit too
    suffix = f".partial-{os.getpid()}"
    parts = folder.relative_to(existing).parts
    for n, part in enumerate(parts):
        size = len(os.fsencode(part + (suffix if n == len(parts) - 1 else "")))
        if size > name_max:
            raise NintError(
                f"cannot create the output folder: the name {part[:20]}... is too long "
                f"({size} bytes with the {suffix!r} it is first written under; at most "
                f"{name_max} here)"
            )
    try:  # a real write: os.access says yes to root even where the file system says no
        probe = Path(tempfile.mkdtemp(prefix=".nint-check-", dir=existing))
    except OSError as exc:
        raise NintError(
            f"cannot create {folder}: cannot write in {existing} ({exc.strerror})"
        ) from None
    probe.rmdir()
    return folder


def check_out(out: str | Path, overwrite: bool) -> Path:
    """Fail early (before any training) when ``out`` exists and may not be replaced, or cannot
    be created."""
    out = Path(out)
    if _exists(out) and not overwrite:
        raise NintError(f"output folder {out} already exists (use --overwrite to replace it)")
    return check_creatable(out)


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
