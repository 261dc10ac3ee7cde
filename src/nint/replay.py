"""``nint fit --config FILE``: a fit's command line as a file, and a run folder replayed.

One flat schema: the keys are the ``dest`` names of ``nint fit``'s options (``--help`` shows
their flags: ``--eval-every`` is ``eval_every``, ``--omega0`` is ``omega0``) and ``input`` for
the file to fit, e.g. ``{"input": "pic.png", "strategy": "nint", "iterations": 100,
"ratio": 0.2}``, in JSON or YAML (``.yaml``/``.yml``; PyYAML). Each value goes through the same
parsing and checks as the flag would (``config_tokens`` turns it into command-line text), so a
file means exactly what its flags mean; flags given on the command line override the file. A
switch is ``true``/``false``; a list (``eval_at``) is a list or "500,1000"; a chunk of 0 means
all at once; ``null`` is the same as leaving the key out. Paths are read as on the command line:
relative to the current folder.

Every run folder's config.json carries a ``"replay"`` entry: the flat schema of the run (the
input's absolute path, its load options and every option of the fit, not ``out``,
``overwrite``, ``quiet`` or ``tensorboard``), so ``nint fit --config RUN/config.json`` fits the
same input the same way: the same selections for the same seed, and on the same machine the same
weights bit for bit (for an iteration budget; a seconds budget ends where the clock says). A fit
given what a file cannot hold (from Python: a model, a callback, an optimizer factory, a Sampler
instance, ``stop_at``; or a signal object rather than a file) records ``"replay": null`` and the
reason in ``"replay_refused"``, and ``--config`` refuses it in one line.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .errors import NintError

#: options of ``nint fit`` about where and how a run is written, not what it fits: a replay
#: record leaves them out (a replay must not overwrite the run it replays)
NOT_REPLAYED = ("out", "overwrite", "quiet", "tensorboard", "config")


def read_config(path: str | Path) -> dict[str, Any]:
    """The flat settings of a config file (JSON, or YAML by its suffix), or of a run folder's
    config.json (its ``"replay"`` entry). NintError, in one line, for a file that cannot be
    read, is not a mapping, or is a run that cannot be replayed."""
    path = Path(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise NintError(f"cannot read the config file {path} ({reason})") from None
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise NintError(
                f"{path.name} is YAML, which needs PyYAML (pip install pyyaml); or write it as JSON"
            ) from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else "invalid YAML"
            raise NintError(f"cannot parse the config file {path}: {first}") from None
    else:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise NintError(f"cannot parse the config file {path} as JSON: {exc}") from None
    if not isinstance(data, dict):
        raise NintError(
            f"the config file {path} must hold one mapping of option names to values, "
            f"got {type(data).__name__}"
        )
    if "replay" in data:  # a run folder's config.json
        replay = data["replay"]
        if replay is None:
            why = data.get("replay_refused") or "its run recorded nothing to replay"
            raise NintError(f"{path} cannot be replayed: {why}")
        if not isinstance(replay, dict):
            raise NintError(f'{path}: its "replay" entry is not a mapping of options')
        return dict(replay)
    return data


def check_keys(data: Mapping[str, Any], known: Iterable[str], path: str | Path) -> None:
    """NintError naming the first key of ``data`` that is not an option (with the closest
    known name, if one is close)."""
    known = list(known)
    for key in data:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise NintError(f"{path}: unknown option {key!r}{hint}")


def value_text(key: str, value: Any) -> str:
    """A config value as the command-line text of its flag: lists joined by commas, numbers
    as Python writes them (which reads back to the same float)."""
    if isinstance(value, (list, tuple)):
        return ",".join(value_text(key, v) for v in value)
    if isinstance(value, (dict, bool)) or value is None:
        raise NintError(f"config option {key!r} takes a value, got {json.dumps(value)}")
    return str(value)


def python_only(
    *,
    model: bool,
    sampler_instance: bool,
    callback: bool,
    optimizer: bool,
    stop_at: bool,
) -> str:
    """Why a fit from Python cannot be replayed by ``nint fit --config``: what it was given that
    a file cannot hold; or, given none of that, that its signal was an object, not a file."""
    held = [
        what
        for what, used in (
            ("a model of the caller's own", model),
            ("a Sampler instance", sampler_instance),
            ("a callback", callback),
            ("an optimizer factory", optimizer),
            ("stop_at (no nint fit option)", stop_at),
        )
        if used
    ]
    if held:
        return f"fitted from Python with {', '.join(held)}, which a config file cannot hold"
    return "fitted from Python on a signal object; only runs of nint fit record the input file"
