"""The one signal type the trainer sees, whatever the modality.

A signal holds N coordinates and their C target values as tensors, knows how to score a full
prediction (its metrics) and how to write a prediction back to files. It knows nothing about
samplers or training.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from ..errors import NintError
from ..metrics.missing import Missing
from ..models import predict


def existing_file(path: str | Path, kind: str) -> Path:
    """``path`` as a Path; NintError if it does not exist or is not a regular file.

    Every loader resolves its input here, before opening it. Named pipes, devices and sockets
    are refused: reading a pipe nobody writes to would wait forever, and a device may never end.
    """
    path = Path(path)
    try:
        mode = os.stat(path).st_mode  # follows links: a link to a pipe is a pipe
    except (FileNotFoundError, NotADirectoryError):  # a missing path, or one under a file
        raise NintError(f"no such file: {path}") from None
    except OSError as exc:
        raise NintError(f"cannot read {path} ({exc.strerror or exc.__class__.__name__})") from None
    if stat.S_ISDIR(mode):
        raise NintError(f"{path} is a folder, not {kind} file")
    if not stat.S_ISREG(mode):
        raise NintError(f"{path} is {_special_kind(mode)}, not {kind} file")
    return path


def _special_kind(mode: int) -> str:
    """What a file that is neither a folder nor a regular file is, for messages."""
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a special file"


@dataclass(frozen=True)
class Metric:
    """One metric of a modality, declared once: its key, how it is shown, which way is better
    and the values whose first crossing every summary reports.

    Attributes:
        name: the key in history rows and summaries ("psnr").
        label: how tables and the command line show it ("PSNR").
        fmt: the format of its value in one-line results (".2f").
        lower_is_better: "reaching" a threshold means going below it (LPIPS, Chamfer).
        thresholds: values whose first crossing (iteration and training seconds) is reported.
    """

    name: str
    label: str
    fmt: str = ".4f"
    lower_is_better: bool = False
    thresholds: tuple[float, ...] = ()

    def reached(self, value: float | None, threshold: float) -> bool:
        """Whether ``value`` (None: missing) is at or past ``threshold``."""
        if value is None:
            return False
        return value <= threshold if self.lower_is_better else value >= threshold

    def threshold_key(self, threshold: float) -> str:
        """The summary's key for a threshold: "psnr>=30", "chamfer<=1e-05"."""
        return f"{self.name}{'<=' if self.lower_is_better else '>='}{threshold:g}"


class Signal:
    """Base class for a fitted signal.

    Attributes:
        coords: (N, D) float32 coordinates.
        values: (N, C) float32 targets.
        name: a short label (the file stem).
    """

    modality: ClassVar[str] = ""
    #: the metrics ``evaluate`` returns, in the order they are shown; the first is the primary
    #: one (progress bars, curves against time) and must always be computable
    metrics: ClassVar[tuple[Metric, ...]] = ()
    #: the first-layer SIREN frequency that suits this modality's coordinates
    default_first_omega_0: ClassVar[float] = 30.0
    #: True: the training set changes every iteration (``draw_training_set``); N stays fixed
    fresh_points: ClassVar[bool] = False
    #: batch ratio B used when the caller gives none (None: the sampler's own default, 0.2)
    default_ratio: ClassVar[float | None] = None
    #: iterations to evaluate at when the caller gives no cadence (empty: every 10 iterations)
    default_eval_at: ClassVar[tuple[int, ...]] = ()

    def __init__(self, coords: torch.Tensor, values: torch.Tensor, name: str) -> None:
        if coords.ndim != 2 or values.ndim != 2 or coords.shape[0] != values.shape[0]:
            raise ValueError(
                f"coords (N, D) and values (N, C) must agree, got {tuple(coords.shape)} "
                f"and {tuple(values.shape)}"
            )
        self.coords = coords
        self.values = values
        self.name = name
        #: metric -> why it could not be computed, from the last ``evaluate``
        self.missing: dict[str, str] = {}

    @property
    def primary_metric(self) -> str:
        """The metric shown in progress bars and plotted against time."""
        return self.metrics[0].name

    def metric(self, name: str) -> Metric:
        """The declaration of metric ``name``; NintError if this modality has none such."""
        for metric in self.metrics:
            if metric.name == name:
                return metric
        known = ", ".join(m.name for m in self.metrics)
        raise NintError(f"{self.modality} signals have no metric {name!r}; they have {known}")

    @property
    def n_points(self) -> int:
        return self.coords.shape[0]

    @property
    def eval_coords(self) -> torch.Tensor:
        """(M, D) coordinates at which a fit is scored; ``evaluate`` and ``reconstruction``
        receive the prediction there. The training coordinates, unless a signal is scored on
        another grid (super-resolution: trained on a downsampled image, scored at full size)."""
        return self.coords

    @property
    def raster(self) -> np.ndarray | None:
        """(H, W, C) float32 values when coordinate r * W + c is pixel (r, c) of an image, else
        None. Samplers with an image prior (Soft Mining, Expansive, EGRA) read it; nothing else.
        """
        return None

    @property
    def in_features(self) -> int:
        return self.coords.shape[1]

    @property
    def out_features(self) -> int:
        return self.values.shape[1]

    def draw_training_set(self, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """A new training set ((N, D) coords, (N, C) values), same N every call, drawn with
        ``generator``; the trainer calls it every iteration when ``fresh_points`` is True."""
        raise NotImplementedError(f"{type(self).__name__} has a fixed training set")

    def predict_for_eval(
        self, model: nn.Module, chunk: int | None, device: torch.device
    ) -> torch.Tensor:
        """The (M, C) prediction over ``eval_coords`` that ``evaluate`` and
        ``reconstruction`` take, without gradients, ``chunk`` rows at a time. A signal with
        a large evaluation set overrides this to build its coordinates lazily."""
        return predict(model, self.eval_coords.to(device), chunk)

    def evaluate(self, prediction: torch.Tensor) -> dict[str, float | None]:
        """Metrics of a full (M, C) prediction over ``eval_coords``. A metric that cannot be
        computed is None, with its reason in ``self.missing``; it is never reported as a number."""
        raise NotImplementedError

    def _record(self, metrics: dict[str, float | None], key: str, value: float | Missing) -> None:
        """Store a metric that may be missing: None in ``metrics``, the reason in ``missing``."""
        if isinstance(value, Missing):
            metrics[key] = None
            self.missing[key] = value.reason
        else:
            metrics[key] = value

    def notes(self) -> list[str]:
        """Remarks a reader of the results needs (e.g. resampling done for a metric)."""
        return []

    def headline(self, final: dict[str, Any]) -> str:
        """One line of final metrics, e.g. 'PSNR 31.20 dB, SSIM 0.9512'."""
        parts = []
        for m in self.metrics:
            value = final.get(m.name)
            parts.append(f"{m.label} " + ("missing" if value is None else format(value, m.fmt)))
        return ", ".join(parts)

    def reconstruction(self, prediction: torch.Tensor) -> Any:
        """The fit in the modality's own terms, for the report to write and draw: an image array,
        audio samples, a surface. ``prediction`` is (M, C) over ``eval_coords``."""
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """What the run's config records about the signal."""
        return {
            "modality": self.modality,
            "name": self.name,
            "n_points": self.n_points,
            "in_features": self.in_features,
            "out_features": self.out_features,
        }
