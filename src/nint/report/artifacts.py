"""A run's reconstruction and selection, written and drawn per modality.

Signals hand over arrays (``Signal.reconstruction``: an image, audio samples, a surface) and
index tensors (a sampler's ``parts``); this module turns them into files. Each modality has one
writer, looked up by ``Signal.modality``; a new modality adds its writer here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import soundfile as sf
import torch

from ..errors import NintError
from ..metrics.missing import Missing
from ..signals import AudioSignal, ImageSignal, SdfSignal, Signal
from ..signals.image import save_png
from .mesh_figure import plot_mesh_comparison, plot_selected_points
from .plotting import new_figure, part_colour, part_label
from .spectrogram import plot_audio_comparison, plot_selected_samples

if TYPE_CHECKING:
    from matplotlib.figure import Figure

Parts = dict[str, torch.Tensor]


def write_artifacts(
    signal: Signal, prediction: torch.Tensor, parts: Parts, folder: Path
) -> list[Path]:
    """Write the reconstruction of ``prediction`` and, when ``parts`` holds a selection, its
    picture into ``folder``; returns the files written."""
    writer = WRITERS.get(signal.modality)
    if writer is None:
        raise NintError(f"no run-folder writer for {signal.modality!r} signals")
    return writer(signal, prediction, parts, Path(folder))


def image_artifacts(
    signal: ImageSignal, prediction: torch.Tensor, parts: Parts, folder: Path
) -> list[Path]:
    """reconstruction.png and, when ``parts`` holds a selection, selection.png
    (``selection_figure``)."""
    files = [folder / "reconstruction.png"]
    save_png(signal.reconstruction(prediction), files[0])
    if parts:
        files.append(folder / "selection.png")
        # "tight": the saved picture grows to hold the legend beside the image
        selection_figure(signal, parts).savefig(files[-1], bbox_inches="tight", pad_inches=0.05)
    return files


#: the shade of the pixels no part chose, in the legend (the dimmed image's middle grey)
UNCHOSEN = (0.32, 0.32, 0.32)


def selection_figure(signal: ImageSignal, parts: Parts, dpi: int = 100) -> Figure:
    """The training image dimmed to grey with the pixels of the last selection painted in their
    part's colour (``plotting.PARTS``), and a legend to its right naming each part with its
    count. Small images are enlarged by a whole factor (nearest neighbour, to at least 256
    pixels on the longer side) so that single pixels and the legend's text stay visible; larger
    ones are drawn one image pixel to one picture pixel."""
    grey = signal.image.mean(axis=2, keepdims=True)
    pixels = np.repeat(0.15 + 0.35 * grey, 3, axis=2).reshape(-1, 3)
    for part, indices in parts.items():
        pixels[indices.cpu().numpy()] = part_colour(part)
    canvas = pixels.reshape(signal.height, signal.width, 3)
    factor = max(1, 256 // max(signal.height, signal.width))
    size = (signal.width * factor / dpi, signal.height * factor / dpi)
    fig = new_figure(figsize=size, dpi=dpi)
    from matplotlib.patches import Patch  # after new_figure: it sets matplotlib up first

    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))  # the image fills the figure; the legend is outside
    ax.imshow(canvas, interpolation="nearest")
    ax.set_axis_off()
    handles = [
        Patch(color=part_colour(part), label=part_label(part, len(indices)))
        for part, indices in parts.items()
    ]
    chosen = np.unique(np.concatenate([i.cpu().numpy().ravel() for i in parts.values()])).size
    if chosen < signal.n_points:  # Stand. chooses every pixel: nothing is left grey
        handles.append(Patch(color=UNCHOSEN, label="not chosen (the image, dimmed)"))
    fig.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(1.0, 1.0),
        title=f"last selection: {chosen} of {signal.n_points} pixels",
        fontsize=9,
        title_fontsize=9,
        frameon=False,
    )
    return fig


def audio_artifacts(
    signal: AudioSignal, prediction: torch.Tensor, parts: Parts, folder: Path
) -> list[Path]:
    """reconstruction.wav (float32, original rate; may exceed [-1, 1] where the fit
    overshoots), spectrogram.png (mel spectrogram and waveform, truth beside the fit) and
    selection.png (the waveform with the chosen samples marked by part)."""
    audio = signal.reconstruction(prediction)
    wav = folder / "reconstruction.wav"
    sf.write(wav, audio.astype(np.float32), signal.rate, subtype="FLOAT")
    panels = {"ground truth": signal.samples, "reconstruction": audio}
    files = [
        wav,
        plot_audio_comparison(panels, signal.rate, folder / "spectrogram.png", signal.name),
    ]
    if parts:
        marks = {part: idx.cpu().numpy() for part, idx in parts.items()}
        files.append(
            plot_selected_samples(
                signal.samples, signal.rate, marks, folder / "selection.png", start=signal.start
            )
        )
    return files


def mesh_artifacts(
    signal: SdfSignal, prediction: torch.Tensor, parts: Parts, folder: Path
) -> list[Path]:
    """reconstruction.ply (marching cubes at level 0, in the input file's units; absent when
    the field has no zero crossing), reconstruction.png (truth and fit from one viewpoint) and
    selection.png (the last training set's chosen points in 3D, by part)."""
    import trimesh

    surface = signal.reconstruction(prediction)
    files = []
    if not isinstance(surface, Missing):
        files.append(folder / "reconstruction.ply")
        vertices = signal.to_file_units(surface[0])
        trimesh.Trimesh(vertices, surface[1], process=False).export(files[-1])
    meshes = {"ground truth": (signal.vertices, signal.faces), "reconstruction": surface}
    files.append(plot_mesh_comparison(meshes, folder / "reconstruction.png", title=signal.name))
    if parts:
        coords = signal.coords.numpy()
        marks = {part: coords[idx.cpu().numpy()] for part, idx in parts.items()}
        files.append(plot_selected_points(marks, folder / "selection.png", title=signal.name))
    return files


#: modality -> the writer of its reconstruction and selection files
WRITERS: dict[str, Callable[..., list[Path]]] = {
    "image": image_artifacts,
    "audio": audio_artifacts,
    "sdf": mesh_artifacts,
}
