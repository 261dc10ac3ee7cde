"""Figures that explain themselves, and successful runs that print nothing on stderr.

- every selection picture (image, audio, mesh) has a legend naming each part with its count;
- curve plots keep their legend outside the axes, so it covers no curve;
- names the font cannot draw (CJK file names) and an unwritable matplotlib folder print no
  warnings: tiny fits in a fresh process, with stderr checked to be empty;
- STOI and PESQ on a clip that does not look like speech carry a note in the summary.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from conftest import SHARED, synthetic_image
from PIL import Image

from nint import fit
from nint.metrics.audio import level_spread
from nint.report.artifacts import selection_figure
from nint.report.figures import curves_figure
from nint.report.mesh_figure import selected_points_figure
from nint.report.plotting import drawable
from nint.report.spectrogram import selected_samples_figure
from nint.signals import AudioSignal, ImageSignal

RATE = 16000
TINY = ["--iterations", "2", "--width", "8", "--depth", "2", "--quiet"]
MESH = [
    *("--points-per-iteration", "100", "--pool-size", "1000"),
    *("--grid-resolution", "16", "--chamfer-points", "1000"),
]
TETRAHEDRON = "v 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\nf 1 3 2\nf 1 2 4\nf 1 4 3\nf 2 3 4\n"


def sine(seconds: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return 0.5 * np.sin(2 * np.pi * 440 * t)


def speech_like(seconds: float = 0.5) -> np.ndarray:
    """A 220 Hz tone whose level rises and falls three times a second, like syllables (as in
    tests/test_bad_inputs.py)."""
    t = np.arange(int(seconds * RATE)) / RATE
    return 0.5 * np.sin(2 * np.pi * 220 * t) * np.sin(2 * np.pi * 3 * t)


def legend_texts(fig) -> list[str]:
    legends = fig.legends + [ax.get_legend() for ax in fig.axes if ax.get_legend()]
    assert len(legends) == 1
    return [legends[0].get_title().get_text()] + [t.get_text() for t in legends[0].get_texts()]


# ---- legends ------------------------------------------------------------------------------------


def test_image_selection_has_a_legend_of_parts_and_counts():
    signal = ImageSignal(synthetic_image(8, 8), name="small")
    parts = {
        "ntk": torch.tensor([0, 1, 2]),
        "error": torch.tensor([5]),
        "random": torch.tensor([9, 10]),
    }
    texts = legend_texts(selection_figure(signal, parts))
    assert texts == [
        "last selection: 6 of 64 pixels",
        "NTK part (largest |K r|): 3",
        "error part (largest |r|): 1",
        "random part: 2",
        "not chosen (the image, dimmed)",
    ]


def test_standard_and_unknown_parts_are_named_too():
    signal = ImageSignal(synthetic_image(8, 8), name="small")
    texts = legend_texts(selection_figure(signal, {"all": torch.arange(64)}))
    assert texts == ["last selection: 64 of 64 pixels", "all points (Stand.): 64"]  # none grey
    texts = legend_texts(selection_figure(signal, {"写mine": torch.tensor([1])}))
    assert texts[1] == "?mine: 1"


def test_audio_and_mesh_selections_have_legends():
    audio = sine()
    parts = {"ntk": np.array([1, 2]), "random": np.array([7])}
    texts = legend_texts(selected_samples_figure(audio, RATE, parts))
    assert texts[1:] == ["NTK part (largest |K r|): 2", "random part: 1"]
    assert "3 of 8000 samples" in texts[0]
    points = np.random.default_rng(0).uniform(-0.5, 0.5, (10, 3))
    texts = legend_texts(selected_points_figure({"error": points[:4], "random": points[4:]}))
    assert texts[1:] == ["error part (largest |r|): 4", "random part: 6"]


def test_curve_legend_sits_outside_the_axes():
    rows = [{"iteration": i, "train_seconds": 0.1 * i, "psnr": 10.0 + i} for i in range(5)]
    fig = curves_figure({"Unif.": rows, "INT": rows, "NINT": rows, "_mine": rows})
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()  # the layout places the legend when drawing
    renderer = canvas.get_renderer()
    (ax,) = fig.axes
    legend = ax.get_legend()
    assert legend.get_window_extent(renderer).x0 >= ax.get_window_extent(renderer).x1
    assert [t.get_text() for t in legend.get_texts()] == ["Unif.", "INT", "NINT", "_mine"]


# ---- text the font can draw ---------------------------------------------------------------------


def test_drawable_replaces_what_the_font_lacks_and_escapes_dollars():
    assert drawable("kodim05 x2 (a-b)_c") == "kodim05 x2 (a-b)_c"
    assert drawable("写真_2") == "??_2"
    assert drawable("cost $5$") == r"cost \$5\$"


def test_a_cjk_named_figure_draws_without_warnings(tmp_path):
    rows = [{"iteration": i, "train_seconds": 0.1 * i, "psnr": 10.0 + i} for i in range(3)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        curves_figure({"写真": rows}, title="写真: $x").savefig(tmp_path / "c.png")


# ---- quiet successful runs ----------------------------------------------------------------------


def run_cli(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    """``nint <args>`` in a fresh interpreter (so matplotlib is set up as in a user's run)."""
    environment = {**os.environ, **env}
    return subprocess.run(
        [sys.executable, "-m", "nint", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def cjk_inputs(tmp_path_factory) -> Path:
    """A tiny picture, clip and mesh, each with a Chinese file name."""
    d = tmp_path_factory.mktemp("写真")
    Image.fromarray((synthetic_image(12, 12) * 255).astype(np.uint8)).save(d / "写真.png")
    sf.write(d / "音声.wav", speech_like(0.5).astype(np.float32), RATE, subtype="FLOAT")
    (d / "形.obj").write_text(TETRAHEDRON)
    return d


@pytest.mark.parametrize(
    "name, extra",
    [("写真.png", []), ("音声.wav", []), ("形.obj", MESH)],
    ids=["image", "audio", "mesh"],
)
def test_a_cjk_named_fit_prints_nothing_on_stderr(cjk_inputs, tmp_path, name, extra):
    out = tmp_path / f"run-{name}"
    done = run_cli(["fit", str(cjk_inputs / name), *TINY, *extra, "--out", str(out)], tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert (out / "selection.png").exists() and (out / "summary.json").exists()


def test_an_unwritable_matplotlib_folder_prints_nothing_on_stderr(cjk_inputs, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("matplotlib cannot make a folder under a file, even as root")
    out = tmp_path / "run"
    done = run_cli(
        ["fit", str(cjk_inputs / "写真.png"), *TINY, "--out", str(out)],
        tmp_path,
        MPLCONFIGDIR=str(blocker / "matplotlib"),
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert (out / "psnr_vs_time.png").exists()


def test_a_writable_matplotlib_folder_is_left_alone(tmp_path):
    code = (
        "import os\nfrom nint.report.plotting import new_figure\n"
        "new_figure()\nprint(os.environ['MPLCONFIGDIR'])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "MPLCONFIGDIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(tmp_path) and done.stderr == ""


# ---- speech metrics on sounds that are not speech -----------------------------------------------


def speech_notes(samples: np.ndarray, rate: int = RATE) -> list[str]:
    result = fit(AudioSignal(samples, rate), "uniform", iterations=1, width=8, depth=2)
    return [note for note in result.summary["notes"] if "does not look like speech" in note]


def test_stoi_and_pesq_on_a_sine_carry_a_note():
    (note,) = speech_notes(sine())
    assert note.startswith("STOI and PESQ assume speech, and this clip does not look like speech")


def test_speech_like_input_carries_no_note():
    assert speech_notes(speech_like()) == []


def test_the_note_names_only_the_metrics_that_got_a_value():
    (note,) = speech_notes(sine(0.3))  # 0.3 s: too short for STOI, long enough for PESQ
    assert note.startswith("PESQ assumes speech")


LIBRISPEECH = sorted((SHARED / "audio" / "librispeech").rglob("*.flac"))


@pytest.mark.skipif(not LIBRISPEECH, reason="no LibriSpeech under ../shared/data/audio")
def test_real_speech_carries_no_note():
    for path in LIBRISPEECH:
        samples, rate = sf.read(path)
        assert level_spread(samples, rate) > 3.0, path.name
    samples, rate = sf.read(LIBRISPEECH[0])
    assert speech_notes(samples[rate : 2 * rate], rate) == []  # one second, from a fit
