"""`nint render`: a run folder's model rendered anew, at the fit's resolution or another."""

import numpy as np
import pytest
import soundfile as sf
import trimesh
from conftest import synthetic_image
from PIL import Image

from nint import AudioSignal, ImageSignal, NintError, SdfSignal, fit
from nint.cli import main
from nint.render import render_run

NET = {"width": 16, "depth": 2}


@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    signal = ImageSignal(synthetic_image(12, 10), name="small")
    return fit(signal, "uniform", iterations=20, **NET).save(tmp_path_factory.mktemp("i") / "run")


@pytest.fixture(scope="module")
def audio_run(tmp_path_factory):
    t = np.arange(400) / 8000
    signal = AudioSignal(0.5 * np.sin(2 * np.pi * 300 * t), 8000, name="tone")
    return fit(signal, "uniform", iterations=5, **NET).save(tmp_path_factory.mktemp("a") / "run")


@pytest.fixture(scope="module")
def shape_run(tmp_path_factory):
    sphere = trimesh.creation.icosphere(subdivisions=2, radius=2.0)
    signal = SdfSignal(
        np.asarray(sphere.vertices) + 5.0,  # off the origin: the render must undo the frame
        np.asarray(sphere.faces),
        points_per_iteration=400,
        pool_size=4000,
        grid_resolution=16,
        chamfer_points=500,
    )
    result = fit(signal, "uniform", iterations=60, lr=1e-3, width=32, depth=3)
    return result.save(tmp_path_factory.mktemp("m") / "run")


def pixels(path):
    return np.asarray(Image.open(path)).astype(np.int64)


def test_an_image_renders_at_its_size_exactly_and_at_twice_it(image_run, tmp_path):
    same = render_run(image_run, tmp_path / "same.png")
    assert np.array_equal(pixels(same), pixels(image_run / "reconstruction.png"))
    out = tmp_path / "x2.png"
    assert main(["render", str(image_run), "--size", "20x24", "--out", str(out)]) == 0
    double = pixels(tmp_path / "x2.png")
    assert double.shape == (24, 20, 3)
    # the corner pixels sit at the canvas corners, (-1, -1) ... (1, 1), at every size
    for y, x in ((0, 0), (0, -1), (-1, 0), (-1, -1)):
        assert np.array_equal(double[y, x], pixels(same)[y, x])
    longer = render_run(image_run, tmp_path / "n.png", size="30")
    assert Image.open(longer).size == (25, 30)  # 10 x 12 scaled so the longer side is 30


def test_audio_renders_at_its_rate_exactly_and_at_twice_it(audio_run, tmp_path):
    fitted, rate = sf.read(audio_run / "reconstruction.wav")
    same, same_rate = sf.read(render_run(audio_run, tmp_path / "same.wav"))
    assert same_rate == rate and np.array_equal(same, fitted)
    double, double_rate = sf.read(render_run(audio_run, tmp_path / "x2.wav", rate=2 * rate))
    assert double_rate == 2 * rate and len(double) == 2 * len(fitted) - 1  # same span of time
    # every other sample falls on a training instant: the same function value, up to the
    # float32 rounding of a coordinate near R = 100 (one ulp there moves a first-layer sine
    # argument by about 0.2 mrad)
    assert np.allclose(double[::2], fitted, atol=1e-3 * np.abs(fitted).max())


def test_a_shape_renders_on_a_finer_grid_in_the_files_units(shape_run, tmp_path):
    fitted = trimesh.load(shape_run / "reconstruction.ply")
    finer = trimesh.load(render_run(shape_run, tmp_path / "x2.ply", resolution=32))
    assert len(finer.vertices) > len(fitted.vertices)
    # both surfaces in the file's frame (the sphere around (5, 5, 5)), one grid step apart
    step = 2.0 / 0.9 * (1.0 / 15)  # file units per step of the 16^3 grid over [-0.5, 0.5]
    assert np.allclose(finer.bounds, fitted.bounds, atol=2 * step)
    assert np.allclose(finer.bounds.mean(axis=0), 5.0, atol=1.0)


@pytest.mark.parametrize(
    "kwargs, out, match",
    [
        ({"rate": 16000}, "x.png", "--rate does not apply to an image run"),
        ({}, "x.wav", "renders to .png files"),
        ({"size": "0"}, "x.png", "--size"),
    ],
)
def test_render_refuses_what_does_not_apply(image_run, tmp_path, kwargs, out, match):
    with pytest.raises(NintError, match=match):
        render_run(image_run, tmp_path / out, **kwargs)
    assert list(tmp_path.iterdir()) == []


def test_render_never_replaces_a_file_and_needs_a_run(image_run, tmp_path, capsys):
    mine = tmp_path / "mine.png"
    mine.write_text("the user's")
    assert main(["render", str(image_run), "--out", str(mine)]) == 2
    assert "already exists" in capsys.readouterr().err and mine.read_text() == "the user's"
    assert main(["render", str(tmp_path), "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a run folder" in err[0]
