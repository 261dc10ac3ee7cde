"""Writing a run folder, all or nothing, and never over anything nint did not write.

Everything is written into a sibling ``<out>.partial-<host>-<pid>`` folder and renamed to
``<out>`` only once every file is in place, so a folder named ``<out>`` is always complete. Every
folder nint writes (run folders, ``nint demo`` and ``nint bench`` folders, rescue folders) holds a
marker file, ``.nint-run``: a small JSON object ``{"written_by": "nint", "kind": ..., "version":
...}``. An existing ``<out>`` is an error unless ``overwrite`` is set, and even then it is replaced
only after the new run is written, and only if it holds that marker and neither is nor holds the
current folder or an input file (``check_out``, called before any training). Folders written by
nint before the marker existed are refused; delete them yourself.

Paths are resolved first (``.``, ``..``, ``a/../b``, symbolic links), so a run never creates
folders that a ``..`` then walks out of, and missing parent folders that a failed write created
are removed again.

A run killed while it is being written (SIGKILL, or SIGTERM outside the CLI) leaves its
``.partial-<host>-<pid>`` folder; the next write into the same parent removes such leftovers of
this host whose process is gone, and never another host's, a live process's, or a folder without
the marker.

``save_or_rescue`` is for callers whose process ends after the fit (the CLI, ``nint demo``,
``nint bench``): if the run folder cannot be written after training (a full disk, a file size
limit, a folder that appeared meanwhile), it keeps the run, with the model's weights
(``weights.safetensors``, as in every run folder), in a fresh ``nint-rescued-*`` folder of the
system's temporary folder and raises ``RunNotSaved`` naming it (exit status 1 from the CLI).
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..checkpoint import WEIGHTS, save_weights
from ..errors import NintError, RunNotSaved
from .artifacts import write_artifacts
from .environment import environment
from .figures import plot_curves

if TYPE_CHECKING:
    from ..result import FitResult

#: the file that says nint wrote the folder it is in
MARKER = ".nint-run"


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


def write_history(path: Path, history: list[dict[str, float | None]]) -> None:
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


# ---- the marker ---------------------------------------------------------------------------------


def write_marker(folder: Path, kind: str) -> None:
    """Say in ``folder`` that nint wrote it (``kind``: "run", "comparison", "bench", "rescue")."""
    from .. import __version__  # at call time: the package imports the report, not the reverse

    write_json(folder / MARKER, {"written_by": "nint", "kind": kind, "version": __version__})


def written_by_nint(folder: Path) -> bool:
    """Whether ``folder`` holds nint's marker (a plain file, not a link to one elsewhere)."""
    marker = folder / MARKER
    return marker.is_file() and not marker.is_symlink()


# ---- paths --------------------------------------------------------------------------------------


def absolute(path: str | Path) -> Path:
    """``path`` as the folder it reaches: absolute, with ``.``, ``..`` and links resolved.

    ``Path(".").name`` is empty and ``a/../x`` makes ``mkdir(parents=True)`` create ``a``; the
    resolved path has neither problem, and says which folder a ``..`` really lands in.
    """
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symbolic link loop (Python < 3.13)
        raise NintError(f"cannot resolve the path {path}: {exc}") from None


def make_folder(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; returns those created, outermost first, for
    ``remove_if_empty`` to undo."""
    created: list[Path] = []
    try:
        for path in [*reversed(folder.parents), folder]:
            if not _exists(path):
                path.mkdir()
                created.append(path)
    except BaseException:
        remove_if_empty(created)
        raise
    return created


def remove_if_empty(created: Sequence[Path]) -> None:
    """Remove the folders of ``make_folder`` that are still empty, innermost first."""
    for path in reversed(created):
        try:
            path.rmdir()
        except OSError:  # not empty (someone else wrote there) or gone: leave it
            return


@contextmanager
def marked_folder(folder: Path, kind: str) -> Iterator[Path]:
    """Create ``folder`` (and missing parents) with the marker for what the block writes in it;
    if the block fails before writing anything else there, leave no trace of it.

    An existing folder keeps its contents; it gets the marker if it has none.
    """
    created = make_folder(folder)
    marker_written = not written_by_nint(folder)
    if marker_written:
        write_marker(folder, kind)
    try:
        yield folder
    except BaseException:
        if marker_written and [p.name for p in folder.iterdir()] == [MARKER]:
            (folder / MARKER).unlink()
        remove_if_empty(created)
        raise


# ---- what may be replaced -----------------------------------------------------------------------


def _holds(folder: Path, path: Path) -> bool:
    return path == folder or folder in path.parents


def why_not_replaceable(folder: Path, keep: Sequence[str | Path] = ()) -> str | None:
    """Why nint must not delete the existing ``folder`` (resolved), or None if it may.

    nint deletes only folders it wrote (the marker), never the current folder or one above it,
    and never one holding a file in ``keep`` (the input being fitted).
    """
    if _holds(folder, Path.cwd().resolve()):
        return "holds the current folder"
    for path in keep:
        if _holds(folder, absolute(path)):
            return f"holds the input {path}"
    if not written_by_nint(folder):
        return f"was not written by nint (it has no {MARKER} file; delete it yourself if it may go)"
    return None


def remove_nint_folder(folder: Path, keep: Sequence[str | Path] = ()) -> None:
    """``shutil.rmtree`` of a folder nint wrote; NintError for any other."""
    folder = absolute(folder)
    why = why_not_replaceable(folder, keep)
    if why is not None:
        raise NintError(f"refusing to replace {folder}: it {why}")
    shutil.rmtree(folder)


def check_creatable(folder: str | Path) -> Path:
    """NintError unless ``folder`` exists as a folder or could be created (with its parents and
    its ``.partial-<host>-<pid>`` sibling) now; creates nothing that outlives the check. Returns
    ``folder`` resolved (``absolute``).

    Checked before any training, so that a run is never lost for want of a place to write it.
    """
    shown, folder = folder, absolute(folder)
    if _exists(folder):
        if not folder.is_dir():
            raise NintError(f"output path {shown} exists and is not a folder")
        return folder
    existing = folder.parent
    while not _exists(existing) and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise NintError(f"cannot create {shown}: {existing} is a file, not a folder")
    try:
        name_max = os.pathconf(existing, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        name_max = 255
    # the run is first written as "<name>.partial-<host>-<pid>" (write_run): that name must fit
    suffix = _partial_suffix()
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
            f"cannot create {shown}: cannot write in {existing} ({exc.strerror})"
        ) from None
    probe.rmdir()
    return folder


def check_out(out: str | Path, overwrite: bool, keep: Sequence[str | Path] = ()) -> Path:
    """Fail early (before any training) when ``out`` exists and may not be replaced, or cannot
    be created; returns ``out`` resolved.

    ``keep``: input files that ``out`` must not hold if it is to be replaced.
    """
    target = absolute(out)
    if _exists(target) and target.is_dir():
        why = why_not_replaceable(target, keep)
        if why is not None:
            raise NintError(f"output folder {out} already exists and {why}; choose another --out")
        if not overwrite:
            raise NintError(f"output folder {out} already exists (use --overwrite to replace it)")
    return check_creatable(target)


# ---- partial folders ----------------------------------------------------------------------------


def _host() -> str:
    """This machine's name as it may appear in a file name."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", socket.gethostname())[:64] or "host"


def _partial_suffix(pid: int | None = None) -> str:
    return f".partial-{_host()}-{os.getpid() if pid is None else pid}"


def _process_is_gone(pid: int) -> bool:
    if os.name != "posix":  # elsewhere os.kill(pid, 0) is no harmless probe: keep everything
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError):  # alive but someone else's; or no such pid number
        return False
    return False


def remove_stale_partials(parent: Path) -> list[Path]:
    """Remove the ``*.partial-<host>-<pid>`` folders in ``parent`` that this host's runs left
    when killed mid-write: only with this host's name, a process that is gone and the marker.
    Returns those removed."""
    pattern = re.compile(rf".+\.partial-{re.escape(_host())}-(\d+)")
    removed = []
    for entry in parent.iterdir():
        found = pattern.fullmatch(entry.name)
        if (
            found
            and entry.is_dir()
            and not entry.is_symlink()
            and written_by_nint(entry)
            and _process_is_gone(int(found.group(1)))
        ):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


# ---- writing ------------------------------------------------------------------------------------


#: writes more files into a run folder being written (e.g. TensorBoard's event files)
Extra = Callable[[Path], object]


def write_contents(result: FitResult, folder: Path, extra: Extra | None = None) -> None:
    """Config, environment, weights, history, reconstruction, figures, what ``extra(folder)``
    writes (if given) and, last, the summary."""
    write_json(folder / "config.json", result.config)
    write_json(folder / "environment.json", environment(result.config["device"]))
    # the weights early: a run can be evaluated again from them, not from its pictures
    save_weights(result.model, folder / WEIGHTS)
    write_history(folder / "history.csv", result.history)
    write_artifacts(result.signal, result.prediction, result.sampler.parts, folder)
    metric = result.signal.primary_metric
    plot_curves(
        {result.sampler.name: result.history},
        folder / f"{metric}_vs_time.png",
        metric=metric,
        title=f"{result.signal.name}: {result.sampler.name}",
    )
    if extra is not None:
        extra(folder)
    # summary.json last: its presence marks a finished run for anyone reading the folder
    write_json(folder / "summary.json", result.summary)


def write_run(
    result: FitResult,
    out: str | Path,
    overwrite: bool = False,
    keep: Sequence[str | Path] = (),
    extra: Extra | None = None,
) -> Path:
    """Write config, environment, history, summary, reconstruction and figures (and what
    ``extra`` writes: ``write_contents``) to ``out``;
    returns its path (as given, or resolved where it has ``..``). Raises NintError where
    ``check_out`` refuses ``out``, and the OSError of a failed write, leaving no partial folder
    and no parent folder it created."""
    given = Path(out)
    out = check_out(out, overwrite, keep)
    created = make_folder(out.parent)
    try:
        remove_stale_partials(out.parent)
        partial = out.with_name(out.name + _partial_suffix())
        if _exists(partial):  # this process's name, so a dead run's (a pid used again)
            remove_nint_folder(partial)
        partial.mkdir()
        try:
            write_marker(partial, "run")
            write_contents(result, partial, extra)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        if _exists(out):
            try:
                remove_nint_folder(out, keep)  # checked again: it may have changed since
            except BaseException:
                shutil.rmtree(partial, ignore_errors=True)
                raise
        partial.rename(out)
    except BaseException:
        remove_if_empty(created)
        raise
    return out if ".." in given.parts else given  # as the user wrote it, where it means the same


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)


def rescue_run(result: FitResult, extra: Extra | None = None) -> Path:
    """Write the run, weights included, into a new ``nint-rescued-*`` folder of the
    system's temporary folder; returns it. On failure nothing of it is left (and OSError)."""
    folder = Path(tempfile.mkdtemp(prefix="nint-rescued-"))
    try:
        write_marker(folder, "rescue")
        write_contents(result, folder, extra)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder


def save_or_rescue(
    result: FitResult,
    out: str | Path,
    overwrite: bool = False,
    keep: Sequence[str | Path] = (),
    extra: Extra | None = None,
) -> Path:
    """``write_run``, for callers whose process ends after the fit: where the run folder cannot
    be written, the finished run is kept in a rescue folder (``rescue_run``) and ``RunNotSaved``
    names it in one line; if even that fails, the line says the run is lost."""
    try:
        return write_run(result, out, overwrite, keep, extra)
    except (OSError, NintError) as exc:
        failure = f"could not write {out} ({_reason(exc)})"
    try:
        rescue = rescue_run(result, extra)
    except OSError as exc:
        raise RunNotSaved(
            f"{failure}, nor a copy in {tempfile.gettempdir()} ({_reason(exc)}); the run is lost"
        ) from None
    raise RunNotSaved(f"{failure}; the finished run was kept in {rescue}")
