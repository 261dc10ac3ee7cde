import math

import numpy as np
import pytest

from nint.metrics.missing import Missing
from nint.metrics.shape import (
    chamfer_distance,
    face_areas,
    grid_axis,
    iou,
    sample_surface,
    zero_surface,
)


def ball(resolution, centre, radius):
    """(R, R, R) occupancy of a ball on the evaluation grid over [-0.5, 0.5]^3."""
    axis = grid_axis(resolution)
    x, y, z = np.meshgrid(axis, axis, axis, indexing="ij")
    return (x - centre[0]) ** 2 + (y - centre[1]) ** 2 + (z - centre[2]) ** 2 < radius**2


def sphere_points(count, radius, seed=0):
    v = np.random.default_rng(seed).normal(size=(count, 3))
    return radius * v / np.linalg.norm(v, axis=1, keepdims=True)


def test_iou_of_a_shape_with_itself_is_one():
    occ = ball(48, (0.0, 0.0, 0.0), 0.3)
    assert iou(occ, occ) == 1.0
    assert iou(occ, ~occ) == 0.0


@pytest.mark.parametrize("shift", [0.05, 0.1, 0.2])
def test_iou_of_shifted_spheres_matches_the_lens_volume(shift):
    # two balls of radius r at distance d overlap in a lens of volume pi (4r + d)(2r - d)^2 / 12
    r = 0.25
    a = ball(128, (0.0, 0.0, 0.0), r)
    b = ball(128, (shift, 0.0, 0.0), r)
    lens = math.pi * (4 * r + shift) * (2 * r - shift) ** 2 / 12
    sphere = 4 / 3 * math.pi * r**3
    expected = lens / (2 * sphere - lens)
    assert iou(a, b) == pytest.approx(expected, abs=0.01)


def test_iou_of_shifted_boxes_is_exact_on_the_grid():
    # boxes of 40 grid cells along x shifted by 10 cells: IoU = (40 - 10) / (40 + 10) = 0.6
    occ = np.zeros((64, 8, 8), dtype=bool)
    shifted = occ.copy()
    occ[10:50], shifted[20:60] = True, True
    assert iou(occ, shifted) == pytest.approx(0.6)


def test_iou_missing_when_both_empty_and_shape_checked():
    empty = np.zeros((4, 4, 4), dtype=bool)
    assert isinstance(iou(empty, empty), Missing)
    with pytest.raises(ValueError, match="shape"):
        iou(empty, np.zeros((4, 4, 5), dtype=bool))


def test_chamfer_of_a_surface_with_itself_is_about_zero():
    a = sphere_points(5000, 0.3, seed=1)
    assert chamfer_distance(a, a) == 0.0
    # another sample of the same surface: only the sampling gap remains (spacing ~ 0.015)
    b = sphere_points(5000, 0.3, seed=2)
    assert chamfer_distance(a, b) < 1e-4


@pytest.mark.parametrize("offset", [0.01, 0.03, 0.1])
def test_chamfer_grows_as_the_square_of_a_known_offset(offset):
    # concentric spheres sampled along the same directions: each point's nearest neighbour on
    # the other sphere is its own radial copy (smallest angle), at exactly `offset`
    a = sphere_points(3000, 0.3)
    b = a * (0.3 + offset) / 0.3
    assert chamfer_distance(a, b) == pytest.approx(offset**2, rel=1e-6)


def test_chamfer_is_the_mean_of_both_directions():
    a = np.array([[0.0, 0.0, 0.0]])
    b = np.array([[1.0, 0.0, 0.0], [3.0, 0.0, 0.0]])
    # a -> b: 1; b -> a: (1 + 9) / 2 = 5; mean of the two directions: 3
    assert chamfer_distance(a, b) == pytest.approx(3.0)


def test_surface_samples_are_area_weighted_and_on_the_surface():
    # a right triangle of area 2 and one of area 0.5, far apart
    vertices = np.array([[0, 0, 0], [2, 0, 0], [0, 2, 0], [5, 5, 5], [6, 5, 5], [5, 6, 5]], float)
    faces = np.array([[0, 1, 2], [3, 4, 5]])
    np.testing.assert_allclose(face_areas(vertices, faces), [2.0, 0.5])
    points = sample_surface(vertices, faces, 20000, np.random.default_rng(0))
    first = points[:, 2] == 0.0
    assert first.mean() == pytest.approx(0.8, abs=0.015)
    p = points[first]
    assert np.all(p[:, 0] >= 0) and np.all(p[:, 1] >= 0) and np.all(p[:, 0] + p[:, 1] <= 2 + 1e-12)
    # uniform inside the triangle: the mean is its centroid
    np.testing.assert_allclose(p[:, :2].mean(axis=0), [2 / 3, 2 / 3], atol=0.02)
    q = points[~first]
    assert np.all(q[:, 2] == 5.0) and np.all(q[:, 0] + q[:, 1] <= 11 + 1e-12)


def test_zero_surface_of_a_sphere_and_of_a_field_without_crossing():
    axis = grid_axis(40)
    x, y, z = np.meshgrid(axis, axis, axis, indexing="ij")
    field = np.sqrt(x**2 + y**2 + z**2) - 0.3
    vertices, faces = zero_surface(field)
    assert faces.shape[1] == 3 and len(faces) > 100
    np.testing.assert_allclose(np.linalg.norm(vertices, axis=1), 0.3, atol=2e-3)
    missing = zero_surface(field + 1.0)
    assert isinstance(missing, Missing) and "does not cross zero" in missing.reason
    assert isinstance(zero_surface(field * np.nan), Missing)
