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
from PIL import Image, ImageOps, UnidentifiedImageError

from ..checks import check_memory
from ..errors import NintError
from ..metrics.image import psnr, ssim
from ..metrics.lpips import lpips
from ..options import Option
from .base import Metric, Signal, existing_file

#: the EXIF tag of how a picture is turned or mirrored, and the TIFF tag of its sample depth
ORIENTATION = 0x0112
BITS_PER_SAMPLE = 258


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


def check_range(array: np.ndarray, low: float, high: float, what: str) -> None:
    """NintError naming the values' span when ``array`` (finite) leaves [low, high].

    Values outside the range used to be clipped, which can turn a whole image into one
    constant; a refusal that names the span tells the user how to rescale instead.
    """
    lowest, highest = array.min().item(), array.max().item()  # ints stay ints
    if lowest < low or highest > high:
        span = ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in (lowest, highest))
        raise NintError(f"{what} span [{span}]; nint expects [{low:g}, {high:g}]: rescale it first")


def to_float_array(image: Image.Image, name: str = "the image") -> np.ndarray:
    """(H, W, C) float32 in [0, 1], C = 1 or 3, from a Pillow image of 8 or 16 bits.

    Alpha channels are dropped; palette, CMYK and other colour modes become RGB. 16-bit and
    32-bit integer images are divided by 65535 (Pillow holds 16-bit grey in both); values
    outside [0, 65535] are refused rather than saturated. Float images (mode F, e.g. 32-bit
    TIFFs) are used as they are and must lie in [0, 1]: NaN, inf or values outside are refused
    (NintError naming ``name`` and the values' span), never clipped.
    """
    mode = image.mode
    if mode == "I" or mode.startswith("I;16"):
        raw = np.asarray(image)
        check_range(raw, 0, 65535, f"{name}: integer pixel values")
        array = raw.astype(np.float32) / 65535.0
    elif mode == "F":
        array = np.asarray(image, dtype=np.float32)
        if not np.all(np.isfinite(array)):
            raise NintError(f"{name} has non-finite pixel values (NaN or inf)")
        check_range(array, 0.0, 1.0, f"{name}: float pixel values")
    elif mode in ("1", "L", "LA"):
        array = np.asarray(image.convert("L"), dtype=np.float32) / 255.0
    else:
        array = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    if array.ndim == 2:
        array = array[:, :, None]
    return array


def is_16bit_png(path: Path) -> bool:
    """True for a PNG whose header says 16 bits per sample (grey, RGB, either with alpha)."""
    with open(path, "rb") as f:
        head = f.read(26)
    return (
        len(head) == 26
        and head[:8] == b"\x89PNG\r\n\x1a\n"
        and head[12:16] == b"IHDR"
        and head[24] == 16
    )


def read_16bit_png(path: Path) -> np.ndarray:
    """(H, W, C) float32 in [0, 1] from a 16-bit PNG at full precision, alpha dropped.

    Pillow decodes 16-bit colour and grey+alpha PNGs to 8 bits; pypng keeps every bit. A
    grey(+alpha) PNG gives C = 1, an RGB(A) one C = 3. Values are divided by the largest one
    the decoded depth holds (65535, or less where an sBIT chunk makes pypng scale them down).
    """
    width, height, rows, info = png.Reader(filename=str(path)).asDirect()  # rows: lazy
    planes = info["planes"]
    array = np.vstack([np.asarray(row, dtype=np.uint16) for row in rows])
    array = array.reshape(height, width, planes)[:, :, : 1 if planes <= 2 else 3]
    return array.astype(np.float32) / float(2 ** info["bitdepth"] - 1)


def is_deep_colour_tiff(image: Image.Image) -> bool:
    """True for a TIFF with more than 8 bits per sample that Pillow holds in an 8-bit mode
    (16-bit RGB(A) becomes mode RGB, cutting every sample to its top 8 bits)."""
    if image.format != "TIFF" or image.mode in ("I", "F") or image.mode.startswith("I;16"):
        return False
    bits = image.tag_v2.get(BITS_PER_SAMPLE, 8)  # type: ignore[attr-defined]
    return max(bits) > 8 if isinstance(bits, tuple) else bits > 8


def read_deep_tiff(path: Path) -> np.ndarray:
    """(H, W, C) float32 in [0, 1] from a 16-bit grey or RGB(A) TIFF, all bits kept (tifffile),
    alpha dropped; NintError for other sample types or colour spaces."""
    import tifffile  # only for these files; installed with scikit-image

    try:
        with tifffile.TiffFile(path) as tiff:
            page = tiff.pages[0]
            array = page.asarray()
            axes, photometric = page.axes, page.photometric
    except (ValueError, tifffile.TiffFileError) as exc:  # e.g. a codec tifffile lacks
        reason = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        raise NintError(f"cannot read {path} at full precision ({reason})") from None
    array = np.moveaxis(array, axes.index("S"), -1) if "S" in axes else array[:, :, None]
    kinds = {tifffile.PHOTOMETRIC.MINISBLACK: 1, tifffile.PHOTOMETRIC.RGB: 3}
    if array.dtype != np.uint16 or photometric not in kinds:
        raise NintError(
            f"cannot read {path} at full precision: nint reads 16-bit grey and RGB TIFFs, "
            f"this one holds {array.dtype} {photometric.name} samples"
        )
    return array[:, :, : kinds[photometric]].astype(np.float32) / 65535.0


def undo_orientation(array: np.ndarray, orientation: object) -> np.ndarray:
    """(H, W, C) turned and mirrored as an EXIF orientation (1 to 8) asks it to be shown.

    The same result as Pillow's ``ImageOps.exif_transpose``, done on the array for the 16-bit
    images that are read without Pillow (which would cut them to 8 bits). Other values:
    unchanged.
    """
    steps = {
        2: lambda a: a[:, ::-1],  # mirrored left to right
        3: lambda a: a[::-1, ::-1],  # upside down
        4: lambda a: a[::-1],  # mirrored top to bottom
        5: lambda a: a.transpose(1, 0, 2),
        6: lambda a: np.rot90(a, -1),  # stored a quarter turn anticlockwise
        7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),
        8: lambda a: np.rot90(a, 1),
    }
    step = steps.get(orientation) if isinstance(orientation, int) else None
    return array if step is None else np.ascontiguousarray(step(array))


def check_single_frame(image: Image.Image, path: Path) -> None:
    """NintError for an animation or a multi-page file: which frame to fit is the user's call.

    Camera JPEGs that carry a preview or depth map (Pillow's MPO) are let through: their first
    frame is the photograph itself.
    """
    frames = getattr(image, "n_frames", 1)
    if frames > 1 and image.format != "MPO":
        raise NintError(
            f"{path} holds {frames} frames (an animation or a multi-page file); nint fits one "
            "image: save the frame you want as a file of its own"
        )


def read_image(path: Path) -> np.ndarray:
    """(H, W, C) float32 in [0, 1] of an image file, upright as its EXIF orientation says,
    16-bit files at full precision."""
    with Image.open(path) as image:
        check_single_frame(image, path)
        if is_16bit_png(path):
            return undo_orientation(read_16bit_png(path), image.getexif().get(ORIENTATION))
        if is_deep_colour_tiff(image):
            # the tag as the file has it: Pillow has not decoded (and turned) this TIFF
            return undo_orientation(read_deep_tiff(path), image.getexif().get(ORIENTATION))
        # Pillow turns TIFFs upright itself as it decodes them, then drops the tag; its
        # exif_transpose decodes first, so no image is turned twice
        ImageOps.exif_transpose(image, in_place=True)
        return to_float_array(image, str(path))


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
    from skimage.transform import resize  # here: scikit-image is slow to import

    out = resize(array, (height, width), order=3, anti_aliasing=True, preserve_range=True)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


#: integer pixel types that ``unit_image`` divides by their largest value
PIXEL_SCALES = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}


def unit_image(image: np.ndarray, name: str = "image") -> np.ndarray:
    """(H, W, C) float32 in [0, 1], C = 1 or 3, from an (H, W) or (H, W, C) array given to
    a signal: floats in [0, 1] as they are, uint8 / uint16 divided by 255 / 65535, booleans as
    0 / 1. Other types, NaN, inf and floats outside [0, 1] are refused (NintError naming the
    values' span): clipping them would fit another image than the one given.
    """
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3 or image.shape[2] not in (1, 3):
        raise NintError(f"an image must be H x W x 1 or H x W x 3, got shape {image.shape}")
    if image.shape[0] < 7 or image.shape[1] < 7:
        raise NintError(f"image {image.shape[1]}x{image.shape[0]} is too small (SSIM needs 7x7)")
    check_image_memory(image.shape[1], image.shape[0], image.shape[2])
    if image.dtype in PIXEL_SCALES:
        return image.astype(np.float32) / PIXEL_SCALES[image.dtype]
    if image.dtype == np.bool_:
        return image.astype(np.float32)
    if not np.issubdtype(image.dtype, np.floating):
        raise NintError(
            f"image {name!r} has {image.dtype} pixels; nint takes floats in [0, 1], uint8 or uint16"
        )
    if not np.all(np.isfinite(image)):
        # one NaN target makes every loss and metric NaN
        raise NintError(f"image {name!r} has non-finite pixel values (NaN or inf)")
    check_range(image, 0.0, 1.0, f"image {name!r}: pixel values")
    return np.ascontiguousarray(image, dtype=np.float32)


class ImageSignal(Signal):
    """An image as a signal: coords (H*W, 2), values (H*W, C) with C = 1 or 3."""

    modality = "image"
    metrics = (
        Metric("psnr", "PSNR", ".2f", thresholds=(25.0, 30.0, 35.0)),
        Metric("ssim", "SSIM", ".4f", thresholds=(0.8, 0.9)),
        Metric("lpips", "LPIPS", ".4f", lower_is_better=True, thresholds=(0.2, 0.1)),
    )

    def __init__(self, image: np.ndarray, name: str = "image") -> None:
        """``image``: (H, W) or (H, W, C) floats in [0, 1], or uint8 / uint16 pixels (divided
        by 255 / 65535); other values and types are refused (``unit_image``)."""
        self.image = unit_image(image, name)
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
        path: any image Pillow reads (RGB or grayscale, 8- or 16-bit; alpha is dropped),
            turned upright as its EXIF orientation says before anything else. 16-bit PNGs are
            read with pypng and 16-bit colour TIFFs with tifffile, because Pillow would reduce
            them to 8 bits. Float images must lie in [0, 1].
        size: resize after cropping: N (longer side N, aspect kept) or "WxH".
        crop: centre crop first: N (N x N) or "WxH".

    Raises:
        NintError: missing or unreadable file, an animation or multi-page file, float values
            outside [0, 1] or integer ones outside [0, 65535], or a crop larger than the image.
    """
    path = existing_file(path, "an image")
    try:
        array = read_image(path)
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
