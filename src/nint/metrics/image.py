"""Image quality metrics on (H, W, C) arrays in [0, 1].

SSIM is scikit-image's ``structural_similarity`` with a 7 x 7 uniform window, ``data_range=1``
and ``channel_axis=-1``: the call the released NINT code uses. torchmetrics' Gaussian-window SSIM
gives different numbers; tables from this package are comparable with the released code's.
"""

from __future__ import annotations

import math

import numpy as np


def psnr(pred: np.ndarray, target: np.ndarray) -> float:
    """PSNR in dB for signals in [0, 1]; the prediction is clipped to [0, 1] first.

    Returns ``inf`` for a perfect reconstruction.
    """
    mse = float(np.mean((np.clip(pred, 0.0, 1.0) - target) ** 2, dtype=np.float64))
    return math.inf if mse == 0.0 else 10.0 * math.log10(1.0 / mse)


def ssim(pred: np.ndarray, target: np.ndarray) -> float:
    """SSIM of (H, W, C) images in [0, 1] (7 x 7 uniform window, as scikit-image defaults)."""
    from skimage.metrics import structural_similarity  # here: scikit-image is slow to import

    return float(
        structural_similarity(
            np.clip(pred, 0.0, 1.0).astype(np.float64),
            target.astype(np.float64),
            data_range=1.0,
            channel_axis=-1,
        )
    )
