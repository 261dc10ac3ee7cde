import json

import numpy as np
import pytest
import soundfile as sf
import torch
from conftest import SHARED
from PIL import Image

from nint import NintError, SdfSignal, fit, load_signal
from nint.cli import main
from nint.metrics.shape import grid_axis
from nint.models import predict
from nint.samplers import SAMPLERS, image_only
from nint.signals.mesh import normalise, read_mesh, signed_distance, winding_sign
from nint.signals.sdf import grid_slabs
from nint.train import PARTS

BUNNY = SHARED / "meshes/stanford/bunny/bun_zipper_res4.ply"
needs_bunny = pytest.mark.skipif(not BUNNY.exists(), reason="no shared Stanford bunny")
#: a signal small enough to build in well under a second
SMALL = {
    "points_per_iteration": 1000,
    "pool_size": 10000,
    "grid_resolution": 24,
    "chamfer_points": 2000,
}
TINY_NET = {"width": 32, "depth": 2}
CLI_TINY = ["--width", "32", "--depth", "2", "--quiet"]


def box_mesh(half=(0.5, 0.5, 0.5)):
    """A closed box [-hx, hx] x [-hy, hy] x [-hz, hz], 12 outward-facing triangles."""
    trimesh = pytest.importorskip("trimesh")
    box = trimesh.creation.box(extents=2 * np.asarray(half))
    return np.asarray(box.vertices, float), np.asarray(box.faces, np.int64)


def sphere_mesh(radius=1.0, subdivisions=4):
    trimesh = pytest.importorskip("trimesh")
    s = trimesh.creation.icosphere(subdivisions=subdivisions, radius=radius)
    return np.asarray(s.vertices, float), np.asarray(s.faces, np.int64)


def box_sdf(points, half):
    """Analytic signed distance to an axis-aligned box centred at 0 (negative inside)."""
    q = np.abs(points) - np.asarray(half)
    outside = np.linalg.norm(np.maximum(q, 0.0), axis=1)
    return outside + np.minimum(q.max(axis=1), 0.0)


def test_signed_distance_to_a_cube_is_exact():
    half = (0.3, 0.2, 0.4)
    vertices, faces = box_mesh(half)
    points = np.random.default_rng(0).uniform(-0.6, 0.6, (4000, 3))
    got = signed_distance(points, vertices, faces)
    np.testing.assert_allclose(got, box_sdf(points, half), atol=1e-9)
    assert (got < 0).any() and (got > 0).any()


def test_signed_distance_to_a_sphere():
    # an icosphere lies inside its sphere by at most the sagitta of its edges (~1e-3 r here)
    vertices, faces = sphere_mesh(radius=1.0, subdivisions=4)
    rng = np.random.default_rng(1)
    points = rng.uniform(-1.5, 1.5, (4000, 3))
    got = signed_distance(points, vertices, faces)
    expected = np.linalg.norm(points, axis=1) - 1.0
    np.testing.assert_allclose(got, expected, atol=2e-3)
    clear = np.abs(expected) > 2e-3
    assert np.array_equal(got[clear] < 0, expected[clear] < 0)


def test_normalise_fits_the_longest_side_into_0_45():
    vertices, faces = box_mesh((1.0, 2.0, 0.5))
    moved = vertices * 3 + np.array([10.0, -4.0, 2.0])
    normed, centre, scale = normalise(moved, faces)
    np.testing.assert_allclose(normed.max(axis=0), [0.225, 0.45, 0.1125])
    np.testing.assert_allclose(normed.min(axis=0), [-0.225, -0.45, -0.1125])
    np.testing.assert_allclose((moved - centre) * scale, normed)
    assert scale == pytest.approx(0.9 / 12.0)


def _hole_loops(vertices, faces):
    """Vertex index arrays of the boundary loops (edges used by a single face)."""
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

    edges = np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), axis=1)
    unique, count = np.unique(edges, axis=0, return_counts=True)
    boundary = unique[count == 1]
    n = len(vertices)
    graph = sp.coo_matrix((np.ones(len(boundary)), (boundary[:, 0], boundary[:, 1])), (n, n))
    _, label = connected_components(graph, directed=False)
    ends = np.unique(boundary)
    return [ends[label[ends] == k] for k in np.unique(label[ends])]


@needs_bunny
def test_bunny_sign_is_the_exact_winding_number_sign_around_its_holes():
    igl = pytest.importorskip("igl")
    vertices, faces = read_mesh(BUNNY)
    vertices, _, _ = normalise(vertices, faces)
    loops = _hole_loops(vertices, faces)
    assert len(loops) >= 3  # the scan is open at the bottom
    rng = np.random.default_rng(0)
    near_holes = [vertices[loop].mean(axis=0) + rng.normal(0, 0.03, (300, 3)) for loop in loops]
    points = np.concatenate([*near_holes, rng.uniform(-0.5, 0.5, (3000, 3))])
    exact = igl.winding_number(vertices, faces, points) > 0.5
    assert np.array_equal(winding_sign(points, vertices, faces), exact)
    assert np.array_equal(signed_distance(points, vertices, faces) < 0, exact)
    # a pseudo-normal sign is fooled by the holes: the points above do exercise them
    pseudo = igl.signed_distance(points, vertices, faces, igl.SIGNED_DISTANCE_TYPE_PSEUDONORMAL)
    assert (np.asarray(pseudo[0]) < 0).tolist() != exact.tolist()


@needs_bunny
def test_bunny_inside_above_its_flat_bottom_holes_and_outside_below():
    vertices, faces = read_mesh(BUNNY)
    vertices, _, _ = normalise(vertices, faces)
    flat = [
        loop
        for loop in _hole_loops(vertices, faces)
        if len(loop) >= 4 and np.ptp(vertices[loop, 1]) < 0.03
    ]
    assert flat
    for loop in flat:
        centre = vertices[loop].mean(axis=0)
        up = np.array([0.0, 0.03, 0.0])
        inside, outside = signed_distance(np.stack([centre + up, centre - up]), vertices, faces)
        assert inside < 0 < outside


def test_training_set_is_half_coarse_half_fine_and_fresh():
    vertices, faces = sphere_mesh(radius=0.7, subdivisions=3)
    sig = SdfSignal(vertices, faces, points_per_iteration=2000, pool_size=20000, grid_resolution=16)
    assert sig.coords.shape == (2000, 3) and sig.values.shape == (2000, 1)
    g = torch.Generator().manual_seed(3)
    coords, values = sig.draw_training_set(g)
    assert coords.shape == (2000, 3) and coords.dtype == torch.float32
    # the sphere is scaled to radius 0.45: |x| - 0.45 is its signed distance (up to facets)
    radius = coords.norm(dim=1, keepdim=True)
    np.testing.assert_allclose(values, radius - 0.45, atol=3e-3)
    coarse, fine = (radius[:1000] - 0.45).abs(), (radius[1000:] - 0.45).abs()
    assert coarse.median() > 0.05 and fine.median() < 0.005
    again, _ = sig.draw_training_set(g)
    assert not torch.equal(again, coords)
    # no duplicates within a draw, and a seed gives the same draw
    assert torch.unique(coords, dim=0).shape[0] == 2000
    same, _ = sig.draw_training_set(torch.Generator().manual_seed(3))
    assert torch.equal(same, coords)


def test_fresh_targets_without_a_pool_are_exact():
    vertices, faces = box_mesh((0.45, 0.45, 0.45))
    sig = SdfSignal(vertices, faces, points_per_iteration=500, pool_size=0, grid_resolution=16)
    coords, values = sig.draw_training_set(torch.Generator().manual_seed(0))
    expected = box_sdf(coords.double().numpy(), (0.45, 0.45, 0.45))
    np.testing.assert_allclose(values[:, 0].double().numpy(), expected, atol=1e-6)
    assert "fresh points" in sig.notes()[2]


def test_iou_of_the_mesh_with_itself_and_chamfer_of_its_exact_field():
    vertices, faces = sphere_mesh(radius=1.0, subdivisions=3)
    sig = SdfSignal(vertices, faces, **{**SMALL, "grid_resolution": 32, "chamfer_points": 20000})
    axis = grid_axis(32)
    grid = np.stack(np.meshgrid(axis, axis, axis, indexing="ij"), axis=-1).reshape(-1, 3)
    exact = signed_distance(grid, sig.vertices, sig.faces)
    metrics = sig.evaluate(torch.from_numpy(exact).float()[:, None])
    assert metrics["iou"] == 1.0
    # what remains is the gap between two samplings (spacing ~0.011) and marching cubes at 1/31
    assert metrics["chamfer"] < 6e-5
    grown = sig.evaluate(torch.from_numpy(exact - 0.05).float()[:, None])  # radius 0.45 -> 0.5
    assert grown["chamfer"] == pytest.approx(0.05**2, rel=0.05)
    assert grown["iou"] == pytest.approx((0.45 / 0.5) ** 3, abs=0.02)


def test_a_field_without_surface_makes_chamfer_missing():
    vertices, faces = sphere_mesh(radius=1.0, subdivisions=2)
    sig = SdfSignal(vertices, faces, **SMALL)
    metrics = sig.evaluate(torch.ones(24**3, 1))
    assert metrics["iou"] == 0.0
    assert metrics["chamfer"] is None and "does not cross zero" in sig.missing["chamfer"]


def test_grid_prediction_in_slabs_matches_one_pass():
    vertices, faces = sphere_mesh(radius=1.0, subdivisions=2)
    sig = SdfSignal(vertices, faces, **SMALL)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    whole = predict(model, sig.eval_coords)
    slabbed = sig.predict_for_eval(model, 1000, torch.device("cpu"))
    torch.testing.assert_close(slabbed, whole)
    # slabs are whole x-planes in C order: flat index (i R + j) R + k is (x_i, y_j, z_k)
    firsts = [first for first, _ in grid_slabs(24, 1000)]
    assert firsts == list(range(0, 24**3, 24 * 24))
    axis = torch.from_numpy(grid_axis(24)).float()
    assert torch.equal(sig.eval_coords[(3 * 24 + 5) * 24 + 7], axis[[3, 5, 7]])


def test_short_fit_raises_iou():
    vertices, faces = sphere_mesh(radius=1.0, subdivisions=3)
    sig = SdfSignal(vertices, faces, points_per_iteration=2000, pool_size=20000, grid_resolution=24)
    result = fit(sig, "nint", iterations=60, eval_at=(30,), lr=1e-3, width=64, depth=3)
    ious = [row["iou"] for row in result.history]
    assert [row["iteration"] for row in result.history] == [0, 30, 60]
    assert ious[-1] > 0.9 and ious[-1] > ious[0] + 0.3
    s = result.summary
    assert result.config["sampler"]["ratio"] == 0.4  # the signal's default B
    assert set(s["time_parts"]) == set(PARTS) and s["time_parts"]["data"] > 0
    assert result.prediction.shape == (24**3, 1)


@pytest.mark.parametrize("strategy", [s for s in SAMPLERS if s not in image_only()])
def test_every_sampler_and_scheduler_fits_a_mesh(strategy):
    vertices, faces = sphere_mesh(radius=1.0, subdivisions=2)
    sig = SdfSignal(vertices, faces, **SMALL)
    r = fit(
        sig, strategy, iterations=6, eval_every=3, scheduler="step", interval="dense2", **TINY_NET
    )
    assert [row["iteration"] for row in r.history] == [0, 3, 6]
    # the step scheduler has grown B from the signal's 0.4 by the last selection (t = 4 of 6)
    expected = 1000 if strategy == "standard" else 760
    assert r.history[-1]["batch_size"] == expected
    # EVOS's cached fitness is per point: it keeps one draw instead of fresh sets
    assert r.config["fresh_points"] is (strategy != "evos")
    assert (r.summary["time_parts"]["data"] == 0.0) is (strategy == "evos")


@pytest.mark.parametrize("strategy", image_only())
def test_image_only_strategies_refuse_a_mesh(strategy):
    vertices, faces = sphere_mesh(radius=1.0, subdivisions=1)
    with pytest.raises(NintError, match="needs an image"):
        fit(SdfSignal(vertices, faces, **SMALL), strategy, iterations=2, **TINY_NET)


def test_default_cadence_of_a_mesh_is_the_seed_checkpoints():
    vertices, faces = sphere_mesh(radius=1.0, subdivisions=2)
    sig = SdfSignal(vertices, faces, **SMALL)
    r = fit(sig, "uniform", iterations=3, **TINY_NET)
    assert r.config["eval_at"] == [500, 1000, 2000, 5000, 10000] and r.config["eval_every"] is None
    assert [row["iteration"] for row in r.history] == [0, 3]
    r = fit(sig, "uniform", iterations=4, eval_at=(2, 1), ratio=0.2, **TINY_NET)
    assert [row["iteration"] for row in r.history] == [0, 1, 2, 4]
    assert r.config["sampler"]["ratio"] == 0.2
    with pytest.raises(NintError, match="integers >= 1"):
        fit(sig, "uniform", iterations=4, eval_at=(0,), **TINY_NET)


def test_mesh_formats_are_read_alike(tmp_path):
    trimesh = pytest.importorskip("trimesh")
    vertices, faces = box_mesh((0.3, 0.2, 0.1))
    for suffix in (".ply", ".obj", ".off", ".stl"):
        path = tmp_path / f"box{suffix}"
        trimesh.Trimesh(vertices, faces, process=False).export(path)
        v, f = read_mesh(path)
        assert len(f) == 12, suffix
        np.testing.assert_allclose(
            np.sort(v[f].reshape(-1, 3), axis=0),
            np.sort(vertices[faces].reshape(-1, 3), axis=0),
            atol=1e-6,
        )
        sig = load_signal(path, **SMALL)
        assert isinstance(sig, SdfSignal) and sig.describe()["faces"] == 12


def write_bad(tmp_path, kind):
    path = tmp_path / {"text": "notes.ply", "nofaces": "points.ply", "objpoints": "points.obj",
                       "collinear": "line.off", "point": "point.obj", "flat": "sheet.obj",
                       "missing": "none.stl", "folder": "dir.ply"}[kind]  # fmt: skip
    header = "ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\n"
    contents = {
        "text": "this is not a mesh\n",
        "nofaces": header + "property float z\nend_header\n0 0 0\n1 0 0\n0 1 0\n",
        "objpoints": "v 0 0 0\nv 1 0 0\nv 0 1 0\n",
        "collinear": "OFF\n3 1 0\n0 0 0\n1 0 0\n2 0 0\n3 0 1 2\n",
        "point": "v 1 1 1\nv 1 1 1\nv 1 1 1\nf 1 2 3\n",
        "flat": "v 0 0 0\nv 1 0 0\nv 0 1 0\nv 1 1 0\nf 1 2 3\nf 2 4 3\n",
    }
    if kind == "folder":
        path.mkdir()
    elif kind in contents:
        path.write_text(contents[kind])
    return path


@pytest.mark.parametrize(
    "kind, message",
    [
        ("text", "cannot read"),
        ("nofaces", "no faces"),
        ("objpoints", "no faces"),
        ("collinear", "degenerate"),
        ("point", "degenerate"),
        ("flat", "encloses no volume"),
        ("missing", "no such file"),
        ("folder", "is a folder"),
    ],
)
def test_bad_meshes(tmp_path, kind, message):
    with pytest.raises(NintError, match=message):
        load_signal(
            write_bad(tmp_path, kind), grid_resolution=16, pool_size=2000, points_per_iteration=100
        )


@pytest.mark.parametrize(
    "options, message",
    [
        ({"points_per_iteration": 1}, "at least 2"),
        ({"pool_size": 50}, "--pool-size"),
        ({"grid_resolution": 4}, "at least 8"),
        ({"chamfer_points": 0}, "at least 1"),
    ],
)
def test_bad_mesh_options(options, message):
    vertices, faces = box_mesh()
    with pytest.raises(NintError, match=message):
        SdfSignal(vertices, faces, **{**SMALL, **options})


def test_cli_fits_a_mesh_end_to_end(tmp_path, capsys):
    trimesh = pytest.importorskip("trimesh")
    vertices, faces = sphere_mesh(radius=2.0, subdivisions=3)
    path = tmp_path / "ball.obj"
    trimesh.Trimesh(vertices + 5.0, faces, process=False).export(path)
    out = tmp_path / "run"
    argv = ["fit", str(path), "--strategy", "nint", "--iterations", "20", "--eval-at", "10",
            "--pool-size", "5000", "--points-per-iteration", "1000", "--grid-resolution", "20",
            "--chamfer-points", "2000", "--out", str(out), *CLI_TINY]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "IoU" in printed and "Chamfer" in printed and "bidirectional mean" in printed
    history = (out / "history.csv").read_text().splitlines()
    assert history[0].split(",")[:5] == ["iteration", "train_seconds", "loss", "iou", "chamfer"]
    assert [line.split(",")[0] for line in history[1:]] == ["0", "10", "20"]
    summary = json.loads((out / "summary.json").read_text())
    assert 0 <= summary["final"]["iou"] <= 1 and summary["final"]["chamfer"] > 0
    assert summary["time_parts"]["data"] > 0 and "iou>=0.9" in summary["reached"]
    assert list(summary["at_iterations"]) == ["10"]
    assert set(summary["at_iterations"]["10"]) >= {"iou", "chamfer", "train_seconds"}
    config = json.loads((out / "config.json").read_text())
    assert config["signal"]["pool_size"] == 5000 and config["sampler"]["ratio"] == 0.4
    assert config["signal"]["normalisation"]["scale"] == pytest.approx(0.9 / 4, rel=1e-3)
    # the reconstruction is written in the input's units: around (5, 5, 5), radius ~2
    recon = trimesh.load(out / "reconstruction.ply", process=False)
    assert len(recon.faces) > 0
    assert np.abs(recon.vertices.mean(axis=0) - 5.0).max() < 1.0
    assert (out / "reconstruction.png").exists() and (out / "selection.png").exists()


@pytest.mark.parametrize(
    "kind, extra, message",
    [
        ("nofaces", [], "no faces"),
        ("text", [], "cannot read"),
        ("collinear", [], "degenerate"),
        ("flat", [], "encloses no volume"),
        ("ball", ["--size", "32"], "--size does not apply to mesh files"),
        ("ball", ["--pool-size", "10"], "--pool-size"),
        ("ball", ["--eval-at", "10,x"], "--eval-at"),
        ("image", ["--grid-resolution", "32"], "--grid-resolution does not apply to image"),
        ("audio", ["--pool-size", "9"], "--pool-size does not apply to audio"),
    ],
)
def test_cli_bad_mesh_input_is_one_line_and_no_folder(tmp_path, capsys, kind, extra, message):
    if kind == "ball":
        trimesh = pytest.importorskip("trimesh")
        path = tmp_path / "ball.stl"
        trimesh.Trimesh(*sphere_mesh(subdivisions=1), process=False).export(path)
    elif kind == "image":
        path = tmp_path / "pic.png"
        Image.fromarray(np.zeros((16, 16), np.uint8)).save(path)
    elif kind == "audio":
        path = tmp_path / "tone.wav"
        sf.write(path, np.sin(np.arange(800) / 5.0), 8000)
    else:
        path = write_bad(tmp_path, kind)
    out = tmp_path / "run"
    try:
        code = main(["fit", str(path), *CLI_TINY, *extra, "--out", str(out)])
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("nint: error:") and len(err.splitlines()) == 1, err
    assert message in err, err
    assert not out.exists() and not list(tmp_path.glob("run*"))
