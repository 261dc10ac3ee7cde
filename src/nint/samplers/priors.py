"""Content priors of the image baselines, as pure functions of the image.

Soft Mining, Expansive Supervision and EGRA steer sampling with edges of the ground-truth image.
They are computed here from a *raster*, the (H, W, C) float image in [0, 1] whose pixel (r, c) is
coordinate index r * W + c (``Signal.raster``). OpenCV provides Canny, Otsu and dilation, the same
operators the public ports of these methods call, so their thresholds mean the same thing here.

All functions take and return numpy arrays and draw randomness only from a ``numpy`` generator
passed in (seeded from the sampler's seed), never from a global RNG.
"""

from __future__ import annotations

import numpy as np
import torch

from ..errors import NintError

# ITU-R BT.601 luma weights: what OpenCV's RGB2GRAY and the Soft Mining code use.
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float64)


def check_raster(raster: np.ndarray | None, strategy: str, n_points: int) -> np.ndarray:
    """The raster as float32 (H, W, C) with H * W = n_points; NintError when the signal has
    none (audio, shapes) or it does not match the coordinates."""
    if raster is None:
        raise NintError(
            f"strategy {strategy!r} needs an image (a pixel grid and its content prior); "
            "it is not defined for audio or 3D shapes, as in the paper"
        )
    if raster.ndim != 3 or raster.shape[2] not in (1, 3):
        raise NintError(f"an image raster must be H x W x 1 or 3, got shape {raster.shape}")
    if raster.shape[0] * raster.shape[1] != n_points:
        raise NintError(f"the image has {raster.shape[0] * raster.shape[1]} pixels, not {n_points}")
    return np.asarray(raster, dtype=np.float32)


def gray_float(raster: np.ndarray) -> np.ndarray:
    """(H, W) float64 luma in [0, 1] of an (H, W, C) raster (C = 1 is taken as is)."""
    if raster.shape[2] == 1:
        return raster[:, :, 0].astype(np.float64)
    return raster.astype(np.float64) @ LUMA


def gray_uint8(raster: np.ndarray) -> np.ndarray:
    """(H, W) uint8 luma, the input Canny and Otsu expect (values rounded from [0, 1] * 255)."""
    return np.round(np.clip(gray_float(raster), 0.0, 1.0) * 255.0).astype(np.uint8)


def canny(gray: np.ndarray, low: float, high: float) -> np.ndarray:
    """(H, W) bool edge map of OpenCV's Canny (3x3 Sobel, L1 gradient) on a uint8 image."""
    import cv2  # imported here: only the image baselines need OpenCV

    return cv2.Canny(gray, float(low), float(high)) > 0


def otsu_threshold(gray: np.ndarray) -> float:
    """Otsu's threshold of a uint8 image (OpenCV), in grey levels 0..255."""
    import cv2

    value, _ = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return float(value)


def dilate(mask: np.ndarray, size: int = 2) -> np.ndarray:
    """Binary dilation with a size x size square (OpenCV, anchor at its centre as cv2 places it)."""
    import cv2

    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (size, size))
    return cv2.dilate(mask.astype(np.uint8), kernel, iterations=1) > 0


def adaptive_canny(
    gray: np.ndarray, area: float, max_steps: int = 100, gain: float = 15.0
) -> np.ndarray:
    """Canny edges whose area is within [0.8, 1.2] x ``area`` of the image, if reachable.

    Expansive Supervision's prior: thresholds start at (0.5, 1.0) x Otsu's threshold; while the
    edge share misses the band, the upper threshold is scaled by 1 + gain * (share - area), at
    most ``max_steps`` times (the public code's rule and constants).

    Returns:
        (H, W) bool edge map.
    """
    anchor = otsu_threshold(gray)
    low, high = 0.5, 1.0
    edges = canny(gray, anchor * low, anchor * high)
    for _ in range(max_steps):
        share = float(edges.mean())
        if 0.8 * area <= share <= 1.2 * area:
            break
        high *= 1.0 + gain * (share - area)
        edges = canny(gray, anchor * low, anchor * high)
    return edges


def expansive_anchors(raster: np.ndarray, area: float, rng: np.random.Generator) -> np.ndarray:
    """Flat indices of Expansive Supervision's anchors: dilated adaptive Canny edges.

    The edges (``adaptive_canny``) are dilated once with a 2 x 2 square; if they then cover more
    than ``area`` of the image, a uniformly random subset of exactly floor(area * H * W) is kept.

    Returns:
        (A,) int64 sorted flat indices, A <= floor(area * H * W).
    """
    gray = gray_uint8(raster)
    mask = dilate(adaptive_canny(gray, area)).reshape(-1)
    anchors = np.flatnonzero(mask)
    cap = int(area * mask.size)
    if anchors.size > cap:
        anchors = np.sort(rng.choice(anchors, size=cap, replace=False))
    return anchors.astype(np.int64)


def sobel_density(raster: np.ndarray) -> np.ndarray:
    """Soft Mining's edge density: Sobel magnitude of the luma, normalised to max 1, floor 1e-5.

    Zero padding at the border, as the public code's ``conv2d(padding=1)``. The public code
    normalises by a per-column maximum (a reduction over the wrong axes); we use the image's
    maximum, which is what its comment intends.

    Returns:
        (H * W,) float64 weights in [1e-5, 1], not normalised to sum 1.
    """
    gray = np.pad(gray_float(raster), 1)
    gx = (
        (gray[:-2, 2:] + 2 * gray[1:-1, 2:] + gray[2:, 2:])
        - (gray[:-2, :-2] + 2 * gray[1:-1, :-2] + gray[2:, :-2])
    )  # fmt: skip
    gy = (
        (gray[2:, :-2] + 2 * gray[2:, 1:-1] + gray[2:, 2:])
        - (gray[:-2, :-2] + 2 * gray[:-2, 1:-1] + gray[:-2, 2:])
    )  # fmt: skip
    magnitude = np.hypot(gx, gy)
    magnitude = magnitude / (magnitude.max() + 1e-7)
    return np.clip(magnitude, 1e-5, 1.0).reshape(-1)


def laplacian(gray: torch.Tensor) -> torch.Tensor:
    """(H, W) 4-neighbour Laplacian [[0,1,0],[1,-4,1],[0,1,0]] with replicated borders.

    EVOS's crossover compares Laplacians of prediction and ground truth. Its public code applies
    the kernel without padding, which yields (H-2) x (W-2) values that do not line up with the
    H x W error map it is added to; replicating the border keeps one value per pixel.
    """
    padded = torch.nn.functional.pad(gray[None, None], (1, 1, 1, 1), mode="replicate")[0, 0]
    return (
        padded[:-2, 1:-1] + padded[2:, 1:-1] + padded[1:-1, :-2] + padded[1:-1, 2:]
        - 4.0 * padded[1:-1, 1:-1]
    )  # fmt: skip
