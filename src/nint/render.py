"""A fitted run rendered anew from its weights: an image at any size, a clip at any sample rate,
a shape's surface from any grid resolution (``nint render``).

An INR is a function of continuous coordinates, so the same weights describe the signal at every
resolution. Each modality's coordinates follow the fit's own convention (``config.json``):

- images: the corner-aligned grid of ``grid_coords`` over [-1, 1]^2 (the first and last pixels
  at -1 and 1, as in training); a super-resolution fit (``factor`` in its config) uses the
  pixel-centre grid it was trained on, so both grids cover one canvas;
- audio: sample k of the new rate r sits at time k / r; time t maps to -R + 2 R t r0 / (T0 - 1)
  as in training (T0 samples at rate r0 span [-R, R]), so the clip keeps its length and the
  network is sampled between its training samples; amplitudes are scaled back by the clip's peak;
- shapes: the field on an N^3 grid over [-0.5, 0.5]^3, its zero level set by marching cubes,
  in the input file's units (the normalisation in config.json undone).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .checkpoint import load_run
from .errors import NintError
from .models.inference import predict

#: file suffixes each modality's render writes
SUFFIXES = {"image": (".png",), "audio": (".wav",), "sdf": (".ply", ".obj", ".stl")}
#: how messages name a run of each modality
LABEL = {"image": "an image", "audio": "an audio", "sdf": "a shape"}
#: the render option each modality takes (the others are refused)
OPTION = {"image": "size", "audio": "rate", "sdf": "resolution"}
#: largest render, in coordinates, so a typo cannot ask for terabytes
MAX_POINTS = 1 << 28


def _check_points(count: int, what: str) -> None:
    if count > MAX_POINTS:
        raise NintError(f"{what} asks for {count} coordinates; at most {MAX_POINTS} are rendered")


def image_size(size: str | None, height: int, width: int) -> tuple[int, int]:
    """(H, W) of the render: "WxH", or "N" for the longer side N (aspect kept), or the fit's."""
    if size is None:
        return height, width
    from .signals.image import parse_extent

    extent = parse_extent(size, "--size")
    if isinstance(extent, tuple):
        w, h = extent
        return h, w
    scale = extent / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def render_image(model: nn.Module, signal: dict[str, Any], size: str | None) -> np.ndarray:
    """(H, W, C) float32 in [0, 1]: the model on an H x W grid of the fit's canvas."""
    from .signals.image import grid_coords

    h, w = image_size(size, signal["height"], signal["width"])
    _check_points(h * w, f"--size {w}x{h}")
    # a super-resolution fit trained on pixel centres of its canvas
    coords = grid_coords(h, w, centres="factor" in signal)
    prediction = predict(model, coords, 1 << 16)
    return np.clip(prediction.numpy().reshape(h, w, -1), 0.0, 1.0)


def render_audio(
    model: nn.Module, signal: dict[str, Any], rate: int | None
) -> tuple[np.ndarray, int]:
    """((T,) float64 samples at the clip's scale, rate): the model sampled at ``rate`` Hz."""
    rate0, r = signal["rate"], signal["coord_range"]
    rate = rate0 if rate is None else rate
    samples0 = round(signal["seconds"] * rate0)  # T0, the fit's samples
    last = (samples0 - 1) / rate0  # seconds from the first training sample to the last
    count = int(np.floor(last * rate + 1e-9)) + 1
    _check_points(count, f"--rate {rate}")
    if rate == rate0:  # the training coordinates themselves, to the last bit
        coords = torch.linspace(-r, r, samples0)[:, None]
    else:
        times = torch.arange(count, dtype=torch.float64) / rate
        coords = (-r + 2.0 * r * times * rate0 / (samples0 - 1)).float()[:, None]
    prediction = predict(model, coords, 1 << 16)
    return prediction.double().numpy().ravel() * signal["peak"], rate


def render_shape(
    model: nn.Module, signal: dict[str, Any], resolution: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """((V, 3) vertices in the input file's units, (F, 3) faces): marching cubes of the field
    on a resolution^3 grid."""
    from .metrics.missing import Missing
    from .metrics.shape import zero_surface
    from .signals.sdf import grid_field

    n = signal.get("grid_resolution", 128) if resolution is None else resolution
    _check_points(n**3, f"--resolution {n}")
    field = grid_field(model, n, 1 << 16, torch.device("cpu"))
    surface = zero_surface(field.numpy().reshape(n, n, n))
    if isinstance(surface, Missing):
        raise NintError(f"no surface to render at --resolution {n}: {surface.reason}")
    frame = signal["normalisation"]
    vertices = surface[0] / frame["scale"] + np.asarray(frame["centre"])
    return vertices, surface[1]


def _write_atomically(out: Path, write: Callable[[Path], object]) -> None:
    """``write`` to a temporary sibling of ``out``, then rename it to ``out``: a render that
    fails leaves nothing, and ``out`` is never a half-written file."""
    fd, name = tempfile.mkstemp(prefix=f".{out.stem}-", suffix=out.suffix, dir=out.parent)
    os.close(fd)
    temporary = Path(name)
    try:
        write(temporary)
        temporary.replace(out)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def render_run(
    folder: str | Path,
    out: str | Path,
    size: str | None = None,
    rate: int | None = None,
    resolution: int | None = None,
) -> Path:
    """Render the run in ``folder`` into the new file ``out`` (refused if it exists) and return
    it. ``size`` for images ("WxH" or "N"), ``rate`` (Hz) for audio, ``resolution`` (N of the
    N^3 grid) for shapes; each defaults to the fit's own and is refused for other modalities."""
    out = Path(out)
    model, config = load_run(folder)
    signal = config["signal"]
    modality = signal.get("modality")
    if modality not in SUFFIXES:
        raise NintError(f"cannot render a run of modality {modality!r}")
    given = {"size": size, "rate": rate, "resolution": resolution}
    for option, value in given.items():
        if value is not None and option != OPTION[modality]:
            takes = OPTION[modality]
            raise NintError(
                f"--{option} does not apply to {LABEL[modality]} run (it takes --{takes})"
            )
    if out.suffix.lower() not in SUFFIXES[modality]:
        raise NintError(
            f"{LABEL[modality]} run renders to {' or '.join(SUFFIXES[modality])} files, "
            f"not {out.name}"
        )
    if out.exists() or out.is_symlink():
        raise NintError(f"{out} already exists; choose another --out")
    if not out.parent.is_dir():
        raise NintError(f"cannot write {out}: {out.parent} is not a folder")

    if modality == "image":
        from .signals.image import save_png

        image = render_image(model, signal, size)
        _write_atomically(out, lambda path: save_png(image, path))
    elif modality == "audio":
        import soundfile as sf

        audio, hz = render_audio(model, signal, rate)
        _write_atomically(
            out, lambda path: sf.write(path, audio.astype(np.float32), hz, subtype="FLOAT")
        )
    else:
        import trimesh

        vertices, faces = render_shape(model, signal, resolution)
        mesh = trimesh.Trimesh(vertices, faces, process=False)
        _write_atomically(out, lambda path: mesh.export(path))
    return out
