"""The loss choice of fit (``loss="mse" | "l1" | "huber"``, ``nint.losses``).

Gradients against autograd in float64; the training step against PyTorch's own losses; what
the samplers receive (K multiplies the loss gradient, error parts rank by the loss value); every
strategy under every loss; the command line and the one-line refusals.
"""

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import synthetic_image
from PIL import Image

import nint.residuals as residuals_module
from nint import fit
from nint.cli import main
from nint.errors import NintError
from nint.losses import (
    GRADIENT_SCALE,
    LOSSES,
    Loss,
    elementwise_loss,
    loss_gradient,
    loss_values,
    make_loss,
)
from nint.models import Siren
from nint.samplers import SAMPLERS
from nint.signals.image import ImageSignal
from nint.train import train_step

TINY = dict(width=8, depth=2, seed=1, device="cpu", eval_every=100, lr=1e-3)
DELTA = 0.3


def residual_with_kinks(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(pred, target), float64 (40, 3), with exact zeros of pred - target and, for Huber's
    delta = DELTA, exact +-delta among the random entries."""
    g = torch.Generator().manual_seed(seed)
    pred = torch.randn(40, 3, generator=g, dtype=torch.float64)
    target = torch.randn(40, 3, generator=g, dtype=torch.float64)
    target[:5] = pred[:5]  # r = 0 exactly
    pred[5:8], target[5:8] = DELTA, 0.0  # r = +delta exactly
    pred[8:10], target[8:10] = -DELTA, 0.0  # r = -delta exactly
    return pred, target


@pytest.mark.parametrize("loss", LOSSES)
def test_gradient_is_autograd_of_the_per_coordinate_loss(loss):
    pred, target = residual_with_kinks()
    pred.requires_grad_(True)
    values = loss_values(pred - target, loss, DELTA)  # (N,) each coordinate's loss
    (autograd,) = torch.autograd.grad(values.sum(), pred)
    channels = pred.shape[1]  # a coordinate's loss is a mean over its channels
    ours = loss_gradient((pred - target).detach(), loss, DELTA)
    expected = GRADIENT_SCALE[loss] * channels * autograd
    assert ours.shape == pred.shape and ours.dtype == torch.float64
    assert torch.allclose(ours, expected, rtol=1e-12, atol=1e-15)


def test_conventions_at_the_kinks():
    pred, target = residual_with_kinks()
    r = pred - target
    assert torch.equal(loss_gradient(r, "l1")[:5], torch.zeros(5, 3))  # sign(0) = 0
    huber = loss_gradient(r, "huber", DELTA)
    assert torch.equal(huber[5:8], torch.full((3, 3), DELTA, dtype=torch.float64))
    assert torch.equal(huber[8:10], torch.full((2, 3), -DELTA, dtype=torch.float64))
    assert loss_gradient(r, "mse") is r  # the MSE hands on the residual itself, as before


@pytest.mark.parametrize(
    "loss, reference",
    [
        ("mse", lambda p, t: F.mse_loss(p, t)),
        ("l1", lambda p, t: F.l1_loss(p, t)),
        ("huber", lambda p, t: F.huber_loss(p, t, delta=DELTA)),
    ],
)
def test_values_average_to_pytorchs_loss(loss, reference):
    pred, target = residual_with_kinks(1)
    values = loss_values(pred - target, loss, DELTA)
    assert values.shape == (40,) and bool((values >= 0).all())
    assert torch.allclose(values.mean(), reference(pred, target), rtol=1e-12)
    assert torch.equal(values, elementwise_loss(pred - target, loss, DELTA).mean(dim=1))


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("loss", [Loss("l1"), Loss("huber", 0.05)])
def test_training_step_minimises_the_chosen_loss(loss, weighted):
    torch.manual_seed(0)
    coords, targets = torch.rand(30, 2) * 2 - 1, torch.rand(30, 3)
    idx = torch.tensor([0, 3, 5, 8, 13, 21, 29])
    weights = torch.linspace(0.5, 2.0, idx.numel())
    model = Siren(2, 3, width=8, depth=2)
    weigh = (lambda err: weights) if weighted else None
    out = train_step(model, coords, targets, idx, chunk=3, weigh=weigh, loss=loss)
    ours = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    per_element = elementwise_loss(model(coords[idx]) - targets[idx], loss.name, loss.delta)
    reference = (per_element * (weights[:, None] if weighted else 1.0)).mean()
    reference.backward()
    assert torch.allclose(out.loss, reference.detach(), rtol=1e-6)
    for mine, theirs in zip(ours, [p.grad for p in model.parameters()], strict=True):
        assert torch.allclose(mine, theirs, rtol=1e-5, atol=1e-7)


@pytest.fixture
def signal():
    return ImageSignal(synthetic_image(12, 12), name="synthetic")


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("options", [{}, {"variant": "official"}, {"selection": "fast"}])
def test_kernel_multiplies_the_loss_gradient(signal, loss, options, monkeypatch):
    """What NINT hands to K r is the loss gradient of f(x) - y at the weights it scores."""
    seen = []
    product = residuals_module.kernel_residual_product

    def recording(model, coords, residual, *args, **kwargs):
        with torch.no_grad():
            now = model(coords).to(residual.dtype) - signal.values.to(residual.dtype)
        seen.append((residual.clone(), now))
        return product(model, coords, residual, *args, **kwargs)

    monkeypatch.setattr(residuals_module, "kernel_residual_product", recording)
    if options.get("selection") == "fast":
        options = {**options, "precision": "float32"}  # the exact model: comparable bits
    huber = {"huber_delta": 0.02} if loss == "huber" else {}
    fit(signal, "nint", iterations=2, loss=loss, **huber, **options, **TINY)
    assert seen
    delta = huber.get("huber_delta", 1.0)
    for handed, residual in seen:
        assert torch.allclose(handed, loss_gradient(residual, loss, delta), atol=1e-6)
    if loss == "l1":  # signs, exactly
        assert set(seen[0][0].unique().tolist()) <= {-1.0, 0.0, 1.0}


class Recording:
    """Mixin: after each selection keep the residual the sampler read and what it chose."""

    def select(self, step, ctx):
        idx = super().select(step, ctx)
        self.record.append((ctx.residual().clone(), {k: v.clone() for k, v in self.parts.items()}))
        return idx


def recording(name, n, **options):
    cls = type(f"Recording{name}", (Recording, SAMPLERS[name]), {})
    sampler = cls(n, **options)
    sampler.record = []
    return sampler


@pytest.mark.parametrize(
    "name, options, mse_norm",
    [
        ("int", {}, "l1"),
        ("nint", {"ntk_cutoff": 1.0}, "l2"),  # no NTK part: the error part is 11 of 36
        ("evos", {}, "l2"),
    ],
)
def test_error_parts_rank_by_the_loss_value(signal, name, options, mse_norm):
    loss = Loss("huber", 0.5)
    sampler = recording(name, signal.n_points, seed=2, ratio=0.25, **options)
    fit(signal, sampler, iterations=1, loss="huber", huber_delta=0.5, **TINY)
    residual, parts = sampler.record[0]
    chosen = set(parts["error"].tolist())
    assert chosen == set(torch.topk(loss.values(residual), len(chosen)).indices.tolist())
    # the test tells them apart: ranked as under the MSE, the error part would differ
    under_mse = torch.linalg.vector_norm(residual, ord=1 if mse_norm == "l1" else 2, dim=1)
    assert chosen != set(torch.topk(under_mse, len(chosen)).indices.tolist())


@pytest.mark.parametrize("loss", ["l1", "huber"])
@pytest.mark.parametrize("strategy", sorted(SAMPLERS))
def test_every_strategy_fits_under_every_loss(strategy, loss):
    signal = ImageSignal(synthetic_image(8, 8), name="tiny")
    result = fit(signal, strategy, iterations=3, loss=loss, **TINY)
    assert all(np.isfinite(row["loss"]) for row in result.history[1:])
    assert result.config["loss"] == loss
    assert result.config["huber_delta"] == (1.0 if loss == "huber" else None)


def test_mse_is_recorded(signal):
    config = fit(signal, "uniform", iterations=1, **TINY).config
    assert config["loss"] == "mse" and config["huber_delta"] is None


@pytest.mark.parametrize(
    "options, message",
    [
        ({"loss": "l3"}, "unknown loss 'l3'; choose from mse, l1, huber"),
        ({"loss": None}, "unknown loss None"),
        ({"loss": "huber", "huber_delta": 0}, "huber_delta must be a finite number > 0"),
        ({"loss": "huber", "huber_delta": float("nan")}, "huber_delta must be"),
        ({"huber_delta": 0.5}, "huber_delta applies only to loss='huber', not loss='mse'"),
        ({"loss": "l1", "error_norm": "l2"}, "error_norm applies only to loss='mse'"),
    ],
)
def test_bad_loss_options_are_one_line_errors(signal, options, message):
    with pytest.raises(NintError, match="^" + message.replace("(", r"\(")) as caught:
        fit(signal, "nint", iterations=1, **{**TINY, **options})
    assert len(str(caught.value).splitlines()) == 1


def test_make_loss_defaults():
    assert make_loss() == Loss("mse") and make_loss("huber") == Loss("huber", 1.0)
    assert make_loss("huber", 0.5).config() == {"loss": "huber", "huber_delta": 0.5}


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "pic.png"
    Image.fromarray((synthetic_image(8, 8) * 255).astype(np.uint8)).save(path)
    return path


CLI_TINY = ["--width", "8", "--depth", "2", "--quiet", "--iterations", "2"]


@pytest.mark.parametrize(
    "flags, loss, delta",
    [(["--loss", "l1"], "l1", None), (["--loss", "huber", "--huber-delta", "0.25"], "huber", 0.25)],
)
def test_cli_loss_is_recorded(image, tmp_path, flags, loss, delta):
    out = tmp_path / "run"
    assert main(["fit", str(image), *CLI_TINY, *flags, "--out", str(out)]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["loss"] == loss and config["huber_delta"] == delta


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--loss", "l3"], "argument --loss: invalid choice: 'l3'"),
        (["--loss", "huber", "--huber-delta", "0"], "--huber-delta: expected a finite number > 0"),
        (["--huber-delta", "0.5"], "huber_delta applies only to loss='huber', not loss='mse'"),
        (["--loss", "l1", "--error-norm", "l2"], "error_norm applies only to loss='mse'"),
    ],
)
def test_cli_bad_loss_is_one_line_and_no_folder(image, tmp_path, capsys, flags, message):
    out = tmp_path / "run"
    try:
        code = main(["fit", str(image), *CLI_TINY, *flags, "--out", str(out)])
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("nint: error:") and message in err and len(err.splitlines()) == 1, err
    assert not out.exists()
