"""``nint bench``: the paper's experiments as data, run locally or on Ray, reported as its tables.

from nint.experiments import run_bench
run_bench("audio", data="test-clean", out="runs/bench-audio", preset="cpu")
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from ..errors import NintError
from ..report import environment, one_line
from ..report.run_folder import MARKER, check_creatable, check_out, marked_folder, written_by_nint
from .catalogue import EXPERIMENTS
from .figures import draw
from .report import collect, markdown, write_csv
from .runner import RunSpec, data_files, get_experiment, get_preset, plan, run_local, run_ray
from .spec import Experiment, Metric, Preset, Threshold, Variant


def caption(
    experiment: Experiment, preset_name: str, signals: list[str], available: int, env: dict
) -> str:
    """The table's caption: what ran and where. ``signals`` are the names of the signals that
    were fitted (after ``--limit`` or the preset's limit), ``available`` how many the data set
    holds; the count comes from the runs, never from the preset's text."""
    preset = get_preset(experiment, preset_name)
    lines = [
        f"{experiment.title} (the paper's {experiment.paper_ref}); preset `{preset_name}`; "
        f"mean ± std over {len(signals)} signal(s); best mean in bold; "
        + (
            "underlined: `step` batch-ratio scheduler; "
            if any(v.underline for v in experiment.variants)
            else ""
        )
        + "— = missing in a run (not reached, or not computable)."
    ]
    if preset.factors:
        lines.append("Scaled from the paper: " + "; ".join(preset.factors) + ".")
    order = "corpus order" if experiment.data == "librispeech" else "sorted by name"
    which = (
        f"all {available}"
        if len(signals) == available
        else f"the first {len(signals)} of {available}"
    )
    shown = ", ".join(signals[:8]) + (f" and {len(signals) - 8} more" if len(signals) > 8 else "")
    lines.append(f"Signals: {which} in the data set ({order}): {shown}.")
    lines.append(one_line(env))
    return "\n".join(lines)


def runs_environment(specs: list[RunSpec], device: str) -> dict:
    """The machine the runs ran on (the first run's environment.json; this process's if the
    table is made where they ran and that file is absent)."""
    path = Path(specs[0].folder) / "environment.json"
    if path.is_file():
        return json.loads(path.read_text())
    from ..settings import resolve_device

    return environment(str(resolve_device(device)))


def check_sweep_out(out: Path) -> None:
    """NintError unless ``out`` can be created, is empty, or is a sweep folder nint wrote (its
    ``.nint-run`` marker): a sweep writes its table, figure and run folders into ``out``, so it
    must not write them over someone else's files."""
    out = check_creatable(out)
    if out.exists() and any(out.iterdir()) and not written_by_nint(out):
        raise NintError(
            f"output folder {out} already exists and was not written by nint (it has no {MARKER} "
            f"file); choose another --out (to resume a sweep of an older nint, create an empty "
            f"{MARKER} file in it)"
        )


def run_bench(
    name: str | Experiment,
    data: str | Path,
    out: str | Path,
    preset: str = "cpu",
    executor: str = "local",
    ray_address: str | None = None,
    limit: int | None = None,
    device: str = "auto",
    seed: int = 0,
    progress: bool = True,
    log: Callable[[str], None] = print,
    tensorboard: bool = False,
) -> dict[str, Path]:
    """Run (or resume) an experiment and write its table, CSV and figure into ``out``.

    ``out`` must be new, empty or a sweep folder nint wrote (``check_sweep_out``); it gets the
    ``.nint-run`` marker, and the folders of unfinished runs in it are replaced only if nint
    wrote them (``nint.report.run_folder``), both checked before any fit. ``tensorboard``: the
    runs fitted now also get TensorBoard event files (``nint.tracking``).

    Returns:
        {"table": table.md, "csv": table.csv, "figure": figure.png}.
    """
    experiment = name if isinstance(name, Experiment) else get_experiment(name)
    settings = get_preset(experiment, preset)
    if executor not in ("local", "ray"):
        raise NintError(f"unknown executor {executor!r}; choose local or ray")
    out = Path(out)
    check_sweep_out(out)
    if tensorboard:
        from ..tracking import check_tensorboard

        check_tensorboard()
    specs = plan(
        experiment, preset, Path(data), out, limit=limit, device=device, seed=seed,
        tensorboard=tensorboard,
    )  # fmt: skip
    for spec in specs:
        if not spec.done and Path(spec.folder).exists():
            check_out(spec.folder, overwrite=True)  # it would be replaced: refuse before any fit
    # a sweep whose first fit fails (a data file of the wrong kind) leaves no folder behind
    with marked_folder(out, "bench"):
        if executor == "ray":
            run_ray(specs, address=ray_address, log=log)
        else:
            run_local(specs, progress=progress, log=log)
    cells = collect(experiment, settings, specs)
    table = markdown(experiment, settings, cells)
    signals = list(dict.fromkeys(Path(s.signal).stem for s in specs))  # plan's order, once each
    available = len(data_files(experiment, Path(data), None))
    env = runs_environment(specs, device)
    text = table + "\n\n" + caption(experiment, preset, signals, available, env) + "\n"
    out.mkdir(parents=True, exist_ok=True)
    paths = {"table": out / "table.md", "csv": out / "table.csv", "figure": out / "figure.png"}
    paths["table"].write_text(text)
    write_csv(experiment, settings, cells, paths["csv"])
    draw(specs, paths["figure"])
    log("")
    log(text)
    log(f"table.md, table.csv, figure.png and the run folders are in {out}/")
    return paths


__all__ = [
    "EXPERIMENTS",
    "Experiment",
    "Metric",
    "Preset",
    "RunSpec",
    "Threshold",
    "Variant",
    "plan",
    "run_bench",
]
