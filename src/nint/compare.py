"""Fit several strategies on one signal, tabulate, plot and stamp the machine.

``nint demo`` and the scripts in ``benchmarks/`` all do the same thing around their own table:

>>> from nint.compare import Entry, compare
>>> comparison = compare(signal, ["uniform", Entry("nint", options={"variant": "official"},
...     label="NINT (official)")], Path("runs/x"), seconds=20)          # doctest: +SKIP
>>> rows = [[e.label, r.summary["final"]["psnr"]] for e, r in comparison]  # doctest: +SKIP
>>> comparison.write(["Strategy", "PSNR"], rows, "kodim05, 20 s each.")  # doctest: +SKIP

The fits run one after the other in this process, in the order given, never side by side, so that
no fit's training clock is slowed by another's; what stays with a caller is its arguments, its rows
and its caption.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import NintError
from .progress import chain
from .report import environment, markdown_table, one_line, plot_comparison
from .report.run_folder import marked_folder, remove_nint_folder, save_or_rescue
from .result import FitResult
from .samplers import Sampler, display_name
from .signals import Signal
from .tracking import RowTimes, check_tensorboard, tensorboard_writer
from .train import fit

__all__ = ["Comparison", "Entry", "compare", "publish"]


@dataclass
class Entry:
    """One fit of a comparison: a strategy, its own options and the label of its row.

    Attributes:
        strategy: a registered name, or a sampler built for this signal (used for one fit).
        options: fit and sampler options of this entry only (``variant``, ``scheduler``,
            ``compile``, ``first_omega_0`` ...); they override the options shared by all entries.
        label: the name in the table, the plot legend and the progress line; default the
            strategy's display name ("NINT"). Labels must differ within one comparison.
        folder: the run folder's name under the comparison's ``out``; default the strategy name.
        within: a context manager the fit runs inside, e.g. ``fast_inference(False)``; entered
            once.
    """

    strategy: str | Sampler
    options: Mapping[str, Any] = field(default_factory=dict)
    label: str = ""
    folder: str = ""
    within: AbstractContextManager[Any] = field(default_factory=nullcontext)

    def __post_init__(self) -> None:
        name = self.strategy if isinstance(self.strategy, str) else self.strategy.name
        self.label = self.label or display_name(name)
        self.folder = self.folder or name


@dataclass
class Comparison:
    """The fits of ``compare``: ``results`` maps each entry's label to its ``FitResult``, in the
    order fitted; iterating gives ``(entry, result)`` pairs in that order."""

    signal: Signal
    entries: list[Entry]
    results: dict[str, FitResult]
    out: Path | None

    def __iter__(self) -> Iterator[tuple[Entry, FitResult]]:
        return ((entry, self.results[entry.label]) for entry in self.entries)

    @property
    def device(self) -> str:
        """The device the fits ran on (the first fit's; "cpu" if none), for the machine stamp."""
        first = next(iter(self.results.values()), None)
        return "cpu" if first is None else first.config["device"]

    def write(
        self,
        header: Sequence[str],
        rows: Sequence[Sequence[object]],
        caption: str,
        *,
        figures: bool = True,
        title: str | None = None,
        thresholds: Sequence[float] = (),
    ) -> str:
        """Print the table, caption and machine stamp; with an ``out`` folder also write them to
        ``out/table.md`` and, with ``figures``, draw the signal's primary metric of every fit
        against training seconds and iterations (``<metric>_vs_time.png``,
        ``<metric>_vs_iteration.png``) with dotted lines at ``thresholds``. Returns the text."""
        if self.out is not None and figures:
            plot_comparison(
                {label: result.history for label, result in self.results.items()},
                self.out,
                metric=self.signal.primary_metric,
                title=title,
                thresholds=thresholds,
            )
        path = None if self.out is None else self.out / "table.md"
        return publish(header, rows, caption, device=self.device, path=path)


def compare(
    signal: Signal,
    entries: Sequence[Entry | str],
    out: Path | None = None,
    *,
    announce: str = "{label} ...",
    after: Callable[[Entry, FitResult], object] | None = None,
    tensorboard: bool = False,
    **fit_options: Any,
) -> Comparison:
    """Fit ``signal`` once per entry, one after the other, and save each run folder.

    Args:
        signal: the signal every entry is fitted to.
        entries: ``Entry`` objects, or strategy names for entries with no options of their own.
        out: the folder for the run folders (``out/<entry.folder>``) and later ``table.md`` and
            figures; an existing one is replaced if nint wrote it (its ``.nint-run`` marker) and
            it does not hold the current folder, else NintError (check first where even that
            must be refused, as ``nint demo`` does). A run folder that cannot be written is
            kept in a rescue folder and ``RunNotSaved`` names it
            (``nint.report.run_folder.save_or_rescue``). None: nothing is saved.
        announce: the progress line printed before each fit (``{label}`` is filled in).
        after: called with each entry and its result as soon as it is fitted (to print a
            row as progress, say).
        tensorboard: also write TensorBoard event files into each run folder
            (``nint.tracking``; needs the tensorboard package, checked before any fit).
        **fit_options: options of ``nint.fit`` shared by every entry (budget, cadence, device,
            seed, progress ...).

    Returns:
        The ``Comparison``: results by label, in the order of ``entries``.
    """
    planned = [Entry(e) if isinstance(e, str) else e for e in entries]
    if tensorboard:
        check_tensorboard()
    for attribute in ("label", "folder") if out is not None else ("label",):
        names = [getattr(entry, attribute) for entry in planned]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            # checked before any fit: a clash would overwrite a result an hour into a benchmark
            raise NintError(f"each entry needs its own {attribute}; {', '.join(twice)} repeats")
    if out is not None and out.exists():
        # only a folder nint wrote, and never the current folder (a typo such as --out .)
        remove_nint_folder(out)
    results: dict[str, FitResult] = {}
    with nullcontext() if out is None else marked_folder(out, "comparison"):
        for entry in planned:
            print(announce.format(label=entry.label), flush=True)
            options = {**fit_options, **entry.options}
            times = RowTimes() if tensorboard else None
            if times is not None:  # notes when each evaluation was recorded
                options["callback"] = chain(options.get("callback"), times)
            with entry.within:
                result = fit(signal, entry.strategy, **options)
            results[entry.label] = result
            if out is not None:
                extra = None if times is None else tensorboard_writer(result, times)
                save_or_rescue(result, out / entry.folder, extra=extra)
            if after is not None:
                after(entry, result)
    return Comparison(signal, planned, results, out)


def publish(
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    caption: str,
    *,
    device: str = "cpu",
    path: Path | None = None,
) -> str:
    """Print a Markdown table, its caption and a line naming the machine, versions and date
    (``device`` is the one the numbers came from); also write the same text to ``path``.
    Returns the text."""
    text = f"{markdown_table(header, rows)}\n\n{caption}\n{one_line(environment(device))}\n"
    print()
    print(text, end="")
    if path is not None:
        path.write_text(text)
    return text
