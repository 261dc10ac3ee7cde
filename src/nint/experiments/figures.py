"""The figure of each experiment, drawn from the runs' reconstruction files.

- audio (the paper's Figure 6): mel spectrogram and waveform of the ground truth and of every row's
  reconstruction of the first utterance, side by side.
- images (Figures 8-10): for up to three images, the ground truth and every row's reconstruction,
  cropped to the central quarter so that detail is visible at print size.
- shapes (Figure 7): the first mesh and every row's marching-cubes reconstruction, rendered from
  the same viewpoint.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
from PIL import Image

from ..report.plotting import drawable, new_figure
from ..report.spectrogram import plot_audio_comparison
from ..signals import modality_of
from .runner import RunSpec, get_preset, load_run_signal


def draw(specs: list[RunSpec], path: Path) -> Path:
    """The experiment's figure for finished runs ``specs``, saved as ``path`` (PNG): the
    figure of the modality its data files are (``FIGURES``)."""
    return FIGURES[modality_of(specs[0].signal)](specs, path)


def _label(spec: RunSpec) -> str:
    for v in spec.experiment.variants:
        if v.key == spec.variant:
            return v.label + (" (step)" if v.underline else "")
    return spec.variant


def audio_figure(specs: list[RunSpec], path: Path) -> Path:
    first = specs[0].signal
    runs = [s for s in specs if s.signal == first]
    experiment = runs[0].experiment
    signal = load_run_signal(experiment, get_preset(experiment, runs[0].preset), first)
    panels = {"Ground truth": signal.samples}
    for spec in runs:
        audio, _ = sf.read(Path(spec.folder) / "reconstruction.wav", dtype="float32")
        panels[_label(spec)] = audio
    return plot_audio_comparison(panels, signal.rate, path, title=Path(first).stem)


def _centre_quarter(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    return image[h // 4 : h // 4 + h // 2, w // 4 : w // 4 + w // 2]


def image_figure(specs: list[RunSpec], path: Path, max_images: int = 3) -> Path:
    signals = list(dict.fromkeys(s.signal for s in specs))[:max_images]
    experiment = specs[0].experiment
    preset = get_preset(experiment, specs[0].preset)
    labels = [v.label for v in experiment.variants]
    fig = new_figure(figsize=(2.2 * (len(labels) + 1), 2.3 * len(signals)), dpi=110)
    axes = fig.subplots(len(signals), len(labels) + 1, squeeze=False)
    for row, data in enumerate(signals):
        signal = load_run_signal(experiment, preset, data)
        truth = getattr(signal, "high", signal.raster)  # super-resolution: the full-size original
        panels = [("Ground truth", truth)]
        for spec in (s for s in specs if s.signal == data):
            image = np.asarray(Image.open(Path(spec.folder) / "reconstruction.png"), np.float32)
            panels.append((_label(spec), image / 255.0))
        for col, (label, image) in enumerate(panels):
            ax = axes[row, col]
            crop = _centre_quarter(image)
            ax.imshow(crop if crop.ndim == 2 or crop.shape[2] == 3 else crop[:, :, 0], cmap="gray")
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(drawable(label), fontsize=9)
            if col == 0:
                ax.set_ylabel(drawable(Path(data).stem), fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    return Path(path)


def shape_figure(specs: list[RunSpec], path: Path) -> Path:
    from ..metrics.missing import Missing
    from ..report.mesh_figure import plot_mesh_comparison
    from ..signals.mesh import normalise, read_mesh

    first = specs[0].signal
    vertices, faces = read_mesh(first)
    truth, centre, scale = normalise(vertices, faces)
    meshes: dict = {"Ground truth": (truth, faces)}
    for spec in (s for s in specs if s.signal == first):
        ply = Path(spec.folder) / "reconstruction.ply"
        if ply.exists():
            v, f = read_mesh(ply)
            meshes[_label(spec)] = ((v - centre) * scale, f)  # back into the fitted frame
        else:
            meshes[_label(spec)] = Missing("the field never crossed zero")
    return plot_mesh_comparison(meshes, Path(path), title=Path(first).stem)


#: modality -> the figure of an experiment over signals of that modality
FIGURES = {"audio": audio_figure, "image": image_figure, "sdf": shape_figure}
