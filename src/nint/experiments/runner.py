"""From an experiment to independent fits, run here or on Ray, resumable.

Every fit of a sweep is a ``RunSpec``: plain data (the experiment's definition, names and paths)
that any process can turn back into a signal, a strategy and a budget, so a Ray worker needs
nothing but the spec. A run
whose folder holds ``summary.json`` is finished (folders are written atomically, so a crashed
run leaves no such file) and is not run again.
"""

from __future__ import annotations

import math
import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import NintError
from ..progress import finished_line, write_line
from ..report.run_folder import save_or_rescue
from ..signals.base import existing_file
from ..signals.mesh import MESH_SUFFIXES
from ..tracking import RowTimes, tensorboard_writer
from .catalogue import EXPERIMENTS
from .spec import Experiment, Preset, Variant

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


@dataclass(frozen=True)
class RunSpec:
    """One fit of a sweep: which experiment, preset, signal file and row, and where it goes.

    It carries the experiment itself (plain frozen data), so a worker on another machine needs
    only the spec and the data file, not this process's registry.
    """

    experiment: Experiment
    preset: str
    signal: str  # path of the data file
    variant: str  # Variant.key
    folder: str
    device: str = "auto"
    seed: int = 0
    tensorboard: bool = False  # also write TensorBoard event files (nint.tracking)

    @property
    def done(self) -> bool:
        return (Path(self.folder) / "summary.json").is_file()


def get_experiment(name: str) -> Experiment:
    if name not in EXPERIMENTS:
        raise NintError(f"unknown experiment {name!r}; choose from {', '.join(EXPERIMENTS)}")
    return EXPERIMENTS[name]


def get_preset(experiment: Experiment, name: str) -> Preset:
    if name not in experiment.presets:
        raise NintError(f"unknown preset {name!r}; choose from {', '.join(experiment.presets)}")
    return experiment.presets[name]


def variant_of(experiment: Experiment, key: str) -> Variant:
    for variant in experiment.variants:
        if variant.key == key:
            return variant
    raise NintError(f"experiment {experiment.name} has no row {key!r}")


def data_files(experiment: Experiment, data: Path, limit: int | None) -> list[Path]:
    """The data set's files in a fixed order: LibriSpeech corpus order, image names sorted."""
    from ..signals import list_utterances

    if not data.exists():
        raise NintError(f"no such data folder: {data}")
    if experiment.data == "librispeech":
        if not data.is_dir():
            raise NintError(
                f"nint bench {experiment.name} expects a LibriSpeech split folder "
                f"(speaker/chapter/speaker-chapter-utt.flac), got the file {data}"
            )
        files = [u.path for u in list_utterances(data, limit=limit)]
    elif experiment.data in ("images", "meshes"):
        suffixes = IMAGE_SUFFIXES if experiment.data == "images" else tuple(sorted(MESH_SUFFIXES))
        if data.is_dir():
            files = sorted(p for p in data.iterdir() if p.suffix.lower() in suffixes)
        else:
            # one file: a regular one (a named pipe would make its loader wait forever)
            existing_file(data, "an image" if experiment.data == "images" else "a mesh")
            if data.suffix.lower() not in suffixes:
                raise NintError(
                    f"nint bench {experiment.name} expects {experiment.data} "
                    f"({', '.join(suffixes)}), got {data.name}"
                )
            files = [data]
        files = files[:limit] if limit is not None else files
    else:
        raise NintError(f"experiment {experiment.name}: unknown data kind {experiment.data!r}")
    if not files:
        if experiment.data == "meshes":
            raise NintError(f"no mesh files ({', '.join(sorted(MESH_SUFFIXES))}) in {data}")
        raise NintError(f"no image files ({', '.join(IMAGE_SUFFIXES)}) in {data}")
    return files


def plan(
    experiment: Experiment,
    preset_name: str,
    data: Path,
    out: Path,
    limit: int | None = None,
    device: str = "auto",
    seed: int = 0,
    tensorboard: bool = False,
) -> list[RunSpec]:
    """Every (signal, row) fit of the experiment, as specs under ``out/<signal>/<row>``."""
    preset = get_preset(experiment, preset_name)
    files = data_files(experiment, data, limit if limit is not None else preset.limit)
    stems = [f.stem for f in files]
    if len(set(stems)) != len(stems):
        raise NintError(f"two data files share a name in {data}; rename one")
    return [
        RunSpec(
            experiment,
            preset_name,
            str(f),
            v.key,
            str(out / f.stem / v.key),
            device,
            seed,
            tensorboard,
        )  # fmt: skip
        for f in files
        for v in experiment.variants
    ]


def budget(experiment: Experiment, preset: Preset) -> dict[str, Any]:
    """``fit`` budget and evaluation cadence for one run of the experiment."""
    if experiment.layout == "thresholds":
        return {"iterations": preset.cap, "eval_every": preset.eval_every or 10}
    last = preset.checkpoints[-1]
    if experiment.unit == "iterations":
        cadence = preset.eval_every or math.gcd(*(int(c) for c in preset.checkpoints))
        return {"iterations": int(last), "eval_every": cadence}
    # seconds: evaluate at every common divisor of the checkpoints, so that each checkpoint is
    # the first evaluation past it (at most one iteration late)
    seconds = math.gcd(*(int(round(c * 1000)) for c in preset.checkpoints)) / 1000
    return {"seconds": float(last), "eval_every_seconds": seconds}


def load_run_signal(experiment: Experiment, preset: Preset, path: str):
    """The signal of one run: the data file through the experiment's loader (default
    ``load_signal``, by the file's modality) with the preset's options."""
    from ..signals import load_signal

    return (experiment.loader or load_signal)(path, **dict(preset.load))


def execute(spec: RunSpec, progress: bool = False) -> str:
    """Run one fit and write its folder (atomically); returns the folder."""
    from ..train import fit

    experiment = spec.experiment
    preset = get_preset(experiment, spec.preset)
    variant = variant_of(experiment, spec.variant)
    signal = load_run_signal(experiment, preset, spec.signal)
    times = RowTimes() if spec.tensorboard else None
    result = fit(
        signal,
        variant.strategy,
        device=spec.device,
        seed=spec.seed,
        progress=progress,
        callback=times,
        **budget(experiment, preset),
        **dict(experiment.fit),
        **variant.settings,
    )
    # replaces only a folder nint wrote; a failed write keeps the run in a rescue folder
    extra = None if times is None else tensorboard_writer(result, times)
    save_or_rescue(result, spec.folder, overwrite=True, extra=extra)
    if progress:
        # one line per finished run on stderr: the only progress left where tqdm draws no bar
        label = f"bench {Path(spec.signal).stem} / {spec.variant}"
        write_line(finished_line(label, result.summary, signal.primary_metric))
    return spec.folder


def run_local(
    specs: Sequence[RunSpec], progress: bool = True, log: Callable[[str], None] = print
) -> int:
    """Run the unfinished specs one after the other in this process; returns how many ran."""
    todo = [s for s in specs if not s.done]
    log(f"{len(specs) - len(todo)} of {len(specs)} runs already finished; {len(todo)} to run")
    for n, spec in enumerate(todo, 1):
        log(f"[{n}/{len(todo)}] {Path(spec.signal).stem} / {spec.variant}")
        execute(spec, progress=progress)
    return len(todo)


def run_ray(
    specs: Sequence[RunSpec],
    address: str | None = None,
    num_cpus: int | None = None,
    log: Callable[[str], None] = print,
) -> int:
    """Run the unfinished specs as Ray tasks (one CPU each, or one GPU when the spec asks for
    CUDA); a local Ray when ``address`` is None. Returns how many ran.

    ``address`` is "host:port", "ray://host:port", "auto" or "local". A malformed one, or a
    host:port where nothing accepts a TCP connection within ``RAY_CONNECT_SECONDS``, is a
    NintError naming it before Ray is asked (Ray alone would retry for most of a minute,
    printing a page of log); one Ray refuses is a NintError with the first sentence of Ray's.
    """
    endpoint = ray_endpoint(address) if address else None
    try:
        import ray
    except ImportError:
        raise NintError(
            "--executor ray needs Ray: pip install 'nint[distributed]' (or pip install ray)"
        ) from None
    todo = [s for s in specs if not s.done]
    log(f"{len(specs) - len(todo)} of {len(specs)} runs already finished; {len(todo)} to run")
    if not todo:
        return 0
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # no token file for a local cluster
    started = not ray.is_initialized()
    if started:
        if address:
            if endpoint is not None:
                check_reachable(address, *endpoint)
            try:
                ray.init(address=address, log_to_driver=False)
            except (ConnectionError, ValueError, RuntimeError) as exc:
                # e.g. "auto" with no cluster running, or ray:// without ray[client]
                raise NintError(
                    f"cannot join the Ray cluster at {address}: {_first_sentence(exc)}"
                ) from None
        else:
            ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)
    try:
        # the worker pins torch to one thread: the CPU Ray reserved for the task
        remote = ray.remote(_ray_task).options(num_cpus=1)
        cuda = [s.device.startswith("cuda") for s in todo]
        refs = [
            (remote.options(num_gpus=1) if gpu else remote).remote(spec)
            for spec, gpu in zip(todo, cuda, strict=True)
        ]
        for n, folder in enumerate(ray.get(refs), 1):
            log(f"[{n}/{len(todo)}] {folder}")
    finally:
        if started:
            ray.shutdown()
    return len(todo)


#: how long the address of an existing Ray cluster gets to accept a TCP connection
RAY_CONNECT_SECONDS = 5.0


def ray_endpoint(address: str) -> tuple[str, int] | None:
    """(host, port) of a Ray address "host:port" or "ray://host:port" ("[::1]:6379" for IPv6);
    None for "auto" and "local", which Ray resolves itself. NintError for anything else."""
    if address in ("auto", "local"):
        return None
    host, _, port = address.removeprefix("ray://").rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not host or not (port.isascii() and port.isdigit()) or not 0 < int(port) < 65536:
        raise NintError(
            f"Ray address {address!r} is not host:port (e.g. 127.0.0.1:6379), ray://host:port, "
            "auto or local"
        )
    return host, int(port)


def check_reachable(address: str, host: str, port: int) -> None:
    """NintError unless ``host:port`` accepts a TCP connection within RAY_CONNECT_SECONDS."""
    try:
        with socket.create_connection((host, port), timeout=RAY_CONNECT_SECONDS):
            pass
    except OSError as exc:  # refused, timed out, unknown host, no route
        reason = exc.strerror or str(exc) or type(exc).__name__
        raise NintError(
            f"no Ray cluster answers at {address} ({reason}; waited up to "
            f"{RAY_CONNECT_SECONDS:g} s): start one with `ray start --head` or fix --ray-address"
        ) from None


def _first_sentence(exc: Exception) -> str:
    """The first sentence of an exception's message, for a one-line error."""
    text = str(exc).strip()
    return text.splitlines()[0].split(". ")[0] if text else type(exc).__name__


def _ray_task(spec: RunSpec) -> str:
    import torch

    torch.set_num_threads(1)
    return execute(spec, progress=False)
