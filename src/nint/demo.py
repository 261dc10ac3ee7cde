"""``nint demo``: every strategy of the paper on a photograph bundled with scikit-image.

No input needed: the photo ships inside the scikit-image wheel. Every strategy (Stand., Unif.,
INT, EVOS, SoftM., Expan., EGRA and NINT, or the ones asked for) gets the same budget of
training-clock seconds; the table and the PSNR-vs-time plot land in the output folder. A strategy
that offers the opt-in fast selection (INT, NINT; ``nint.fast_selection``) gets a second row with
it, "NINT (fast)", right after its exact row.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from skimage import data as skdata

from .compare import Entry, compare
from .errors import NintError
from .progress import finished_line, write_line
from .report.run_folder import check_out
from .result import FitResult
from .samplers import SAMPLERS, check_strategy, display_name
from .samplers.registry import declared_options
from .signals.image import ImageSignal, resize_to
from .tracking import check_tensorboard

# Samples that ship inside the scikit-image wheel (the others are downloaded on first use).
BUNDLED = ("astronaut", "camera", "coffee", "chelsea", "rocket")


def bundled_image(name: str, size: int) -> ImageSignal:
    """A bundled scikit-image photo resized so that its longer side is ``size``."""
    if name not in BUNDLED:
        raise NintError(f"unknown demo image {name!r}; choose from {', '.join(BUNDLED)}")
    if size < 16:
        raise NintError(f"--size must be at least 16 pixels, got {size}")
    array = np.asarray(getattr(skdata, name)(), dtype=np.float32) / 255.0
    return ImageSignal(resize_to(array, size), name=name)


HEADER = (
    "Strategy",
    "PSNR",
    "SSIM",
    "iterations",
    "train s",
    "s to 25 dB",
    "s to 30 dB",
    "iters to 30 dB",
)


def result_row(label: str, result: FitResult) -> list[object]:
    """One row of the demo's table (``HEADER``); a threshold not reached shows as a dash."""
    s = result.summary
    reach = s["reached"]
    return [
        label,
        s["final"]["psnr"],
        f"{s['final']['ssim']:.4f}",
        s["iterations"],
        s["train_seconds"],
        reach["psnr>=25"] and reach["psnr>=25"]["seconds"],
        reach["psnr>=30"] and reach["psnr>=30"]["seconds"],
        reach["psnr>=30"] and reach["psnr>=30"]["iteration"],
    ]


def demo_entries(strategies: tuple[str, ...]) -> list[Entry]:
    """One entry per strategy, plus "<name> (fast)" after each strategy offering the fast mode."""
    entries = []
    for name in strategies:
        entries.append(Entry(name))
        if any(option.name == "selection" for option in declared_options(SAMPLERS[name])):
            label = f"{display_name(name)} (fast)"
            entries.append(Entry(name, {"selection": "fast"}, label=label, folder=f"{name}-fast"))
    return entries


def run_demo(
    out: Path,
    seconds: float = 20.0,
    size: int = 128,
    image: str = "astronaut",
    overwrite: bool = False,
    device: str = "auto",
    progress: bool = True,
    strategies: tuple[str, ...] | None = None,
    tensorboard: bool = False,
) -> dict[str, FitResult]:
    """Fit the bundled photo with each strategy (default: every registered one) and the fast
    variants (``demo_entries``); write runs, table and plots to ``out`` (and, with
    ``tensorboard``, event files in each run folder: ``nint.tracking``). Returns the results by
    run folder name ("nint", "nint-fast", ...), in the order fitted."""
    if strategies is None:
        strategies = tuple(SAMPLERS)
    if not seconds > 0:
        raise NintError(f"the time budget must be positive seconds, got {seconds}")
    if not strategies:
        raise NintError("give at least one strategy")
    for name in strategies:
        check_strategy(name)
    check_out(out, overwrite)
    if tensorboard:
        check_tensorboard()
    signal = bundled_image(image, size)
    print(f"nint demo: {image} at {signal.width}x{signal.height}, {seconds:g} s of training each")
    entries = demo_entries(strategies)

    def finished(entry: Entry, result: FitResult) -> None:
        # one line per finished fit on stderr: the only progress left where tqdm draws no bar
        write_line(finished_line(f"demo {entry.label}", result.summary, signal.primary_metric))

    comparison = compare(
        signal,
        entries,
        out,
        announce="  fitting with {label} ...",
        after=finished if progress else None,
        tensorboard=tensorboard,
        seconds=seconds,
        eval_every=5,
        device=device,
        progress=progress,
    )
    caption = (
        f"{image} {signal.width}x{signal.height}, {seconds:g} s training-clock budget per "
        f"strategy, SIREN 5x256, Adam 1e-4, B = 20 %. INT and NINT pay for a no-grad pass over "
        f"all pixels at every iteration (EVOS every 50-100; `residual` in each summary.json); "
        f"on a CPU that pass costs more than a 20 % training step, which is why the iteration "
        "counts tell a different story from the seconds. (fast) = the opt-in approximate "
        "selection='fast' (re-measured candidates, reduced precision where native; not the "
        "paper's exact method; docs/deviations.md)."
    )
    comparison.write(
        HEADER,
        [result_row(entry.label, result) for entry, result in comparison],
        caption,
        title=f"{image} {signal.width}x{signal.height}",
        thresholds=(25.0, 30.0),
    )
    print(f"runs, table.md, psnr_vs_time.png and psnr_vs_iteration.png are in {out}/")
    return {entry.folder: result for entry, result in comparison}
