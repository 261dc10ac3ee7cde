"""Figures of 3D shapes: meshes side by side from one viewpoint, and selected training points."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..metrics.missing import Missing
from .plotting import drawable, new_figure, part_colour, part_label

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: one viewpoint for every panel (degrees); y is up in the Stanford scans
ELEVATION, AZIMUTH = 20.0, 120.0
#: faces drawn per panel at most: matplotlib's painter's algorithm slows down beyond this
MAX_FACES = 400_000


def _shaded_faces(vertices: np.ndarray, faces: np.ndarray, rng: np.random.Generator):
    """(F', 3, 3) triangles (y up -> matplotlib's z up) and (F', 3) Lambert-shaded colours."""
    if len(faces) > MAX_FACES:  # uniform subset: denser meshes look the same at figure size
        faces = faces[rng.choice(len(faces), MAX_FACES, replace=False)]
    # file (x, y, z) with y up is drawn as matplotlib (x, z, y) with its z axis up
    tri = vertices[faces][:, :, [0, 2, 1]]
    normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-12)
    light = np.array([0.3, -0.6, 0.75])
    light /= np.linalg.norm(light)
    # abs(): scans and marching cubes do not agree on orientation; two-sided lighting
    shade = 0.25 + 0.75 * np.abs(normal @ light)
    colour = np.array([0.72, 0.74, 0.80])[None, :] * shade[:, None]
    return tri, np.clip(colour, 0.0, 1.0)


def plot_mesh_comparison(
    meshes: dict[str, tuple[np.ndarray, np.ndarray] | Missing],
    path: Path,
    title: str = "",
) -> Path:
    """One panel per mesh ((V, 3) vertices in [-0.5, 0.5]^3, (F, 3) faces), all from the same
    viewpoint and with the same axes; a Missing mesh shows its reason instead."""
    fig = new_figure(figsize=(4.5 * len(meshes), 4.8))
    from mpl_toolkits.mplot3d.art3d import Poly3DCollection  # after new_figure: it loads matplotlib

    rng = np.random.default_rng(0)
    for i, (label, mesh) in enumerate(meshes.items()):
        ax = fig.add_subplot(1, len(meshes), i + 1, projection="3d")
        if isinstance(mesh, Missing):
            ax.text2D(0.5, 0.5, f"no surface:\n{mesh.reason}", ha="center", va="center", wrap=True)
        else:
            tri, colour = _shaded_faces(*mesh, rng)
            ax.add_collection3d(Poly3DCollection(tri, facecolors=colour, linewidths=0))
        ax.set_xlim(-0.5, 0.5), ax.set_ylim(-0.5, 0.5), ax.set_zlim(-0.5, 0.5)
        ax.set_box_aspect((1, 1, 1))
        ax.view_init(elev=ELEVATION, azim=AZIMUTH)
        ax.set_axis_off()
        ax.set_title(drawable(label))
    if title:
        fig.suptitle(drawable(title))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def plot_selected_points(
    marks: dict[str, np.ndarray], path: Path, title: str = "", per_part: int = 4000
) -> Path:
    """``selected_points_figure`` saved as ``path`` (PNG)."""
    selected_points_figure(marks, title, per_part).savefig(path, dpi=110)
    return path


def selected_points_figure(
    marks: dict[str, np.ndarray], title: str = "", per_part: int = 4000
) -> Figure:
    """A 3D scatter of (n, 3) chosen points per part (at most ``per_part`` each, drawn evenly)
    in their part's colour (``plotting.PARTS``); the legend below the axes names each part with
    its count (all of its points, also those not drawn)."""
    fig = new_figure(figsize=(5.5, 6.2), layout="constrained")
    ax = fig.add_subplot(1, 1, 1, projection="3d")
    dots = []
    for part, points in marks.items():
        step = max(1, len(points) // per_part)
        shown = points[::step]
        dots.append(
            ax.scatter(shown[:, 0], shown[:, 2], shown[:, 1], s=1.5, color=part_colour(part))
        )
    ax.set_xlim(-0.5, 0.5), ax.set_ylim(-0.5, 0.5), ax.set_zlim(-0.5, 0.5)
    ax.set_box_aspect((1, 1, 1))
    ax.view_init(elev=ELEVATION, azim=AZIMUTH)
    # below the axes, where no point is: a 3D view has no free corner to put it in
    fig.legend(
        dots,
        [part_label(part, len(points)) for part, points in marks.items()],
        loc="outside lower center",
        ncols=2,
        markerscale=6,
        fontsize=8,
        title="last selection (points of one iteration)",
        title_fontsize=8,
    )
    ax.set_title(drawable(title) if title else "selection")
    return fig
