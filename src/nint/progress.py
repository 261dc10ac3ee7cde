"""Progress that survives without a terminal: plain lines on stderr, one per evaluation.

With a terminal, a fit shows tqdm's bar (``FitSettings.progress``), which redraws itself in
place and vanishes when the fit ends. In a cluster job or a pipe (stderr not a TTY) tqdm stays
silent, so ``nint fit`` adds a ``ProgressLines`` callback: after each evaluation (off the
training clock: ``fit`` calls callbacks between iterations, with the clock stopped) it writes one
flushed line such as ``nint: pic nint  it 200/1000  12.3 s  psnr 27.41``. ``nint demo`` and
``nint bench`` write one line per finished run (``finished_line``) instead: their fits evaluate
every few iterations, and a line per evaluation of every fit would bury the table.

Nothing here imports torch: the CLI builds these before the first fit.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Mapping
from typing import Any, TextIO

#: a fit callback: a history row in, True to stop the fit
Callback = Callable[[dict[str, Any]], Any]


def stderr_is_terminal() -> bool:
    """Whether stderr is a TTY (where tqdm draws its bar); False if it has no isatty."""
    isatty = getattr(sys.stderr, "isatty", None)
    return bool(isatty and isatty())


def format_value(value: object) -> str:
    """A metric as progress lines show it: 4 significant digits; "n/a" for a missing value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, (int, float)):
        return f"{value:.4g}"
    return str(value)


class ProgressLines:
    """A fit callback writing one line per evaluation to ``stream`` (default: stderr).

    The line names the run (``label``), the iteration (out of the iteration budget, if any),
    the training seconds (out of the seconds budget, if any) and ``metric``. It never stops the
    fit (returns None). Writing costs nothing on the training clock: ``fit`` calls callbacks
    after each evaluation, with its clock stopped.
    """

    def __init__(
        self,
        label: str,
        metric: str,
        iterations: int | None = None,
        seconds: float | None = None,
        stream: TextIO | None = None,
    ) -> None:
        self.label, self.metric = label, metric
        self.iterations, self.seconds = iterations, seconds
        self.stream = stream

    def line(self, row: Mapping[str, Any]) -> str:
        """The progress line of one history row."""
        step = int(row["iteration"])
        it = f"it {step}" if self.iterations is None else f"it {step}/{self.iterations}"
        train = float(row["train_seconds"])
        clock = f"{train:.1f} s" if self.seconds is None else f"{train:.1f}/{self.seconds:g} s"
        value = format_value(row.get(self.metric))
        return f"nint: {self.label}  {it}  {clock}  {self.metric} {value}"

    def __call__(self, row: dict[str, Any]) -> None:
        stream = self.stream or sys.stderr
        print(self.line(row), file=stream, flush=True)


def chain(*callbacks: Callback | None) -> Callback | None:
    """One callback calling each of ``callbacks`` (None ones left out) in order; it asks the
    fit to stop (returns True) when any of them does. None when there is none."""
    present = [c for c in callbacks if c is not None]
    if not present:
        return None
    if len(present) == 1:
        return present[0]

    def every(row: dict[str, Any]) -> bool:
        # each callback gets its own copy, as fit gives one: none can change another's row
        answers = [callback(dict(row)) is True for callback in present]
        return any(answers)

    # config.json names a fit's callback by its qualified name: name the ones chained
    names = [getattr(c, "__qualname__", None) or type(c).__qualname__ for c in present]
    every.__qualname__ = " + ".join(names)
    return every


def finished_line(label: str, summary: Mapping[str, Any], metric: str) -> str:
    """The line ``nint demo`` and ``nint bench`` write when a run ends, from its summary."""
    value = format_value(summary["final"].get(metric))
    return (
        f"nint: {label}  done  {summary['iterations']} it  {summary['train_seconds']:.1f} s  "
        f"{metric} {value}"
    )


def write_line(text: str) -> None:
    """``text`` on stderr, flushed (a pipe would otherwise hold it until the process ends)."""
    print(text, file=sys.stderr, flush=True)
