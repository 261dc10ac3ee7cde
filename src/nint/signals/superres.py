"""Super-resolution (the paper's section 9): fit a downsampled image, score it at full size.

The network is trained on the image reduced by ``factor`` (anti-aliased cubic resampling) and
evaluated on the full-resolution grid against the original, so the metrics measure how well the
fitted function fills in the detail it never saw. Both grids use pixel-centre coordinates of one
[-1, 1]^2 canvas (``grid_coords(..., centres=True)``), so a low-resolution pixel and the
high-resolution pixels it covers share their centre; the plain image signal's corner-aligned grid
would stretch the two grids against each other by one pixel.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import NintError
from .base import Metric
from .image import ImageSignal, grid_coords, load_image, resize_to, unit_image


class SuperResSignal(ImageSignal):
    """Training pixels of the downsampled image; metrics and reconstruction at full size.

    Attributes:
        high: (H, W, C) the full-resolution original.
        factor: the downsampling factor (2 in the paper).
    """

    metrics = (
        Metric("psnr", "PSNR", ".2f", thresholds=(20.0, 25.0, 30.0)),
        *ImageSignal.metrics[1:],
    )

    def __init__(self, image: np.ndarray, factor: int = 2, name: str = "image") -> None:
        if factor < 2:
            raise NintError(f"the super-resolution factor must be at least 2, got {factor}")
        high = unit_image(image, name)  # checked and scaled before resizing, as ImageSignal
        height, width = high.shape[:2]
        if height % factor or width % factor:
            raise NintError(f"a {width}x{height} image does not divide by the factor {factor}")
        low = resize_to(high, (width // factor, height // factor))
        super().__init__(low, name=name)
        self.high = high
        self.factor = factor
        self.coords = grid_coords(self.height, self.width, centres=True)
        self._eval_coords = grid_coords(height, width, centres=True)

    @property
    def eval_coords(self) -> torch.Tensor:
        return self._eval_coords

    def evaluate(self, prediction: torch.Tensor) -> dict[str, float | None]:
        return self.score(self.as_image(prediction, self.high.shape), self.high)

    def notes(self) -> list[str]:
        h, w = self.high.shape[:2]
        return [
            f"trained on {self.width}x{self.height} (downsampled x{self.factor}), "
            f"scored against the {w}x{h} original"
        ]

    def reconstruction(self, prediction: torch.Tensor) -> np.ndarray:
        return self.as_image(prediction, self.high.shape)

    def describe(self) -> dict[str, Any]:
        h, w = self.high.shape[:2]
        return {**super().describe(), "factor": self.factor, "eval_height": h, "eval_width": w}


def load_superres(path: str | Path, factor: int = 2, **options: Any) -> SuperResSignal:
    """An image file (``load_image`` options: crop, size) as a super-resolution signal."""
    image = load_image(path, **options)
    return SuperResSignal(image.image, factor=factor, name=image.name)
