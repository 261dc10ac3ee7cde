"""The one signal type the trainer sees, whatever the modality.

A signal holds N coordinates and their C target values as tensors, knows how to score a full
prediction (its metrics) and how to write a prediction back to files. It knows nothing about
samplers or training.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from ..errors import NintError
from ..metrics.missing import Missing
from ..models import predict


def existing_file(path: str | Path, kind: str) -> Path:
    """``path`` as a Path; NintError if it does not exist or is a folder."""
    path = Path(path)
    if not path.exists():
        raise NintError(f"no such file: {path}")
    if path.is_dir():
        raise NintError(f"{path} is a folder, not {kind} file")
    return path


class Signal:
    """Base class for a fitted signal.

    Attributes:
        coords: (N, D) float32 coordinates.
        values: (N, C) float32 targets.
        name: a short label (the file stem).
        thresholds: metric -> values whose first crossing is reported (iterations and seconds).
        lower_is_better: metrics for which "reaching" a threshold means going below it.
    """

    modality: ClassVar[str] = ""
    thresholds: ClassVar[dict[str, tuple[float, ...]]] = {}
    lower_is_better: ClassVar[frozenset[str]] = frozenset()
    #: the metric shown in progress bars and plotted against time (always computable)
    primary_metric: ClassVar[str] = ""
    #: (metric, label, format) of the one-line result the CLI prints
    headline_metrics: ClassVar[tuple[tuple[str, str, str], ...]] = ()
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
    def n_points(self) -> int:
        return self.coords.shape[0]

    @property
    def eval_coords(self) -> torch.Tensor:
        """(M, D) coordinates at which a fit is scored; ``evaluate`` and ``save_reconstruction``
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
        ``save_reconstruction`` take, without gradients, ``chunk`` rows at a time. A signal with
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
        for key, label, fmt in self.headline_metrics:
            value = final.get(key)
            parts.append(f"{label} " + ("missing" if value is None else format(value, fmt)))
        return ", ".join(parts)

    def save_reconstruction(self, prediction: torch.Tensor, folder: Path) -> list[Path]:
        """Write the reconstruction in the modality's native format; returns the files."""
        raise NotImplementedError

    def save_selection(self, parts: dict[str, torch.Tensor], folder: Path) -> list[Path]:
        """Picture which coordinates a selection chose, coloured by part; returns the files."""
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
