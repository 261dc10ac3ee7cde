"""A strategy is one declaration: a toy one, defined only here, runs through `nint fit`,
`nint strategies` and `nint demo` with no other edit."""

import json

import numpy as np
import pytest
import torch
from conftest import synthetic_image
from PIL import Image

from nint.cli import main
from nint.samplers import SAMPLERS, Option, Sampler, register


class StrideSampler(Sampler):
    """Every s-th coordinate, starting one further each selection."""

    name = "stride"
    display_name = "Stride"
    options = (Option("stride", "take every s-th coordinate (4)", int),)

    def __init__(self, n_points: int, *, stride: int = 4, **options) -> None:
        super().__init__(n_points, **options)
        self.stride = stride

    def choose(self, step, k, ctx):
        idx = torch.arange(step % self.stride, self.n_points, self.stride)[:k]
        self.parts = {"random": idx}
        return idx


@pytest.fixture
def toy():
    register(StrideSampler)
    yield "stride"
    SAMPLERS.pop("stride")


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "photo.png"
    Image.fromarray((synthetic_image(16, 16) * 255).astype(np.uint8)).save(path)
    return path


def test_toy_strategy_through_fit_strategies_and_demo(toy, photo, tmp_path, capsys):
    run = tmp_path / "run"
    tiny = ["--width", "16", "--depth", "2", "--quiet"]
    args = ["fit", str(photo), "--strategy", toy, "--stride", "3", "--iterations", "4"]
    assert main([*args, "--ratio", "0.25", "--out", str(run), *tiny]) == 0
    config = json.loads((run / "config.json").read_text())
    assert config["sampler"]["strategy"] == "stride"
    assert json.loads((run / "summary.json").read_text())["iterations"] == 4

    assert main(["strategies"]) == 0
    listed = capsys.readouterr().out
    assert "stride     Stride: Every s-th coordinate" in listed and "--stride" in listed

    demo = tmp_path / "demo"
    argv = ["demo", "--out", str(demo), "--seconds", "0.2", "--size", "16", "--quiet"]
    assert main([*argv, "--strategies", f"uniform,{toy}"]) == 0
    assert "| Stride " in (demo / "table.md").read_text()
    assert (demo / toy / "summary.json").exists()


def test_an_option_of_the_toy_does_not_apply_elsewhere(toy, photo, tmp_path, capsys):
    argv = ["fit", str(photo), "--strategy", "uniform", "--stride", "2", "--iterations", "2"]
    assert main([*argv, "--out", str(tmp_path / "r"), "--quiet"]) == 2
    assert "--stride does not apply to --strategy uniform" in capsys.readouterr().err


def test_declared_options_must_match_the_constructor():
    class Sloppy(Sampler):
        name, display_name = "sloppy", "Sloppy"
        options = (Option("width", "not a keyword of this class"),)

    with pytest.raises(Exception, match="declares options"):
        register(Sloppy)
    assert "sloppy" not in SAMPLERS
