"""3D shapes: a triangle mesh as a signed distance field (the paper's section 7).

Frame. The mesh's bounding box is centred and scaled so that its longest side spans
[-0.45, 0.45]; the field is fitted and evaluated on the domain [-0.5, 0.5]^3 (BACON's layout, also
used by INT). ``describe()`` records the centre and scale: a file point p sits at
(p - centre) * scale.

Training points (BACON-style). Points are drawn area-weighted on the surface; half are moved by
Laplace noise of *scale* 0.1 per axis ("coarse"), half by Laplace noise of scale 0.001 ("fine").
The paper calls these "variance 0.1 / 0.001", but BACON's code, which the paper follows, uses the
numbers as the Laplace scale b (variance 2 b^2); nint does the same. Perturbed points are not
clipped to the domain: the field is defined everywhere. Targets are exact signed distances
(negative inside, see ``nint.signals.mesh``).

Fresh points. The paper draws a fresh set of 50,000 points every iteration. Exact targets for a set
cost ~0.5 s on the full bunny (more than a training step on a CPU), so by default nint computes
them once for a *pool* of ``pool_size`` points (1,000,000: half coarse, half fine), off the
training clock, and every iteration draws its set from the pool without replacement (half from
each half, ~10 ms, charged to the "data" part of the training clock). ``pool_size=0`` computes a
new set with exact targets every iteration instead, charged to the same part. See
docs/deviations.md.

Evaluation. The field is predicted on an R^3 grid over [-0.5, 0.5]^3 (ends included), one z-slab at
a time so that no (R^3, 3) coordinate tensor is ever built.

- IoU: occupancy ``field < 0`` against the mesh's occupancy (winding number > 1/2) on the same
  grid, computed once when the signal is built.
- Chamfer: ``chamfer_points`` points sampled area-weighted on the marching-cubes surface of the
  field and as many on the mesh, bidirectional mean of squared distances
  (``nint.metrics.shape.chamfer_distance``), in the normalised frame. A field with no zero
  crossing has no surface: Chamfer is then missing, with the reason.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..checks import check_memory
from ..errors import NintError
from ..metrics.missing import Missing
from ..metrics.shape import chamfer_distance, grid_axis, iou, sample_surface, zero_surface
from ..models import predict
from ..options import Option
from .base import Metric, Signal
from .mesh import HALF_EXTENT, normalise, read_mesh, signed_distance, winding_sign

COARSE_SCALE = 0.1
FINE_SCALE = 0.001
DEFAULT_POINTS_PER_ITERATION = 50_000
DEFAULT_POOL_SIZE = 1_000_000
DEFAULT_GRID_RESOLUTION = 128
DEFAULT_CHAMFER_POINTS = 100_000
SIGN_METHOD = (
    "generalised winding number > 1/2 (libigl fast winding number, recomputed exactly within "
    "0.1 of the threshold)"
)
# Fixed seeds of the evaluation samples: every evaluation of every run compares against the same
# points, so Chamfer differences between strategies are not sampling noise of the reference.
_TRUTH_SAMPLES_SEED = 7_331
_RECON_SAMPLES_SEED = 7_332
# Bytes held per grid point: the mesh's occupancy (1), the predicted field (4), its inside mask
# (1) and marching cubes' working arrays (about 2).
_GRID_POINT_BYTES = 8
# Bytes per point at the peak of drawing points and their targets: float64 samples, face draws
# and the (P, 3, 3) triangle gather (~130), noise, distances and winding numbers (~40), libigl's
# copies (~24); the same order bounds a Chamfer sample and its k-d tree.
_POINT_BYTES = 200


def check_sdf_memory(
    points_per_iteration: int, pool_size: int, grid_resolution: int, chamfer_points: int
) -> None:
    """NintError, before anything is allocated, when a mesh's arrays cannot fit in memory; the
    message names the setting that asks for the most."""
    parts = {
        f"--grid-resolution {grid_resolution}": grid_resolution**3 * _GRID_POINT_BYTES,
        f"--pool-size {pool_size}": pool_size * _POINT_BYTES,
        f"--points-per-iteration {points_per_iteration}": points_per_iteration * _POINT_BYTES,
        f"--chamfer-points {chamfer_points}": 2 * chamfer_points * _POINT_BYTES,  # two surfaces
    }
    largest = max(parts, key=lambda k: parts[k])
    check_memory(sum(parts.values()), f"{largest} (with the other mesh settings)")


def perturbed_surface_points(
    vertices: np.ndarray,
    faces: np.ndarray,
    count: int,
    rng: np.random.Generator,
    coarse_scale: float = COARSE_SCALE,
    fine_scale: float = FINE_SCALE,
) -> np.ndarray:
    """(count, 3) float64 training points: area-weighted surface samples, the first count // 2
    moved by Laplace(0, coarse_scale) noise per axis, the rest by Laplace(0, fine_scale)."""
    points = sample_surface(vertices, faces, count, rng)
    n_coarse = count // 2
    points[:n_coarse] += rng.laplace(0.0, coarse_scale, (n_coarse, 3))
    points[n_coarse:] += rng.laplace(0.0, fine_scale, (count - n_coarse, 3))
    return points


def grid_slabs(resolution: int, rows: int) -> Iterator[tuple[int, torch.Tensor]]:
    """Yield (first flat index, (n, 3) float32 coordinates) of the R^3 evaluation grid in order,
    about ``rows`` points at a time (whole x-slabs of R^2 points, at least one).

    Point (i, j, k) = (x_i, y_j, z_k), x_i = grid_axis(R)[i], is flat index (i R + j) R + k, the
    C order of an (R, R, R) array, which is what marching cubes reads.
    """
    axis = torch.from_numpy(grid_axis(resolution)).float()
    yy, zz = torch.meshgrid(axis, axis, indexing="ij")
    plane = torch.stack([yy.reshape(-1), zz.reshape(-1)], dim=1)  # (R^2, 2)
    per_slab = resolution * resolution
    slabs = max(1, rows // per_slab)
    for i0 in range(0, resolution, slabs):
        i1 = min(resolution, i0 + slabs)
        xs = axis[i0:i1].repeat_interleave(per_slab)[:, None]
        yield i0 * per_slab, torch.cat([xs, plane.repeat(i1 - i0, 1)], dim=1)


def grid_field(
    model: nn.Module, resolution: int, chunk: int | None, device: torch.device
) -> torch.Tensor:
    """(R^3, 1) float32 field of ``model`` on the CPU over the R^3 grid of ``grid_slabs``,
    predicted one x-slab at a time (coordinates of at most ~256k points, or one slab, exist at
    once; the result is 4 R^3 bytes)."""
    field = torch.empty(resolution**3, 1)
    for first, coords in grid_slabs(resolution, max(chunk or 0, 1 << 18)):
        pred = predict(model, coords.to(device), chunk)
        field[first : first + len(coords)] = pred.float().cpu()
    return field


class SdfSignal(Signal):
    """A mesh as a signed distance field.

    Attributes:
        coords: (n, 3) float32, the current training set (the last draw), n = points_per_iteration.
        values: (n, 1) float32 signed distances of ``coords`` (negative inside).
        vertices: (V, 3) float64 normalised vertices; faces: (F, 3) int64.
        occupancy: (R, R, R) bool, the mesh's inside on the evaluation grid.

    Args:
        vertices, faces: the mesh in file units (see ``nint.signals.mesh.read_mesh``).
        name: a label (the file stem).
        points_per_iteration: n, the size of each iteration's set (50,000).
        pool_size: points with precomputed targets (1,000,000); 0: exact targets every iteration.
        grid_resolution: R of the evaluation grid (128; the paper's protocol uses a finer one).
        chamfer_points: points sampled on each surface for Chamfer (100,000).
        seed: seeds the pool (the per-iteration draws use the fit's generator).
    """

    modality = "sdf"
    metrics = (
        Metric("iou", "IoU", ".4f", thresholds=(0.9, 0.95, 0.98)),
        Metric("chamfer", "Chamfer", ".3e", lower_is_better=True, thresholds=(1e-4, 1e-5)),
    )
    # SIREN's default, kept by measurement: on the full bunny (Unif., 10k points per iteration,
    # 300 iterations, 64^3 grid) first-layer omega_0 15 / 30 / 60 reached IoU 0.957 / 0.980 /
    # 0.978 (0.950 / 0.970 / 0.953 at iteration 100).
    default_first_omega_0 = 30.0
    fresh_points = True
    default_ratio = 0.4  # the paper's B = 40 % of each fresh set
    default_eval_at = (500, 1000, 2000, 5000, 10000)  # the paper's Table 7 columns

    def __init__(
        self,
        vertices: np.ndarray,
        faces: np.ndarray,
        name: str = "mesh",
        points_per_iteration: int = DEFAULT_POINTS_PER_ITERATION,
        pool_size: int = DEFAULT_POOL_SIZE,
        grid_resolution: int = DEFAULT_GRID_RESOLUTION,
        chamfer_points: int = DEFAULT_CHAMFER_POINTS,
        seed: int = 0,
    ) -> None:
        if points_per_iteration < 2:
            raise NintError(
                f"--points-per-iteration must be at least 2, got {points_per_iteration}"
            )
        if pool_size != 0 and pool_size < points_per_iteration:
            raise NintError(
                f"--pool-size must be 0 (fresh targets every iteration) or at least "
                f"--points-per-iteration ({points_per_iteration}), got {pool_size}"
            )
        if grid_resolution < 8:
            raise NintError(f"--grid-resolution must be at least 8, got {grid_resolution}")
        if chamfer_points < 1:
            raise NintError(f"--chamfer-points must be at least 1, got {chamfer_points}")
        check_sdf_memory(points_per_iteration, pool_size, grid_resolution, chamfer_points)
        self.vertices, self.centre, self.scale = normalise(vertices, faces)
        self.faces = np.asarray(faces, dtype=np.int64)
        self.points_per_iteration = int(points_per_iteration)
        self.pool_size = int(pool_size)
        self.grid_resolution = int(grid_resolution)
        self.chamfer_points = int(chamfer_points)
        self.seed = int(seed)

        start = time.perf_counter()
        self.occupancy = self._grid_occupancy()
        self.occupancy_seconds = time.perf_counter() - start
        if not self.occupancy.any():
            raise NintError(
                f"{name} encloses no volume on the {grid_resolution}^3 grid (winding number "
                "never exceeds 1/2): an open sheet or a mesh thinner than a grid cell"
            )
        rng = np.random.default_rng(_TRUTH_SAMPLES_SEED)
        self.truth_points = sample_surface(self.vertices, self.faces, self.chamfer_points, rng)
        start = time.perf_counter()
        self._pool: tuple[torch.Tensor, torch.Tensor] | None = None
        if self.pool_size:
            rng = np.random.default_rng(self.seed)
            points = perturbed_surface_points(self.vertices, self.faces, self.pool_size, rng)
            distances = signed_distance(points, self.vertices, self.faces)
            self._pool = (
                torch.from_numpy(points.astype(np.float32)),
                torch.from_numpy(distances.astype(np.float32))[:, None],
            )
        self.pool_seconds = time.perf_counter() - start
        coords, values = self.draw_training_set(torch.Generator().manual_seed(self.seed))
        super().__init__(coords, values, name)

    # ---- training points -------------------------------------------------------------------

    def draw_training_set(self, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """A new training set: ((n, 3) float32 coords, (n, 1) float32 signed distances), the
        first n // 2 coarse and the rest fine. It also becomes ``self.coords`` / ``self.values``.
        """
        n = self.points_per_iteration
        n_coarse = n // 2
        if self._pool is not None:
            pool_coords, pool_values = self._pool
            half = self.pool_size // 2  # the pool's coarse points come first, as in a draw
            coarse = torch.randperm(half, generator=generator)[:n_coarse]
            fine = half + torch.randperm(self.pool_size - half, generator=generator)[: n - n_coarse]
            idx = torch.cat([coarse, fine])
            coords, values = pool_coords[idx], pool_values[idx]
        else:
            seed = int(torch.randint(0, 2**62, (1,), generator=generator))
            points = perturbed_surface_points(
                self.vertices, self.faces, n, np.random.default_rng(seed)
            )
            distances = signed_distance(points, self.vertices, self.faces)
            coords = torch.from_numpy(points.astype(np.float32))
            values = torch.from_numpy(distances.astype(np.float32))[:, None]
        self.coords, self.values = coords, values
        return coords, values

    # ---- evaluation ----------------------------------------------------------------------------

    def _grid_occupancy(self) -> np.ndarray:
        """(R, R, R) bool: the mesh's inside at the grid points, computed slab by slab."""
        r = self.grid_resolution
        inside = np.empty(r**3, dtype=bool)
        for first, coords in grid_slabs(r, 1 << 18):
            inside[first : first + len(coords)] = winding_sign(
                coords.numpy(), self.vertices, self.faces
            )
        return inside.reshape(r, r, r)

    @property
    def eval_coords(self) -> torch.Tensor:
        """(R^3, 3) float32 grid coordinates, materialised (12 R^3 bytes: 1.6 GB at R = 512);
        the trainer uses ``predict_for_eval``, which never builds this tensor."""
        return torch.cat([c for _, c in grid_slabs(self.grid_resolution, 1 << 18)])

    def predict_for_eval(
        self, model: nn.Module, chunk: int | None, device: torch.device
    ) -> torch.Tensor:
        """(R^3, 1) float32 field on the CPU over the evaluation grid (``grid_field``)."""
        return grid_field(model, self.grid_resolution, chunk, device)

    def as_field(self, prediction: torch.Tensor) -> np.ndarray:
        """(R^3, 1) prediction -> (R, R, R) float32 array indexed (x, y, z)."""
        r = self.grid_resolution
        return prediction.detach().float().cpu().numpy().reshape(r, r, r)

    def reconstruction(self, prediction: torch.Tensor) -> tuple[np.ndarray, np.ndarray] | Missing:
        """Marching-cubes surface of the field: ((V, 3) normalised vertices, (F, 3) faces), or
        Missing when the field never crosses zero."""
        return zero_surface(self.as_field(prediction))

    def evaluate(self, prediction: torch.Tensor) -> dict[str, float | None]:
        field = self.as_field(prediction)
        metrics: dict[str, float | None] = {}
        self.missing = {}
        self._record(metrics, "iou", iou(field < 0.0, self.occupancy))
        surface = zero_surface(field)
        if isinstance(surface, Missing):
            self._record(metrics, "chamfer", surface)
        else:
            rng = np.random.default_rng(_RECON_SAMPLES_SEED)
            points = sample_surface(*surface, self.chamfer_points, rng)
            self._record(metrics, "chamfer", chamfer_distance(points, self.truth_points))
        return metrics

    def notes(self) -> list[str]:
        r = self.grid_resolution
        unit = 1.0 / self.scale**2
        pool = (
            f"training targets: a pool of {self.pool_size} exact signed distances computed once "
            f"in {self.pool_seconds:.1f} s off the training clock; each iteration draws "
            f"{self.points_per_iteration} of them (the 'data' part of the clock)"
            if self.pool_size
            else f"training targets: {self.points_per_iteration} fresh points with exact signed "
            "distances every iteration, charged to the 'data' part of the clock"
        )
        return [
            f"IoU: occupancy (field < 0) on a {r}^3 grid over [-0.5, 0.5]^3 against the mesh's "
            f"(winding number > 1/2), computed in {self.occupancy_seconds:.1f} s",
            f"Chamfer: bidirectional mean of squared distances between {self.chamfer_points} "
            f"points on the marching-cubes surface ({r}^3 grid) and {self.chamfer_points} on the "
            f"mesh, in the normalised frame (longest side 0.9); multiply by {unit:.4g} for "
            "squared file units",
            pool,
        ]

    # ---- files ---------------------------------------------------------------------------------

    def to_file_units(self, vertices: np.ndarray) -> np.ndarray:
        """(V, 3) normalised vertices -> the input file's frame."""
        return vertices / self.scale + self.centre

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "vertices": len(self.vertices),
            "faces": len(self.faces),
            "normalisation": {
                "centre": self.centre.tolist(),
                "scale": self.scale,
                "half_extent": HALF_EXTENT,
                "domain": [-0.5, 0.5],
                "rule": "file point p -> (p - centre) * scale; longest bounding-box side 0.9",
            },
            "sign": "negative inside; " + SIGN_METHOD,
            "noise": {"kind": "laplace scale", "coarse": COARSE_SCALE, "fine": FINE_SCALE},
            "points_per_iteration": self.points_per_iteration,
            "pool_size": self.pool_size,
            "pool_seconds": self.pool_seconds,
            "pool_seed": self.seed,
            "grid_resolution": self.grid_resolution,
            "occupancy_seconds": self.occupancy_seconds,
            "chamfer_points": self.chamfer_points,
        }


#: ``load_mesh``'s options, as the command line offers them
MESH_OPTIONS = (
    Option("points_per_iteration", "training points drawn each iteration (50000)", int),
    Option(
        "pool_size",
        "points whose exact signed distances are computed once, before training, and drawn "
        "from each iteration (1000000); 0: exact targets for fresh points every iteration",
        int,
    ),
    Option("grid_resolution", "R of the R^3 IoU/marching-cubes grid (128)", int),
    Option("chamfer_points", "points sampled per surface (100000)", int),
)


def load_mesh(
    path: str | Path,
    points_per_iteration: int | None = None,
    pool_size: int | None = None,
    grid_resolution: int | None = None,
    chamfer_points: int | None = None,
) -> SdfSignal:
    """Read a PLY, OBJ, OFF or STL triangle mesh as a signed distance field (see SdfSignal).

    Raises:
        NintError: a missing or unreadable file, no faces, a degenerate mesh, bad options.
    """
    vertices, faces = read_mesh(path)
    options = {
        "points_per_iteration": points_per_iteration,
        "pool_size": pool_size,
        "grid_resolution": grid_resolution,
        "chamfer_points": chamfer_points,
    }
    return SdfSignal(
        vertices, faces, name=Path(path).stem, **{k: v for k, v in options.items() if v is not None}
    )
