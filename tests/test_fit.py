import json

import pytest
import torch
from conftest import synthetic_image

from nint import ImageSignal, NintError, Siren, fit
from nint.train import PARTS

SMALL = {"width": 64, "depth": 3}


@pytest.fixture(scope="module")
def signal():
    return ImageSignal(synthetic_image(24, 24), name="synthetic")


@pytest.mark.parametrize("strategy", ["standard", "uniform", "int", "evos", "nint"])
def test_fit_raises_psnr(signal, strategy):
    result = fit(signal, strategy, iterations=120, eval_every=20, lr=1e-3, **SMALL)
    first, last = result.history[0], result.history[-1]
    assert first["iteration"] == 0 and last["iteration"] == 120
    assert last["psnr"] > first["psnr"] + 8
    seconds = [row["train_seconds"] for row in result.history]
    assert seconds == sorted(seconds) and seconds[0] == 0.0


def test_evaluation_uses_weights_after_the_update(signal):
    result = fit(signal, "nint", iterations=3, eval_every=1, lr=1e-3, **SMALL)
    # the last row (iteration 3) is the model after its third update
    final = signal.evaluate(result.prediction)
    assert result.history[-1]["psnr"] == pytest.approx(final["psnr"])
    assert [r["iteration"] for r in result.history] == [0, 1, 2, 3]


class SlowStep(torch.nn.Module):
    """A model whose graph-building forward (the training step's) adds ``pause`` simulated
    seconds to the clock."""

    def __init__(self, inner: torch.nn.Module, clock, pause: float) -> None:
        super().__init__()
        self.inner, self.clock, self.pause = inner, clock, pause

    def forward(self, coords: torch.Tensor) -> torch.Tensor:
        if torch.is_grad_enabled():
            self.clock.pause(self.pause)
        return self.inner(coords)


def test_time_budget_and_parts(signal, simulated_clock):
    """A seconds budget stops at the first evaluation past it. Each training step of uniform
    sampling (one forward with a graph) adds 20 simulated seconds, so a 50 s budget takes 3
    iterations on any machine, however busy (only real steps slower than 5 s in all could make
    it 2)."""
    torch.manual_seed(0)
    model = SlowStep(Siren(2, 3, **SMALL), simulated_clock, pause=20.0)
    result = fit(signal, "uniform", model=model, seconds=50.0, eval_every_seconds=10.0)
    s = result.summary
    assert s["train_seconds"] >= 50.0 and s["iterations"] in (2, 3)
    s = fit(signal, "nint", iterations=3, **SMALL).summary
    assert s["train_seconds"] == pytest.approx(sum(s["time_parts"].values()))
    assert set(s["time_parts"]) == set(PARTS)
    assert s["time_parts"]["ntk"] > 0 and s["time_parts"]["residual"] > 0
    uniform = fit(signal, "uniform", iterations=5, **SMALL).summary["time_parts"]
    assert uniform["residual"] == 0 and uniform["ntk"] == 0 and uniform["train"] > 0


def test_both_budgets_stop_at_the_first(signal):
    result = fit(signal, "uniform", iterations=7, seconds=1e6, **SMALL)
    assert result.summary["iterations"] == 7


def test_thresholds_reported(signal):
    result = fit(signal, "standard", iterations=150, eval_every=10, lr=1e-3, **SMALL)
    reached = result.summary["reached"]
    assert set(reached) == {
        "psnr>=25",
        "psnr>=30",
        "psnr>=35",
        "ssim>=0.8",
        "ssim>=0.9",
        "lpips<=0.2",
        "lpips<=0.1",
    }
    hit = reached["psnr>=25"]
    assert hit is not None
    row = next(r for r in result.history if r["iteration"] == hit["iteration"])
    assert row["psnr"] >= 25 and hit["seconds"] == row["train_seconds"]
    earlier = [r for r in result.history if r["iteration"] < hit["iteration"]]
    assert all(r["psnr"] < 25 for r in earlier)


def test_same_seed_same_result(signal):
    a = fit(signal, "nint", iterations=10, **SMALL)
    b = fit(signal, "nint", iterations=10, **SMALL)
    torch.testing.assert_close(a.prediction, b.prediction)


def test_grayscale_run_folder(tmp_path):
    grey = ImageSignal(synthetic_image(16, 16, channels=1), name="grey")
    folder = fit(grey, "int", iterations=4, **SMALL).save(tmp_path / "g")
    from PIL import Image

    assert Image.open(folder / "reconstruction.png").mode == "L"
    width, height = Image.open(folder / "selection.png").size
    assert height >= 256 and width >= 256 + 100  # enlarged x16, with the legend beside it


def test_save_writes_a_complete_folder(signal, tmp_path):
    result = fit(signal, "nint", iterations=12, eval_every=4, **SMALL)
    folder = result.save(tmp_path / "run")
    names = {p.name for p in folder.iterdir()}
    assert names == {
        ".nint-run",  # says that nint wrote the folder: --overwrite replaces only such folders
        "config.json",
        "environment.json",
        "weights.safetensors",
        "history.csv",
        "summary.json",
        "reconstruction.png",
        "selection.png",
        "psnr_vs_time.png",
    }
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["iterations"] == 12 and summary["strategy"] == "nint"
    config = json.loads((folder / "config.json").read_text())
    assert config["sampler"]["xi"] == 0.7 and config["model"]["width"] == 64
    header = (folder / "history.csv").read_text().splitlines()[0].split(",")
    assert header[:5] == ["iteration", "train_seconds", "loss", "mse", "psnr"]
    with pytest.raises(NintError, match="already exists"):
        result.save(tmp_path / "run")
    assert not list(tmp_path.glob("*.partial-*"))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"iterations": 0}, "at least 1"),
        ({"seconds": 0}, "positive"),
        ({}, "budget"),
        ({"iterations": 5, "ratio": 0.0}, r"\(0, 1\]"),
        ({"iterations": 5, "ratio": 1.5}, r"\(0, 1\]"),
        ({"iterations": 5, "xi": 0.5, "strategy": "uniform"}, "does not take"),
    ],
)
def test_bad_settings(signal, kwargs, match):
    strategy = kwargs.pop("strategy", "nint")
    with pytest.raises(NintError, match=match):
        fit(signal, strategy, **kwargs)


def test_a_diverging_fit_stops_with_one_line_and_no_folder(tmp_path, capsys):
    from PIL import Image

    from nint.cli import main

    path = tmp_path / "p.png"
    Image.fromarray((synthetic_image(16, 16) * 255).astype("uint8")).save(path)
    out = tmp_path / "run"
    argv = ["fit", str(path), "--strategy", "uniform", "--lr", "1e6", "--iterations", "50"]
    assert main([*argv, "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "diverged" in err[0] and "at iteration" in err[0]
    assert list(tmp_path.iterdir()) == [path]
