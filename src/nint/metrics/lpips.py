"""LPIPS (Zhang et al., CVPR 2018): AlexNet backbone, version 0.1, without torchvision.

The network is rebuilt here (AlexNet's five convolutions, LPIPS's input scaling, channel-wise
unit normalisation, squared differences, the learned 1x1 "linear" heads, spatial mean, sum over
layers) and loads two files that cannot be downloaded on an offline machine:

- ``alexnet-owt-7be5be79.pth``: torchvision's ImageNet AlexNet weights;
- ``alex.pth``: the LPIPS v0.1 linear heads (shipped inside the ``lpips`` package).

They are looked for, in order, in ``$NINT_LPIPS_WEIGHTS`` (a folder holding one or both),
``$TORCH_HOME/hub/checkpoints`` or ``~/.cache/torch/hub/checkpoints`` (where torchvision caches
AlexNet), the installed ``lpips`` package's ``weights/v0.1`` folder, and ``~/.cache/nint/lpips``.
When either is absent, LPIPS is reported as missing with one line saying how to provide it; when
one cannot be used (corrupt, truncated, not a state dict, a tensor missing or of the wrong shape),
as missing with one line naming that file. The files are read with ``weights_only=True``: tensors
and plain containers only, never arbitrary pickled objects.
"""

from __future__ import annotations

import importlib.util
import os
import pickle
import warnings
from pathlib import Path
from typing import cast

import numpy as np
import torch
from torch import nn

from .missing import Missing

ALEXNET_FILE = "alexnet-owt-7be5be79.pth"
HEADS_FILE = "alex.pth"
ENV_VAR = "NINT_LPIPS_WEIGHTS"
HOW_TO = (
    f"LPIPS unavailable: put {ALEXNET_FILE} (torchvision's AlexNet) and {HEADS_FILE} (LPIPS v0.1 "
    f"heads, from the lpips package) in a folder and set {ENV_VAR} to it"
)
# (out channels, kernel, stride, padding) of AlexNet's convolutions and their state-dict indices
_CONVS = ((0, 3, 64, 11, 4, 2), (3, 64, 192, 5, 1, 2), (6, 192, 384, 3, 1, 1),
          (8, 384, 256, 3, 1, 1), (10, 256, 256, 3, 1, 1))  # fmt: skip
_SHIFT = (-0.030, -0.088, -0.188)
_SCALE = (0.458, 0.448, 0.450)


def search_folders() -> list[Path]:
    """Where the weight files are looked for, in order."""
    folders = []
    if os.environ.get(ENV_VAR):
        folders.append(Path(os.environ[ENV_VAR]).expanduser())
    torch_home = os.environ.get("TORCH_HOME")
    home = Path(torch_home) if torch_home else Path("~/.cache/torch").expanduser()
    folders.append(home / "hub" / "checkpoints")
    spec = importlib.util.find_spec("lpips")
    if spec and spec.origin:
        folders.append(Path(spec.origin).parent / "weights" / "v0.1")
    folders.append(Path("~/.cache/nint/lpips").expanduser())
    return folders


def find_weights() -> tuple[Path, Path] | Missing:
    """(AlexNet file, heads file), or Missing with how to provide them."""
    alexnet, heads = (
        next((f / name for f in search_folders() if (f / name).is_file()), None)
        for name in (ALEXNET_FILE, HEADS_FILE)
    )
    if alexnet is None or heads is None:
        return Missing(HOW_TO)
    return alexnet, heads


class AlexLPIPS(nn.Module):
    """LPIPS distance between (N, 3, H, W) images in [-1, 1]; returns (N,)."""

    shift: torch.Tensor  # buffers, registered in __init__
    scale: torch.Tensor

    def __init__(self) -> None:
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(i, o, k, s, p) for _, i, o, k, s, p in _CONVS)
        self.heads = nn.ModuleList(nn.Conv2d(o, 1, 1, bias=False) for *_, o, _, _, _ in _CONVS)
        self.register_buffer("shift", torch.tensor(_SHIFT).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor(_SCALE).view(1, 3, 1, 1))

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Outputs of the five ReLUs (LPIPS's taps); max-pooling before conv 2 and conv 3."""
        x = (x - self.shift) / self.scale
        taps = []
        for n, conv in enumerate(self.convs):
            if n in (1, 2):
                x = nn.functional.max_pool2d(x, kernel_size=3, stride=2)
            x = torch.relu(conv(x))
            taps.append(x)
        return taps

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        total = x.new_zeros(x.shape[0])
        for fx, fy, head in zip(self.features(x), self.features(y), self.heads, strict=True):
            fx = fx / (fx.pow(2).sum(dim=1, keepdim=True).sqrt() + 1e-10)
            fy = fy / (fy.pow(2).sum(dim=1, keepdim=True).sqrt() + 1e-10)
            total = total + head((fx - fy) ** 2).mean(dim=(1, 2, 3))
        return total

    def load_files(self, alexnet: Path, heads: Path) -> None:
        """Load torchvision's AlexNet state dict and the LPIPS v0.1 heads.

        Raises:
            UnusableWeights: naming the file that cannot be read or lacks a tensor we need.
        """
        backbone, lins = _read_state(alexnet), _read_state(heads)
        state = {}
        for n, (index, *_) in enumerate(_CONVS):
            conv, head = cast(nn.Conv2d, self.convs[n]), cast(nn.Conv2d, self.heads[n])
            assert conv.bias is not None  # AlexNet's convolutions have biases (__init__)
            state[f"convs.{n}.weight"] = _entry(
                backbone, f"features.{index}.weight", conv.weight, alexnet
            )
            state[f"convs.{n}.bias"] = _entry(
                backbone, f"features.{index}.bias", conv.bias, alexnet
            )
            state[f"heads.{n}.weight"] = _entry(lins, f"lin{n}.model.1.weight", head.weight, heads)
        state["shift"], state["scale"] = self.shift, self.scale
        self.load_state_dict(state)


class UnusableWeights(Exception):
    """A weight file that is present but cannot be used; the message names it."""


def _read_state(path: Path) -> dict:
    """The state dict in ``path``, unpickled with ``weights_only=True`` (tensors and plain
    containers only); UnusableWeights naming the file if it is not one."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch warns about plain pickles, then refuses them
            state = torch.load(path, map_location="cpu", weights_only=True)
    # what torch.load raises on files that are not its format: a foreign pickle or plain text
    # (UnpicklingError), an empty file (EOFError), a cut zip archive (RuntimeError)
    except (pickle.UnpicklingError, EOFError, RuntimeError, OSError, ValueError) as exc:
        why = f"{path} cannot be read as PyTorch weights ({type(exc).__name__})"
        raise UnusableWeights(why) from None
    if not isinstance(state, dict):
        raise UnusableWeights(f"{path} holds a {type(state).__name__}, not a state dict")
    return state


def _entry(state: dict, key: str, like: torch.Tensor, path: Path) -> torch.Tensor:
    """``state[key]``, a tensor shaped like ``like``; else UnusableWeights naming ``path``."""
    value = state.get(key)
    if not isinstance(value, torch.Tensor) or value.shape != like.shape:
        raise UnusableWeights(f"{path} has no tensor {key} of shape {tuple(like.shape)}")
    return value


_MODELS: dict[tuple[Path, Path], AlexLPIPS] = {}


def load_lpips() -> AlexLPIPS | Missing:
    """The LPIPS network with its weights (loaded once per pair of files), or Missing."""
    files = find_weights()
    if isinstance(files, Missing):
        return files
    if files not in _MODELS:
        model = AlexLPIPS()
        try:
            model.load_files(*files)
        except UnusableWeights as exc:
            # the same convention as absent weights: the fit goes on, LPIPS is missing with why
            return Missing(f"LPIPS weights not usable: {exc}")
        _MODELS[files] = model.eval()
    return _MODELS[files]


def lpips(pred: np.ndarray, target: np.ndarray) -> float | Missing:
    """LPIPS (AlexNet, v0.1) of (H, W, C) images in [0, 1]; grayscale is repeated to 3 channels.

    Inputs are scaled to [-1, 1] as LPIPS expects. Returns Missing when the weights are absent.
    """
    model = load_lpips()
    if isinstance(model, Missing):
        return model

    def tensor(a: np.ndarray) -> torch.Tensor:
        t = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).permute(2, 0, 1)[None]
        return (t.expand(1, 3, *t.shape[2:]) if t.shape[1] == 1 else t) * 2.0 - 1.0

    with torch.no_grad():
        return float(model(tensor(np.clip(pred, 0.0, 1.0)), tensor(target))[0])
