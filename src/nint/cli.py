"""The ``nint`` command: ``nint fit``, ``nint demo``, ``nint bench``, ``nint strategies``,
``nint models``, ``nint render``.

Every error a user can cause ends in one line on stderr (``nint: error: ...``) and exit status 2,
before any run folder is created. A run folder that cannot be written after training ends in one
such line too, naming the rescue folder that holds the run instead, with exit status 1
(``nint.report.run_folder.save_or_rescue``). SIGTERM is handled like Ctrl-C (SIGINT): whatever is
being written is removed, one line says so, and the exit status is 143 (130 for Ctrl-C).

Strategies and signals are imported inside the functions that need them, since they import torch:
``nint --version`` answers without them (tests/test_import_cost.py).
"""

from __future__ import annotations

import argparse
import signal as os_signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, NoReturn

from . import __version__
from .checks import NON_NEGATIVE, POSITIVE, Range, check_device, check_seed
from .errors import NintError
from .options import Option
from .replay import NOT_REPLAYED, check_keys, read_config, value_text


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad command line in one line instead of usage + error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"nint: error: {message} (see `{self.prog} --help`)\n")


def _number(allowed: Range) -> Callable[[str], float]:
    """An argparse type: a float that ``allowed`` admits. NaN and inf are refused here, at
    parsing, since comparisons with NaN are False and would slip past later range checks."""

    def number(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not allowed.admits(value):
            raise argparse.ArgumentTypeError(f"expected {allowed.expected}, got {text}")
        return value

    return number


def _checked(check: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse type from a check that raises NintError (its message becomes argparse's)."""

    def parse(text: str) -> Any:
        try:
            return check(text)
        except NintError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def _seed_value(text: str) -> int:
    try:
        seed = int(text)
    except ValueError:
        raise NintError(f"expected an integer seed, got {text!r}") from None
    return check_seed(seed, "the seed")


def _at_least_one(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value


_seed = _checked(_seed_value)
_device = _checked(check_device)
# parser types of the float options (each refuses NaN and inf)
_POSITIVE = _number(POSITIVE)
_NON_NEGATIVE = _number(NON_NEGATIVE)
#: the chunk options, whose None (all at once) is spelt 0 on the command line
CHUNK_DESTS = ("forward_chunk", "train_chunk", "ntk_chunk_size", "eval_chunk")


def _add_training_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("budget and evaluation")
    g.add_argument("--iterations", type=int, help="iteration budget (default 1000 if no --seconds)")
    g.add_argument("--seconds", type=_POSITIVE, help="budget in seconds of the training clock")
    g.add_argument("--eval-every", type=int, help="evaluate every N iterations (default 10)")
    g.add_argument("--eval-every-seconds", type=_POSITIVE, help="evaluate every S training seconds")
    g.add_argument(
        "--eval-at",
        type=_iterations,
        help="evaluate at these iterations, e.g. 500,1000,2000 (meshes default to "
        "500,1000,2000,5000,10000)",
    )
    from .models.registry import BACKBONES  # here: imports torch

    g = p.add_argument_group("model and optimiser (the model's own options: below)")
    g.add_argument(
        "--model",
        default="siren",
        help=f"the backbone: one of {', '.join(BACKBONES)} (siren; `nint models` lists them)",
    )
    rates = ", ".join(f"{name} {cls.default_lr:g}" for name, cls in BACKBONES.items())
    g.add_argument(
        "--lr", type=_POSITIVE, help=f"Adam learning rate (default: the backbone's: {rates})"
    )
    g.add_argument(
        "--loss",
        choices=("mse", "l1", "huber"),
        default="mse",
        help="training loss per coordinate; NINT's K r multiplies its gradient and the error "
        "parts rank by its value (mse, the paper's)",
    )
    g.add_argument(
        "--huber-delta", type=_POSITIVE, help="Huber threshold delta, with --loss huber (1.0)"
    )
    g.add_argument("--seed", type=_seed, default=0, help="seed of the model and sampler (0)")
    g.add_argument(
        "--device", type=_device, default="auto", help="cpu, cuda, cuda:N or auto (default)"
    )
    g = p.add_argument_group(
        "memory and speed (chunking never changes results; 0 = all at once; "
        "default: 8192, NTK 4096, on a CPU, all at once on a GPU)"
    )
    g.add_argument("--forward-chunk", type=_chunk, default="auto", help="residual-pass chunk")
    g.add_argument("--train-chunk", type=_chunk, default="auto", help="training-step chunk")
    g.add_argument("--ntk-chunk-size", type=_chunk, default="auto", help="NTK product chunk")
    g.add_argument("--eval-chunk", type=_chunk, default="auto", help="evaluation chunk")
    g.add_argument(
        "--residual-every",
        type=int,
        default=1,
        metavar="M",
        help="APPROXIMATE, changes the selection: run the full residual pass (int, nint, ...) "
        "every M selections and patch it from the training errors in between (1: exact)",
    )
    g.add_argument(
        "--compile",
        action="store_true",
        help="torch.compile the training step and NTK passes (compiled before the clock starts; "
        "faster, but float32 rounding differs from the plain path, so selections can differ: "
        "docs/speed.md)",
    )


def _iterations(text: str) -> tuple[int, ...]:
    try:
        steps = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected iterations separated by commas, e.g. 500,1000, got {text!r}"
        ) from None
    if not steps or min(steps) < 1:
        raise argparse.ArgumentTypeError(f"evaluation iterations must be >= 1, got {text!r}")
    return steps


def _chunk(text: str) -> int | None | str:
    if text == "auto":
        return text
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"a chunk size cannot be negative: {value}")
    return value or None


def _add_option(group: Any, option: Option, help: str) -> None:
    """The flag of one declared option: a checked number, a switch, or a typed value."""
    if option.allowed is not None:
        group.add_argument(
            option.cli_flag, dest=option.name, type=_number(option.allowed), help=help
        )
    elif option.type is bool:
        group.add_argument(
            option.cli_flag, dest=option.name, action="store_const", const=True, help=help
        )
    else:
        group.add_argument(
            option.cli_flag, dest=option.name, type=option.type, choices=option.choices, help=help
        )


def _add_sampler_options(p: argparse.ArgumentParser) -> None:
    """One flag per declared strategy option (``Sampler.options``), grouped by the strategy
    that declares it first; an option several strategies take lists them in its help."""
    from .samplers import SAMPLERS, Sampler, declared_options  # here: imports torch

    takers: dict[str, list[str]] = {}
    for name, cls in SAMPLERS.items():
        for option in declared_options(cls):
            takers.setdefault(option.name, []).append(name)
    added: set[str] = set()
    groups = [("sampling (every strategy)", Sampler.options)] + [
        (f"{cls.display_name} (--strategy {name})", vars(cls).get("options", ()))
        for name, cls in SAMPLERS.items()
    ]
    for title, options in groups:
        fresh = [o for o in options if o.name not in added]
        if not fresh:
            continue
        g = p.add_argument_group(title)
        for option in fresh:
            added.add(option.name)
            who = takers[option.name]
            help = (
                option.help
                if len(who) in (1, len(SAMPLERS))
                else f"{option.help} [{', '.join(who)}]"
            )
            _add_option(g, option, help)


def sampler_kwargs(args: argparse.Namespace, strategy: str) -> dict[str, Any]:
    """The sampler options given on the command line; one that ``strategy`` lacks is an error."""
    from .samplers import SAMPLERS, declared_options, sampler_options  # here: imports torch

    declared = (option for cls in SAMPLERS.values() for option in declared_options(cls))
    return _given_options(args, declared, set(sampler_options(strategy)), f"--strategy {strategy}")


def _given_options(
    args: argparse.Namespace,
    declared: Iterable[Option],
    accepted: set[str],
    chosen: str,
    dest: Callable[[Option], str] = lambda option: option.name,
) -> dict[str, Any]:
    """The ``declared`` options given on the command line (read from ``dest(option)``), by
    name; one that is not ``accepted`` is refused in one line naming the ``chosen`` one
    ("--strategy nint", "--model siren")."""
    given: dict[str, Any] = {}
    for option in declared:
        value = getattr(args, dest(option), None)
        if value is None or option.name in given:
            continue
        if option.name not in accepted:
            raise NintError(f"{option.cli_flag} does not apply to {chosen}")
        given[option.name] = value
    return given


def _model_dest(option: Option) -> str:
    """The command line's dest (and ``--config`` key) of a backbone option: its flag's name, so
    that ``--omega0`` keeps the key ``omega0`` it had before backbones were registered."""
    return option.cli_flag[2:].replace("-", "_")


def _add_model_options(p: argparse.ArgumentParser) -> None:
    """One flag per declared backbone option, grouped by the backbone that declares it first;
    an option several backbones take lists each one's default."""
    from .models.registry import BACKBONES, option_defaults, owners  # here: imports torch

    added: set[str] = set()
    for name, cls in BACKBONES.items():
        fresh = [o for o in cls.options if o.name not in added]
        if not fresh:
            continue
        g = p.add_argument_group(f"{cls.display_name} (--model {name})")
        for option in fresh:
            added.add(option.name)
            help = option.help
            if "default" not in help:  # else the help itself says what the default is
                defaults = {
                    b: option_defaults(BACKBONES[b])[option.name] for b in owners(option.name)
                }
                shown = ", ".join(f"{b} {d:g}" for b, d in defaults.items())
                help += f" ({shown.split(' ', 1)[1] if len(defaults) == 1 else shown})"
            _add_option(g, replace(option, name=_model_dest(option)), help)


def model_kwargs(args: argparse.Namespace, model: str) -> dict[str, Any]:
    """The backbone options given on the command line; one that ``model`` lacks is an error."""
    from .models.registry import BACKBONES, check_backbone  # here: imports torch

    check_backbone(model)
    accepted = {o.name for o in BACKBONES[model].options}
    declared = (option for cls in BACKBONES.values() for option in cls.options)
    return _given_options(args, declared, accepted, f"--model {model}", _model_dest)


def _fit_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    iterations = args.iterations
    if iterations is None and args.seconds is None:
        iterations = 1000
    return {
        "iterations": iterations,
        "seconds": args.seconds,
        "eval_every": args.eval_every,
        "eval_every_seconds": args.eval_every_seconds,
        "eval_at": args.eval_at,
        "lr": args.lr,
        "loss": args.loss,
        "huber_delta": args.huber_delta,
        "seed": args.seed,
        "device": args.device,
        "forward_chunk": args.forward_chunk,
        "train_chunk": args.train_chunk,
        "ntk_chunk_size": args.ntk_chunk_size,
        "eval_chunk": args.eval_chunk,
        "residual_every": args.residual_every,
        "compile": args.compile,
    }


def replay_record(args: argparse.Namespace) -> dict[str, Any]:
    """The run's options in ``--config``'s flat schema, for config.json's ``"replay"``: every
    option of ``nint fit`` that decides the fit (``nint.replay.NOT_REPLAYED`` left out), the
    input as an absolute path, defaults included, unset ones (None) left out."""
    from .report.run_folder import absolute

    record: dict[str, Any] = {}
    for key, value in vars(args).items():
        if key in CHUNK_DESTS and value is None:
            value = 0  # a chunk of None (all at once) has the command-line spelling 0
        if key in ("command", "func", *NOT_REPLAYED) or value is None:
            continue
        record[key] = list(value) if isinstance(value, tuple) else value
    record["input"] = str(absolute(args.input))
    return record


def cmd_fit(args: argparse.Namespace) -> int:
    from .losses import make_loss
    from .progress import ProgressLines, chain, stderr_is_terminal
    from .report.run_folder import check_out, save_or_rescue
    from .samplers import check_strategy
    from .settings import check_budget
    from .signals import MODALITIES, load_signal
    from .train import fit

    if args.input is None:
        raise NintError('give the file to fit (or "input" in the --config file)')
    check_strategy(args.strategy)
    options = sampler_kwargs(args, args.strategy)
    model_options = model_kwargs(args, args.model)
    kwargs = _fit_kwargs(args)
    check_budget(kwargs["iterations"], kwargs["seconds"])
    make_loss(kwargs["loss"], kwargs["huber_delta"])  # --huber-delta without huber: refused here
    times = None
    if args.tensorboard:
        from .tracking import RowTimes, check_tensorboard

        check_tensorboard()
        times = RowTimes()
    out = args.out or Path("runs") / f"{Path(args.input).stem}-{args.strategy}"
    check_out(out, args.overwrite, keep=[args.input])
    signal = load_signal(
        args.input,
        **{o.name: getattr(args, o.name) for m in MODALITIES.values() for o in m.options},
    )
    lines = None
    if not args.quiet and not stderr_is_terminal():
        # no terminal, so no tqdm bar: a plain line per evaluation instead
        label = f"{Path(args.input).stem} {args.strategy}"
        lines = ProgressLines(label, signal.primary_metric, kwargs["iterations"], args.seconds)
    try:
        result = fit(
            signal,
            args.strategy,
            progress=not args.quiet,
            callback=chain(lines, times),
            model=args.model,
            **kwargs,
            **model_options,
            **options,
        )
    finally:
        _leave_process_group()
    if not result.history:
        return 0  # another rank of a torchrun launch: rank 0 writes the one run folder
    # the callbacks above only watch, so the fit is the one these options describe
    result.config["replay"] = replay_record(args)
    result.config.pop("replay_refused", None)
    extra = None
    if times is not None:
        from .tracking import tensorboard_writer

        extra = tensorboard_writer(result, times)
    folder = save_or_rescue(result, out, overwrite=args.overwrite, keep=[args.input], extra=extra)
    s = result.summary
    print(
        f"{folder}: {signal.headline(s['final'])} after {s['iterations']} iterations, "
        f"{s['train_seconds']:.1f} s of training"
    )
    if s["compile_seconds"] is not None:
        print(f"  torch.compile: {s['compile_seconds']:.1f} s before the training clock started")
    for metric, reason in s["missing"].items():
        print(f"  {metric} missing: {reason}")
    for note in s["notes"]:
        print(f"  note: {note}")
    return 0


def _leave_process_group() -> None:
    """Close the process group a sharded fit joined (under torchrun), if any."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    run_demo(
        out=Path(args.out),
        seconds=args.seconds,
        size=args.size,
        image=args.image,
        overwrite=args.overwrite,
        device=args.device,
        progress=not args.quiet,
        strategies=tuple(s for s in args.strategies.split(",") if s),
        tensorboard=args.tensorboard,
    )
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from .experiments import run_bench
    from .experiments.runner import get_experiment

    get_experiment(args.experiment)
    preset = args.preset
    if preset is None:
        import torch

        preset = "paper" if torch.cuda.is_available() else "cpu"
        why = "CUDA is available" if preset == "paper" else "no CUDA device"
        print(f"nint bench: preset {preset} (no --preset given; {why})")
    run_bench(
        args.experiment,
        data=args.data,
        out=args.out or Path("runs") / f"bench-{args.experiment}-{preset}",
        preset=preset,
        executor=args.executor,
        ray_address=args.ray_address,
        limit=args.limit,
        device=args.device,
        seed=args.seed,
        progress=not args.quiet,
        tensorboard=args.tensorboard,
    )
    return 0


def cmd_strategies(args: argparse.Namespace) -> int:
    from .samplers import SAMPLERS, Sampler, declared_options  # here: imports torch

    for name, cls in SAMPLERS.items():
        doc = (cls.__doc__ or "").strip().splitlines()[0]
        needs = ", ".join(cls.uses) or "nothing but the batch"
        image = "; images only" if cls.needs_image else ""
        print(f"{name:10s} {cls.display_name}: {doc}")
        print(f"{'':10s} uses: {needs}{image}")
        flags = [o.cli_flag for o in declared_options(cls) if o not in Sampler.options]
        print(f"{'':10s} options: {', '.join(flags) or 'only the common ones'}")
    common = ", ".join(o.cli_flag for o in Sampler.options)
    print(f"every strategy takes {common}")
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from .models.registry import BACKBONES, option_defaults  # here: imports torch

    for name, cls in BACKBONES.items():
        doc = (cls.__doc__ or "").strip().splitlines()[0].replace("``", "")
        doc = doc.removeprefix(f"{cls.display_name}: ")
        defaults = option_defaults(cls)
        # None, and first_omega_0 (filled in from the signal), have no fixed default to show
        flags = ", ".join(
            o.cli_flag
            if defaults[o.name] is None or o.name == "first_omega_0"
            else f"{o.cli_flag} {defaults[o.name]:g}"
            for o in cls.options
        )
        print(f"{name:10s} {cls.display_name}: {doc}")
        print(f"{'':10s} default lr {cls.default_lr:g}; options: {flags or 'none'}")
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    from .render import render_run  # here: imports torch

    out = render_run(args.run, args.out, size=args.size, rate=args.rate, resolution=args.resolution)
    print(out)
    return 0


def build_parser() -> argparse.ArgumentParser:
    from .experiments import EXPERIMENTS
    from .samplers import SAMPLERS  # here: imports torch
    from .signals import MODALITIES

    parser = _Parser(
        prog="nint",
        description="NINT (NTK-guided coordinate selection) and its baselines for training "
        "implicit neural representations, with honest timing.",
    )
    parser.add_argument("--version", action="version", version=f"nint {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("fit", help="fit one signal with one strategy and write a run folder")
    p.add_argument(
        "input",
        nargs="?",
        help="an image (any format Pillow reads), audio (.wav .flac .ogg) or a triangle mesh "
        "(.ply .obj .off .stl)",
    )
    p.add_argument(
        "--config",
        metavar="FILE",
        help="read options from a JSON or YAML file (keys: the option names below with "
        "underscores, e.g. eval_every, and input), or replay a run folder's config.json; "
        "flags given here override the file",
    )
    p.add_argument("--strategy", default="nint", help=f"one of {', '.join(SAMPLERS)} (nint)")
    p.add_argument("--out", help="run folder (default runs/<name>-<strategy>)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing run folder")
    for modality in MODALITIES.values():
        g = p.add_argument_group(f"{modality.label} files")
        for option in modality.options:
            _add_option(g, option, option.help)
    p.add_argument(
        "--quiet",
        action="store_true",
        help="no progress: neither the bar (on a terminal) nor a line per evaluation on stderr "
        "(without one)",
    )
    p.add_argument(
        "--tensorboard",
        action="store_true",
        help="also write every evaluation's metrics and the reconstruction as TensorBoard "
        "event files in <out>/tensorboard (needs pip install 'nint[tracking]')",
    )
    _add_sampler_options(p)
    _add_training_options(p)
    _add_model_options(p)
    p.set_defaults(func=cmd_fit)

    p = sub.add_parser("demo", help="every strategy on a bundled photo, side by side")
    p.add_argument("--out", default="runs/demo", help="output folder (runs/demo)")
    p.add_argument(
        "--seconds", type=_POSITIVE, default=20.0, help="training seconds per strategy (20)"
    )
    p.add_argument(
        "--strategies",
        default=",".join(SAMPLERS),
        help="comma-separated strategies (default: all of them)",
    )
    p.add_argument("--size", type=int, default=128, help="image side in pixels (128)")
    p.add_argument("--image", default="astronaut", help="scikit-image sample (astronaut)")
    p.add_argument(
        "--device", type=_device, default="auto", help="cpu, cuda, cuda:N or auto (default)"
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    p.add_argument("--quiet", action="store_true", help="no progress bars or lines")
    p.add_argument(
        "--tensorboard",
        action="store_true",
        help="TensorBoard event files in each run folder (as nint fit --tensorboard)",
    )
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser(
        "bench",
        help="run one of the paper's experiments (resumable) and write its table and figure",
    )
    p.add_argument("experiment", help=f"one of {', '.join(EXPERIMENTS)}")
    p.add_argument(
        "--data",
        required=True,
        help="the data set: a LibriSpeech split folder (audio) or a folder of images",
    )
    p.add_argument("--out", help="output folder (default runs/bench-<experiment>-<preset>)")
    p.add_argument(
        "--preset",
        choices=("paper", "cpu"),
        help="the paper's settings, or scaled for a 2-core CPU (default: paper with CUDA, "
        "else cpu)",
    )
    p.add_argument(
        "--limit", type=_at_least_one, help="fit only the first N signals of the data set"
    )
    p.add_argument(
        "--executor", choices=("local", "ray"), default="local", help="local (default) or ray"
    )
    p.add_argument("--ray-address", help="an existing Ray cluster (default: start a local one)")
    p.add_argument(
        "--device", type=_device, default="auto", help="cpu, cuda, cuda:N or auto (default)"
    )
    p.add_argument("--seed", type=_seed, default=0, help="seed of every run (0)")
    p.add_argument("--quiet", action="store_true", help="no progress bars or lines")
    p.add_argument(
        "--tensorboard",
        action="store_true",
        help="TensorBoard event files in each run folder (as nint fit --tensorboard)",
    )
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("strategies", help="list the registered strategies and their options")
    p.set_defaults(func=cmd_strategies)

    p = sub.add_parser("models", help="list the registered backbones (--model) and their options")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser(
        "render", help="render a run folder's fitted model anew, at another resolution"
    )
    p.add_argument("run", help="a run folder (written by nint fit; it holds weights.safetensors)")
    p.add_argument("--out", required=True, help="the new file: .png, .wav or .ply/.obj/.stl")
    p.add_argument("--size", help="images: WxH, or N for the longer side (the fit's size)")
    p.add_argument("--rate", type=_at_least_one, help="audio: sample rate in Hz (the fit's)")
    p.add_argument(
        "--resolution",
        type=_at_least_one,
        help="shapes: N of the N^3 marching-cubes grid (the fit's)",
    )
    p.set_defaults(func=cmd_render)
    return parser


def _fit_parser(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices["fit"]
    raise AssertionError("the parser has no fit command")


def with_config(
    parser: argparse.ArgumentParser, argv: list[str], args: argparse.Namespace
) -> argparse.Namespace:
    """``nint fit --config FILE``: the file's options (``nint.replay``) put on the command line
    before the flags given there, and parsed again, so they get the flags' checks and the flags
    win (argparse keeps the last value of an option)."""
    data = read_config(args.config)
    fit_parser = _fit_parser(parser)
    actions = {a.dest: a for a in fit_parser._actions if a.dest not in ("help", "config")}
    check_keys(data, actions, args.config)
    tokens: list[str] = []
    for key, value in data.items():
        action = actions[key]
        if value is None or (key == "input" and args.input is not None):
            continue  # null: not given; an input on the command line replaces the file's
        if key == "input":
            tokens.append(value_text(key, value))
        elif action.nargs == 0:  # a switch: store_true, or a strategy's store_const flag
            if not isinstance(value, bool):
                raise NintError(f"config option {key!r} is a switch: true or false, got {value!r}")
            tokens += [action.option_strings[0]] if value else []
        else:
            tokens += [action.option_strings[0], value_text(key, value)]
    command = argv.index("fit")
    return parser.parse_args([*argv[: command + 1], *tokens, *argv[command + 1 :]])


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the process is, so that it unwinds as after Ctrl-C: a run folder
    being written is removed instead of left half-written."""


def _raise_terminated(signum: int, frame: object) -> NoReturn:
    raise Terminated


@contextmanager
def _sigterm_like_ctrl_c() -> Iterator[None]:
    """SIGTERM raises ``Terminated`` within the block (only the main thread may set handlers)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = os_signal.signal(os_signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        os_signal.signal(os_signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--version"]:
        # answered before the parser is built: the parser lists every strategy and signal type,
        # which imports torch (seconds), and the version needs none of that
        print(f"nint {__version__}")
        return 0
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if getattr(args, "config", None) is not None:
            args = with_config(parser, argv, args)
        with _sigterm_like_ctrl_c():
            return args.func(args)
    except NintError as exc:
        print(f"nint: error: {exc}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt as exc:
        how = "terminated" if isinstance(exc, Terminated) else "interrupted"
        print(f"nint: {how}; no run folder was written", file=sys.stderr)
        return 143 if isinstance(exc, Terminated) else 130
