"""Progress without a terminal, TensorBoard event files, and ``nint fit --config`` (replay)."""

import csv
import json
import math
import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import synthetic_image
from golden_fits import recording
from PIL import Image
from safetensors.torch import load_file

from nint import fit
from nint.cli import build_parser, main, with_config
from nint.signals import ImageSignal

TINY = ["--width", "8", "--depth", "2"]


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "pic.png"
    Image.fromarray((synthetic_image(12, 12) * 255).astype(np.uint8)).save(path)
    return path


def _nint(*args, cwd):
    """``python -m nint ...`` with stderr to a pipe (not a terminal)."""
    return subprocess.run(
        [sys.executable, "-m", "nint", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
    )


def _history(folder):
    with open(folder / "history.csv", newline="") as f:
        return list(csv.DictReader(f))


# ---- progress -----------------------------------------------------------------------------------


def test_progress_lines_without_a_terminal(image, tmp_path):
    args = ["fit", image, "--iterations", "4", "--eval-every", "2", *TINY]
    done = _nint(*args, "--out", tmp_path / "run", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.strip().splitlines()
    iterations = [int(row["iteration"]) for row in _history(tmp_path / "run")]
    assert iterations == [0, 2, 4]
    # one line per evaluation, in order, each naming the run, the iteration and the metric
    assert len(lines) == len(iterations), done.stderr
    for line, step in zip(lines, iterations, strict=True):
        assert line.startswith(f"nint: pic nint  it {step}/4  "), line
        assert " s  psnr " in line

    quiet = _nint(*args, "--out", tmp_path / "quiet", "--quiet", cwd=tmp_path)
    assert quiet.returncode == 0 and quiet.stderr == ""
    assert (tmp_path / "quiet" / "summary.json").exists()


def test_demo_writes_a_line_per_finished_run(tmp_path):
    args = ["demo", "--seconds", "0.2", "--size", "16", "--strategies", "uniform,standard"]
    done = _nint(*args, "--out", tmp_path / "demo", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.strip().splitlines()
    assert [line.split("  ")[0] for line in lines] == ["nint: demo Unif.", "nint: demo Stand."]
    assert all("  done  " in line and "psnr" in line for line in lines)
    quiet = _nint(*args, "--out", tmp_path / "quiet", "--quiet", cwd=tmp_path)
    assert quiet.returncode == 0 and quiet.stderr == ""


def _scalar_tags(run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run / "tensorboard"))
    events.Reload()
    return set(events.Tags()["scalars"])


def test_demo_tensorboard_in_every_run_folder(tmp_path):
    out = tmp_path / "demo"
    argv = ["demo", "--seconds", "0.2", "--size", "16", "--strategies", "uniform,standard"]
    assert main([*argv, "--out", str(out), "--quiet", "--tensorboard"]) == 0
    for run in ("uniform", "standard"):
        assert _scalar_tags(out / run) >= {"psnr", "loss", "train_seconds"}


# ---- TensorBoard --------------------------------------------------------------------------------


def test_tensorboard_scalars_are_the_history(image, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out = tmp_path / "run"
    argv = ["fit", str(image), "--iterations", "3", "--eval-every", "1", "--out", str(out)]
    assert main([*argv, *TINY, "--quiet", "--tensorboard"]) == 0
    events = EventAccumulator(str(out / "tensorboard"))
    events.Reload()
    history = _history(out)
    # every column with values (not lpips, missing without its weights), at every iteration
    columns = [c for c in history[0] if c != "iteration" and any(row[c] for row in history)]
    assert "lpips" not in columns and {"psnr", "loss", "train_seconds"} <= set(columns)
    assert sorted(events.Tags()["scalars"]) == sorted(columns)
    for column in columns:
        scalars = events.Scalars(column)
        assert [s.step for s in scalars] == [int(row["iteration"]) for row in history]
        for scalar, row in zip(scalars, history, strict=True):
            # TensorBoard keeps scalars as float32; the loss before training is NaN
            expected = np.float32(float(row[column]))
            assert scalar.value == expected or (math.isnan(scalar.value) and np.isnan(expected))
    # the wall-clock times of the evaluations, in order
    times = [s.wall_time for s in events.Scalars("psnr")]
    assert times == sorted(times)
    assert events.Tags()["images"] == ["reconstruction"]
    picture = events.Images("reconstruction")[-1]
    assert (picture.step, picture.width, picture.height) == (3, 12, 12)


def test_tensorboard_without_the_package_is_one_line(image, tmp_path, capsys, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "tensorboard" else real(name)
    )
    out = tmp_path / "run"
    argv = ["fit", str(image), "--iterations", "2", "--out", str(out), *TINY, "--tensorboard"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("nint: error: --tensorboard needs the tensorboard package")
    assert len(err.strip().splitlines()) == 1 and not out.exists()


# ---- --config -----------------------------------------------------------------------------------


def _parsed(argv):
    """The namespace ``nint fit`` runs with, config file applied; without the config path."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.config is not None:
        args = with_config(parser, argv, args)
    return {k: v for k, v in vars(args).items() if k != "config"}


SETTINGS = {
    "input": "pic.png",
    "strategy": "soft",
    "iterations": 7,
    "eval_at": [2, 5],
    "ratio": 0.25,
    "width": 16,
    "omega0": 20.0,
    "forward_chunk": 0,
    "seed": 3,
    "overwrite": True,
    "device": None,  # null: as if left out
}
FLAGS = [
    "fit",
    "pic.png",
    "--strategy",
    "soft",
    "--iterations",
    "7",
    "--eval-at",
    "2,5",
    "--ratio",
    "0.25",
    "--width",
    "16",
    "--omega0",
    "20",
    "--forward-chunk",
    "0",
    "--seed",
    "3",
    "--overwrite",
]


def test_config_json_and_yaml_equal_the_flags(tmp_path):
    settings = SETTINGS
    (tmp_path / "c.json").write_text(json.dumps(settings))
    yaml_text = "\n".join(f"{k}: {json.dumps(v)}" for k, v in settings.items())
    (tmp_path / "c.yaml").write_text(yaml_text + "\n")
    expected = _parsed(FLAGS)
    assert _parsed(["fit", "--config", str(tmp_path / "c.json")]) == expected
    assert _parsed(["fit", "--config", str(tmp_path / "c.yaml")]) == expected
    # flags on the command line win over the file, wherever they stand
    later = _parsed(["fit", "--iterations", "9", "--config", str(tmp_path / "c.json")])
    assert later == {**expected, "iterations": 9}
    other = _parsed(["fit", "other.png", "--config", str(tmp_path / "c.json")])
    assert other == {**expected, "input": "other.png"}


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"iteratons": 5}, "unknown option 'iteratons' (did you mean 'iterations'?)"),
        ({"config": "other.json"}, "unknown option 'config'"),
        ({"compile": "yes"}, "'compile' is a switch"),
        ({"ratio": 7}, "--ratio: expected a finite number in (0, 1]"),
        ([1, 2], "must hold one mapping"),
    ],
)
def test_bad_config_is_one_line(settings, message, image, tmp_path, capsys):
    config = tmp_path / "c.json"
    config.write_text(json.dumps(settings))
    out = tmp_path / "run"
    try:
        code = main(["fit", str(image), "--config", str(config), "--out", str(out)])
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists()


def _fit_recording(argv):
    """Run ``nint fit`` and return the index tensors of every selection."""
    log = []
    with recording(log):  # the golden fits' recorder of Sampler.select
        assert main(argv) == 0
    return log


def test_replaying_a_run_folder_gives_the_same_fit(image, tmp_path):
    first, again = tmp_path / "first", tmp_path / "again"
    argv = ["fit", str(image), "--iterations", "5", "--ratio", "0.3", "--seed", "4", *TINY]
    picked = _fit_recording([*argv, "--forward-chunk", "0", "--out", str(first), "--quiet"])
    replay = json.loads((first / "config.json").read_text())["replay"]
    assert replay["input"] == str(image.resolve()) and replay["forward_chunk"] == 0
    assert "out" not in replay and "quiet" not in replay
    replayed = _fit_recording(
        ["fit", "--config", str(first / "config.json"), "--out", str(again), "--quiet"]
    )
    assert len(picked) == len(replayed) == 5
    assert all(torch.equal(a, b) for a, b in zip(picked, replayed, strict=True))
    weights, weights_again = (
        load_file(first / "weights.safetensors"),
        load_file(again / "weights.safetensors"),
    )
    assert weights.keys() == weights_again.keys()
    assert all(torch.equal(weights[k], weights_again[k]) for k in weights)
    assert json.loads((again / "config.json").read_text())["replay"] == replay


def test_a_python_only_run_is_not_replayed(tmp_path, capsys):
    signal = ImageSignal(synthetic_image(8, 8), name="tiny")
    run = tmp_path / "run"
    fit(signal, "uniform", iterations=2, width=8, depth=2, callback=lambda row: None).save(run)
    config = json.loads((run / "config.json").read_text())
    assert config["replay"] is None and "a callback" in config["replay_refused"]
    assert main(["fit", "--config", str(run / "config.json"), "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "cannot be replayed: fitted from Python with a callback" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "x").exists()


def test_bench_writes_a_line_per_finished_run(image, tmp_path, capsys):
    import dataclasses

    from nint.experiments import EXPERIMENTS, Preset, run_bench

    exp = dataclasses.replace(
        EXPERIMENTS["image"],
        presets={"tiny": Preset(checkpoints=(2,), limit=1)},
        fit=(("width", 8), ("depth", 2)),
        unit="iterations",
    )
    out = tmp_path / "bench"
    run_bench(exp, image, out, "tiny", log=lambda line: None, progress=True, tensorboard=True)
    lines = capsys.readouterr().err.strip().splitlines()
    assert [line.split("  ")[0] for line in lines] == [
        f"nint: bench pic / {variant.key}" for variant in exp.variants
    ]
    assert all("  done  2 it  " in line for line in lines)
    for variant in exp.variants:  # --tensorboard: event files in every run folder
        assert _scalar_tags(out / "pic" / variant.key) >= {"psnr", "loss", "train_seconds"}
    run_bench(exp, image, tmp_path / "quiet", "tiny", log=lambda line: None, progress=False)
    assert capsys.readouterr().err == ""


def test_tensorboard_keeps_an_audio_clip(tmp_path):
    import soundfile as sf
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    clip = tmp_path / "chirp.wav"
    t = np.arange(2000) / 8000
    sf.write(clip, 0.5 * np.sin(2 * np.pi * (200 + 400 * t) * t), 8000)
    out = tmp_path / "run"
    argv = ["fit", str(clip), "--iterations", "2", "--out", str(out), *TINY, "--tensorboard"]
    assert main([*argv, "--quiet"]) == 0
    events = EventAccumulator(str(out / "tensorboard"))
    events.Reload()
    assert events.Tags()["audio"] == ["reconstruction"]
    sound = events.Audio("reconstruction")[-1]
    assert (sound.step, sound.sample_rate, sound.length_frames) == (2, 8000, 2000)
