"""A fitted model's weights in its run folder, and a run folder loaded back into a model.

Every run folder holds ``weights.safetensors``: the model's ``state_dict`` as safetensors, a
format that holds tensors and nothing else, so loading one never runs code (a pickle, such as
``torch.save``'s, can). ``config.json``'s ``"model"`` entry says how to rebuild the model: for
a registered backbone its declared config (``nint.models.model_config``: registry name, sizes
and options). A model of the user's own is recorded by class name only, with the reason it
cannot be rebuilt; its weights are saved all the same and load into a model the user builds.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .errors import NintError

#: the weights' file name inside a run folder
WEIGHTS = "weights.safetensors"


def save_weights(model: nn.Module, path: Path) -> None:
    """Write ``model``'s state_dict to ``path`` as safetensors (CPU copies; tensors that share
    storage are written once each, so a tied weight becomes two equal entries).

    Raises OSError when the file cannot be written (safetensors reports that in its own
    exception type, whose message is kept)."""
    from safetensors import SafetensorError
    from safetensors.torch import save_file

    # clone: safetensors refuses tensors that share memory, and a CPU tensor's detach() still
    # shares the model's storage
    tensors = {name: t.detach().cpu().clone() for name, t in model.state_dict().items()}
    try:
        save_file(tensors, str(path), metadata={"written_by": "nint"})
    except SafetensorError as exc:
        raise OSError(f"{path.name}: {exc}") from None


def load_weights(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a safetensors file, on the CPU."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except (SafetensorError, OSError) as exc:
        raise NintError(f"cannot read the weights {path} ({exc})") from None


def build_model(config: dict[str, Any]) -> nn.Module:
    """The untrained model a run's ``config["model"]`` describes (a registered backbone, built
    with the run's seed); NintError, in one line, for a model nint cannot rebuild (a user's
    own class, or a backbone that is not registered in this process)."""
    from .models.registry import BACKBONES
    from .models.registry import build_model as build_backbone

    described = dict(config.get("model") or {})
    kind = described.pop("class", None)
    # run folders written before the registry recorded nint's SIREN by its class alone
    name = described.pop("name", "siren" if kind == "Siren" else None)
    if name is None:
        raise NintError(
            f"the run was fitted with a model of the user's own ({kind}), which config.json "
            f"records by class name only: build it, then load {WEIGHTS} into it with "
            f"safetensors.torch.load_file and load_state_dict"
        )
    if name not in BACKBONES:
        raise NintError(
            f"the run was fitted with the backbone {name!r}, which is not registered here "
            f"(import the module that registers it first); registered: {', '.join(BACKBONES)}"
        )
    described.pop("rebuild_refused", None)
    try:
        sizes = described.pop("in_features"), described.pop("out_features")
        return build_backbone(name, *sizes, seed=config.get("seed", 0), **described)
    except (KeyError, TypeError) as exc:
        raise NintError(f"config.json describes a {name} nint cannot build ({exc})") from None


def load_run(folder: str | Path) -> tuple[nn.Module, dict[str, Any]]:
    """The fitted model of a run folder (on the CPU, in eval mode) and the run's config.

    >>> model, config = nint.load_run("runs/photo-nint")  # doctest: +SKIP
    >>> config["signal"]["height"], config["signal"]["width"]  # doctest: +SKIP
    """
    folder = Path(folder)
    config_file, weights = folder / "config.json", folder / WEIGHTS
    for needed in (config_file, weights):
        if not needed.is_file():
            raise NintError(f"{folder} is not a run folder with weights (no {needed.name})")
    try:
        config = json.loads(config_file.read_text())
    except (OSError, ValueError) as exc:
        raise NintError(f"cannot read {config_file} ({exc})") from None
    model = build_model(config)
    try:
        model.load_state_dict(load_weights(weights))
    except RuntimeError as exc:  # missing, unexpected or misshapen tensors
        first = str(exc).splitlines()[0]
        raise NintError(
            f"{weights} does not fit the model config.json describes ({first})"
        ) from None
    return model.eval(), config
