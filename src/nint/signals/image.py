"""Images: any file Pillow reads, as coordinates in [-1, 1]^2 and values in [0, 1].

Pixel (row r, column c) of an H x W image is coordinate index r * W + c, at
(x, y) = (-1 + 2 c / (W - 1), -1 + 2 r / (H - 1)).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import png  # pypng: Pillow decodes 16-bit colour PNGs to 8 bits, pypng keeps all 16
import torch
from PIL import Image, UnidentifiedImageError
from skimage.transform import resize

from ..checks import check_memory
from ..errors import NintError
from ..metrics.image import psnr, ssim
from ..metrics.lpips import lpips
from ..options import Option
from .base import Metric, Signal, existing_file


def grid_coords(height: int, width: int, centres: bool = False) -> torch.Tensor:
    """(H*W, 2) float32 coordinates (x, y) in [-1, 1]^2, row-major.

    Corner-aligned by default (the first and last pixels at -1 and 1, as the released code);
    ``centres``: pixel centres of a [-1, 1]^2 canvas, x = -1 + (2 c + 1) / W, so that grids of
    different resolutions of one image line up (super-resolution).
    """
    if centres:
        ys = -1.0 + (2.0 * torch.arange(height) + 1.0) / height
        xs = -1.0 + (2.0 * torch.arange(width) + 1.0) / width
    else:
        ys = torch.linspace(-1.0, 1.0, height)
        xs = torch.linspace(-1.0, 1.0, width)
    yy, xx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([xx.reshape(-1), yy.reshape(-1)], dim=1)


def parse_extent(text: str | int | tuple[int, int], what: str) -> tuple[int, int] | int:
    """'256' -> 256; '320x240' -> (320, 240) as (width, height). Positive integers only."""
    if isinstance(text, int):
        value: tuple[int, int] | int = text
    elif isinstance(text, tuple):
        value = text
    else:
        m = re.fullmatch(r"\s*(\d+)\s*(?:[xX]\s*(\d+)\s*)?", str(text))
        if not m:
            raise NintError(f"{what} must be N or WxH with positive integers, got {text!r}")
        value = int(m[1]) if m[2] is None else (int(m[1]), int(m[2]))
    sizes = value if isinstance(value, tuple) else (value,)
    if any(v < 1 for v in sizes):
        raise NintError(f"{what} must be positive, got {text!r}")
    return value


def to_float_array(image: Image.Image, name: str = "the image") -> np.ndarray:
    """(H, W, C) float32 in [0, 1], C = 1 or 3, from a Pillow image of 8 or 16 bits.

    Alpha channels are dropped; palette, CMYK and other colour modes become RGB. Float images
    (mode F, e.g. 32-bit TIFFs) with NaN or inf are refused (NintError naming ``name``).
    """
    mode = image.mode
    if mode.startswith("I;16"):
        array = np.asarray(image, dtype=np.float32) / 65535.0
    elif mode == "I":  # 32-bit integer mode: Pillow's container for 16-bit grayscale PNGs
        array = np.asarray(image, dtype=np.float32) / 65535.0
    elif mode == "F":
        array = np.asarray(image, dtype=np.float32)
        if not np.all(np.isfinite(array)):
            # checked before the clip below, which keeps NaN and turns inf into 0 or 1
            raise NintError(f"{name} has non-finite pixel values (NaN or inf)")
    elif mode in ("1", "L", "LA"):
        array = np.asarray(image.convert("L"), dtype=np.float32) / 255.0
    else:
        array = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    if array.ndim == 2:
        array = array[:, :, None]
    return np.clip(array, 0.0, 1.0)


def is_16bit_colour_png(path: Path) -> bool:
    """True for a PNG whose header says 16 bits per sample and colour type RGB or RGBA."""
    with open(path, "rb") as f:
        head = f.read(26)
    return (
        len(head) == 26
        and head[:8] == b"\x89PNG\r\n\x1a\n"
        and head[12:16] == b"IHDR"
        and head[24] == 16
        and head[25] in (2, 6)
    )


def read_16bit_colour_png(path: Path) -> np.ndarray:
    """(H, W, 3) float32 in [0, 1] from a 16-bit RGB(A) PNG, full precision, alpha dropped."""
    width, height, rows, info = png.Reader(filename=str(path)).asDirect()  # rows: lazy
    limit = Image.MAX_IMAGE_PIXELS
    if limit is not None and width * height > 2 * limit:
        # the limit (and words) Pillow applies to every other image before decoding it
        raise Image.DecompressionBombError(
            f"Image size ({width * height} pixels) exceeds limit of {2 * limit} pixels, "
            "could be decompression bomb DOS attack."
        )
    planes = info["planes"]
    array = np.vstack([np.asarray(row, dtype=np.uint16) for row in rows])
    array = array.reshape(height, width, planes)[:, :, :3]
    return array.astype(np.float32) / 65535.0


def centre_crop(array: np.ndarray, crop: tuple[int, int] | int) -> np.ndarray:
    """Centre crop of (H, W, C) to (width, height) or a square; must fit inside the image."""
    width, height = crop if isinstance(crop, tuple) else (crop, crop)
    h, w = array.shape[:2]
    if width > w or height > h:
        raise NintError(f"crop {width}x{height} is larger than the image ({w}x{h})")
    top, left = (h - height) // 2, (w - width) // 2
    return array[top : top + height, left : left + width]


def check_image_memory(width: int, height: int, channels: int, resize: bool = False) -> None:
    """NintError when a width x height image signal cannot fit in memory (before allocating).

    Per pixel: float32 coordinates (2), the image and its targets (C each), and the full
    prediction and residual that evaluation and the residual pass hold (C each); resizing first
    holds two float64 copies (scikit-image works in float64, then the clip).
    """
    per_pixel = 4 * (2 + 4 * channels) + (16 * channels if resize else 0)
    check_memory(width * height * per_pixel, f"a {width}x{height} image")


def resize_to(array: np.ndarray, size: tuple[int, int] | int) -> np.ndarray:
    """Resize (H, W, C) to (width, height), or so that the longer side is ``size`` (aspect kept).

    Cubic interpolation with anti-aliasing (scikit-image), clipped to [0, 1].
    """
    h, w = array.shape[:2]
    if isinstance(size, tuple):
        width, height = size
    else:
        scale = size / max(h, w)
        width, height = max(1, round(w * scale)), max(1, round(h * scale))
    if (height, width) == (h, w):
        return array
    check_image_memory(width, height, array.shape[2], resize=True)
    out = resize(array, (height, width), order=3, anti_aliasing=True, preserve_range=True)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


class ImageSignal(Signal):
    """An image as a signal: coords (H*W, 2), values (H*W, C) with C = 1 or 3."""

    modality = "image"
    metrics = (
        Metric("psnr", "PSNR", ".2f", thresholds=(25.0, 30.0, 35.0)),
        Metric("ssim", "SSIM", ".4f", thresholds=(0.8, 0.9)),
        Metric("lpips", "LPIPS", ".4f", lower_is_better=True, thresholds=(0.2, 0.1)),
    )

    def __init__(self, image: np.ndarray, name: str = "image") -> None:
        if image.ndim == 2:
            image = image[:, :, None]
        if image.ndim != 3 or image.shape[2] not in (1, 3):
            raise NintError(f"an image must be H x W x 1 or H x W x 3, got shape {image.shape}")
        if image.shape[0] < 7 or image.shape[1] < 7:
            raise NintError(
                f"image {image.shape[1]}x{image.shape[0]} is too small (SSIM needs 7x7)"
            )
        if not np.all(np.isfinite(image)):
            # one NaN target makes every loss and metric NaN (arrays given here directly;
            # load_image refuses such files before its clip)
            raise NintError(f"image {name!r} has non-finite pixel values (NaN or inf)")
        check_image_memory(image.shape[1], image.shape[0], image.shape[2])
        self.image = np.ascontiguousarray(image, dtype=np.float32)
        self.height, self.width, channels = self.image.shape
        values = torch.from_numpy(self.image.reshape(-1, channels).copy())
        super().__init__(grid_coords(self.height, self.width), values, name)

    @property
    def raster(self) -> np.ndarray:
        return self.image

    def as_image(self, prediction: torch.Tensor, shape: tuple[int, ...] | None = None):
        """(N, C) prediction -> (H, W, C) float32 array clipped to [0, 1] (``shape``: another
        grid than the training one)."""
        array = prediction.detach().float().cpu().numpy().reshape(shape or self.image.shape)
        return np.clip(array, 0.0, 1.0)

    def score(self, pred: np.ndarray, truth: np.ndarray) -> dict[str, float | None]:
        """MSE, PSNR, SSIM and LPIPS (missing without its weights) of two (H, W, C) images."""
        metrics: dict[str, float | None] = {
            "mse": float(np.mean((pred - truth) ** 2, dtype=np.float64)),
            "psnr": psnr(pred, truth),
            "ssim": ssim(pred, truth),
        }
        self.missing = {}
        self._record(metrics, "lpips", lpips(pred, truth))
        return metrics

    def evaluate(self, prediction: torch.Tensor) -> dict[str, float | None]:
        return self.score(self.as_image(prediction), self.image)

    def reconstruction(self, prediction: torch.Tensor) -> np.ndarray:
        """The fitted image, (H, W, C) in [0, 1], at the evaluation grid's size."""
        return self.as_image(prediction)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "height": self.height, "width": self.width}


def save_png(array: np.ndarray, path: Path) -> None:
    """Write (H, W, C) floats in [0, 1] as an 8-bit PNG."""
    data = np.round(np.clip(array, 0.0, 1.0) * 255.0).astype(np.uint8)
    Image.fromarray(data[:, :, 0] if data.shape[2] == 1 else data).save(path)


#: ``load_image``'s options, as the command line offers them
IMAGE_OPTIONS = (
    Option("size", "resize to N (longer side) or WxH, after --crop", str),
    Option("crop", "centre crop N x N or WxH, before --size", str),
)


def load_image(
    path: str | Path,
    size: str | int | tuple[int, int] | None = None,
    crop: str | int | tuple[int, int] | None = None,
) -> ImageSignal:
    """Read an image file as a signal.

    Args:
        path: any image Pillow reads (RGB or grayscale, 8- or 16-bit; alpha is dropped).
            16-bit RGB(A) PNGs are read with pypng, because Pillow would reduce them to 8 bits.
        size: resize after cropping: N (longer side N, aspect kept) or "WxH".
        crop: centre crop first: N (N x N) or "WxH".

    Raises:
        NintError: missing or unreadable file, or a crop larger than the image.
    """
    path = existing_file(path, "an image")
    try:
        if is_16bit_colour_png(path):
            array = read_16bit_colour_png(path)
        else:
            with Image.open(path) as image:
                image.load()
                array = to_float_array(image, str(path))
    except NintError:
        raise
    except Image.DecompressionBombError as exc:
        raise NintError(f"cannot read {path}: {str(exc).rstrip('.')}") from None
    except (UnidentifiedImageError, OSError, ValueError, png.Error) as exc:
        raise NintError(f"cannot read {path} as an image ({exc.__class__.__name__})") from None
    if crop is not None:
        array = centre_crop(array, parse_extent(crop, "--crop"))
    if size is not None:
        array = resize_to(array, parse_extent(size, "--size"))
    return ImageSignal(array, name=path.stem)
