"""Shape metrics and the geometry they need: IoU of occupancies, Chamfer distance, area-weighted
surface samples and the zero level set of a sampled field.

All functions are pure numpy. Coordinates are in whatever frame the caller uses; nint passes the
normalised frame of ``nint.signals.sdf`` (the shape inside [-0.45, 0.45]^3, longest side 0.9).
"""

from __future__ import annotations

import numpy as np

from .missing import Missing


def iou(pred: np.ndarray, truth: np.ndarray) -> float | Missing:
    """Intersection over union of two occupancies.

    Args:
        pred, truth: boolean arrays of the same shape (e.g. (R, R, R) or (R^3,)), True = inside.

    Returns:
        |pred and truth| / |pred or truth| in [0, 1]; Missing when both are empty.
    """
    pred, truth = np.asarray(pred, dtype=bool), np.asarray(truth, dtype=bool)
    if pred.shape != truth.shape:
        raise ValueError(f"occupancies differ in shape: {pred.shape} vs {truth.shape}")
    union = int(np.count_nonzero(pred | truth))
    if union == 0:
        return Missing("both occupancies are empty (IoU is 0/0)")
    return int(np.count_nonzero(pred & truth)) / union


def chamfer_distance(a: np.ndarray, b: np.ndarray, workers: int = -1) -> float:
    """Bidirectional mean of squared nearest-neighbour distances between two point sets.

    CD(A, B) = 1/2 (mean_{a in A} min_{b in B} |a - b|^2 + mean_{b in B} min_{a in A} |a - b|^2).
    With |A| = |B| it is the mean over all 2|A| squared distances. (Some papers report the sum of
    the two means, i.e. twice this value.)

    Args:
        a: (M, 3) float points; b: (K, 3) float points; M, K >= 1.
        workers: threads of the k-d tree queries (-1: all).
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if len(a) == 0 or len(b) == 0:
        raise ValueError("Chamfer distance needs two non-empty point sets")
    from scipy.spatial import cKDTree  # here: only meshes need it, and scipy is slow to import

    d_ab = cKDTree(b).query(a, workers=workers)[0]
    d_ba = cKDTree(a).query(b, workers=workers)[0]
    return 0.5 * (float(np.mean(d_ab**2)) + float(np.mean(d_ba**2)))


def face_areas(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(F,) float64 triangle areas of a mesh with (V, 3) vertices and (F, 3) int faces."""
    v = np.asarray(vertices, dtype=np.float64)
    tri = v[np.asarray(faces)]
    return 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)


def sample_surface(
    vertices: np.ndarray, faces: np.ndarray, count: int, rng: np.random.Generator
) -> np.ndarray:
    """(count, 3) float64 points uniform on the surface (faces drawn by area, then uniform
    barycentric coordinates inside the face).

    Args:
        vertices: (V, 3) float; faces: (F, 3) int with positive total area.
        count: the number of points; rng: the source of randomness.
    """
    areas = face_areas(vertices, faces)
    total = areas.sum()
    if not total > 0:
        raise ValueError("cannot sample a surface of zero area")
    face = rng.choice(len(areas), size=count, p=areas / total)
    u, v = rng.random(count), rng.random(count)
    # fold the unit square onto the triangle: (u, v) with u + v > 1 maps to (1 - u, 1 - v)
    flip = u + v > 1.0
    u[flip], v[flip] = 1.0 - u[flip], 1.0 - v[flip]
    tri = np.asarray(vertices, dtype=np.float64)[np.asarray(faces)[face]]
    return tri[:, 0] + u[:, None] * (tri[:, 1] - tri[:, 0]) + v[:, None] * (tri[:, 2] - tri[:, 0])


def grid_axis(resolution: int, low: float = -0.5, high: float = 0.5) -> np.ndarray:
    """(R,) float64 sample positions along one axis of the evaluation grid, ends included."""
    return np.linspace(low, high, resolution)


def zero_surface(
    field: np.ndarray, low: float = -0.5, high: float = 0.5
) -> tuple[np.ndarray, np.ndarray] | Missing:
    """The zero level set of a field sampled on the grid ``grid_axis(R, low, high)^3``.

    Args:
        field: (R, R, R) float values at grid point (i, j, k) = (x_i, y_j, z_k).

    Returns:
        (vertices (V, 3) float64 in the grid's frame, faces (F, 3) int64) from marching cubes
        (scikit-image, Lewiner), or Missing when the field does not cross zero or is not finite.
    """
    from skimage.measure import marching_cubes

    field = np.asarray(field, dtype=np.float32)
    if not np.all(np.isfinite(field)):
        return Missing("the field has non-finite values")
    if not (field.min() < 0.0 < field.max()):
        return Missing("the field does not cross zero: no surface to compare")
    spacing = (high - low) / (field.shape[0] - 1)
    verts, faces, _, _ = marching_cubes(field, level=0.0, spacing=(spacing,) * 3)
    return verts.astype(np.float64) + low, faces.astype(np.int64)
