import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import synthetic_image
from PIL import Image

from nint.cli import main

TINY = ["--width", "32", "--depth", "2", "--quiet"]


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "pic.png"
    Image.fromarray((synthetic_image(16, 16) * 255).astype(np.uint8)).save(path)
    return path


def test_fit_end_to_end(image, tmp_path, capsys):
    out = tmp_path / "run"
    code = main(
        [
            "fit",
            str(image),
            "--strategy",
            "nint",
            "--iterations",
            "15",
            "--out",
            str(out),
            "--eval-every",
            "5",
            "--variant",
            "official",
            *TINY,
        ]
    )
    assert code == 0
    assert "PSNR" in capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    assert summary["iterations"] == 15
    config = json.loads((out / "config.json").read_text())
    assert config["sampler"]["variant"] == "official" and config["sampler"]["error_norm"] == "l1"
    assert (out / "reconstruction.png").exists() and (out / "selection.png").exists()


def test_every_option_reaches_the_sampler(image, tmp_path):
    out = tmp_path / "run"
    args = [
        "fit",
        str(image),
        "--strategy",
        "nint",
        "--seconds",
        "0.3",
        "--out",
        str(out),
        "--ratio",
        "0.4",
        "--scheduler",
        "step",
        "--interval",
        "dense2",
        "--dense2-every",
        "3",
        "--xi",
        "0.5",
        "--alpha",
        "4",
        "--lambda",
        "2",
        "--ntk-cutoff",
        "0.01",
        "--error-norm",
        "l1",
        "--lr",
        "0.001",
        "--seed",
        "5",
        "--omega0",
        "20",
        "--first-omega0",
        "10",
        *TINY,
    ]
    assert main(args) == 0
    config = json.loads((out / "config.json").read_text())
    s = config["sampler"]
    assert (s["ratio"], s["scheduler"], s["interval"], s["dense2_every"]) == (
        0.4,
        "step",
        "dense2",
        3,
    )
    assert (s["xi"], s["alpha"], s["lambda"], s["ntk_cutoff"], s["error_norm"]) == (
        0.5,
        4,
        2,
        0.01,
        "l1",
    )
    assert config["model"]["omega_0"] == 20 and config["model"]["first_omega_0"] == 10
    assert config["lr"] == 0.001 and config["seed"] == 5 and config["budget"]["seconds"] == 0.3


@pytest.mark.parametrize(
    "args, message",
    [
        (["{missing}"], "no such file"),
        (["{text}"], "cannot read"),
        (["{image}", "--strategy", "magic"], "unknown strategy"),
        (["{image}", "--ratio", "0"], "(0, 1]"),
        (["{image}", "--ratio", "1.5"], "(0, 1]"),
        (["{image}", "--iterations", "0"], "at least 1"),
        (["{image}", "--seconds", "0"], "--seconds: expected a finite number > 0"),
        (["{image}", "--strategy", "uniform", "--xi", "0.5"], "does not apply"),
        (["{image}", "--crop", "500"], "larger than the image"),
        (["{image}", "--iterations", "ten"], "invalid int value"),
        (["{image}", "--width", "0"], "width must be at least 1"),
        (["{image}", "--wire-scale", "3"], "--wire-scale does not apply to --model siren"),
        (["{image}", "--model", "hashgrid", "--omega0", "3"], "--omega0 does not apply"),
        (["{image}", "--model", "nope"], "unknown model 'nope'; choose from siren"),
        (["{image}", "--model", "finer", "--compile"], "compile=True compiles a SIREN"),
        (["{image}", "--lr", "-1"], "--lr: expected a finite number > 0"),
        (["{image}", "--eval-every", "0"], "cadence"),
        (["{image}", "--dense2-every", "0"], "dense2"),
        (["{image}", "--xi", "1.5"], "xi"),
        (["{image}", "--size", "0"], "positive"),
        (["{image}", "--anchor-ratio", "0.1"], "--anchor-ratio does not apply"),
        (["{image}", "--strategy", "evos", "--langevin-step", "3"], "does not apply"),
        (["{image}", "--strategy", "nint", "--evos-crossover"], "--evos-crossover does not"),
        (["{image}", "--strategy", "expansive", "--anchor-ratio", "0.5"], "anchor_ratio"),
        (["{image}", "--strategy", "soft", "--uniform-share", "2"], "--uniform-share"),
    ],
)
def test_bad_input_is_one_line_and_no_folder(args, message, image, tmp_path, capsys):
    text = tmp_path / "notes.png"
    text.write_text("hello")
    values = {"missing": tmp_path / "nope.png", "text": text, "image": image}
    out = tmp_path / "run"
    # TINY first: a later flag wins, so the bad value under test must come after it
    argv = ["fit", *TINY] + [a.format(**values) for a in args] + ["--out", str(out)]
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err
    assert err.startswith("nint: error:")
    assert not out.exists() and not list(tmp_path.glob("run*"))


def test_existing_output_folder(image, tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert main(["fit", str(image), "--iterations", "3", "--out", str(out), *TINY]) == 2
    assert "already exists" in capsys.readouterr().err
    assert (out / "keep.txt").read_text() == "mine"
    args = ["fit", str(image), "--iterations", "3", "--out", str(out), "--overwrite", *TINY]
    assert main(args) == 2  # nint did not write it: --overwrite does not replace it either
    assert "not written by nint" in capsys.readouterr().err
    assert (out / "keep.txt").read_text() == "mine"


def test_python_dash_m_and_strategies():
    done = subprocess.run(
        [sys.executable, "-m", "nint", "strategies"], capture_output=True, text=True, check=True
    )
    for name in ("standard", "uniform", "int", "nint"):
        assert name in done.stdout
    done = subprocess.run([sys.executable, "-m", "nint", "fit"], capture_output=True, text=True)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
