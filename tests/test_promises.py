"""The two timing promises, checked from the outside (``nint.fit`` and public classes only).

1. Evaluation runs off the training clock: making evaluation slow leaves ``train_seconds`` where
   it was; making a part of the training step slow moves it by that much. "Slow" is simulated:
   the slowed parts move ``nint.timing.clock`` (the one clock every duration is read from) on by
   PAUSE seconds at once (conftest's ``simulated_clock``). PAUSE is far above what the tiny steps
   themselves take on any machine, however busy, and nothing waits.
2. Each history row scores the weights after that iteration's update: the recorded metrics equal
   PSNR and SSIM computed here, with scikit-image, from copies of the model taken independently
   of the fit's own evaluation.
"""

import copy
from itertools import pairwise

import numpy as np
import pytest
import torch
from conftest import synthetic_image
from skimage.metrics import peak_signal_noise_ratio, structural_similarity
from torch import nn

from nint import SAMPLERS, ImageSignal, Siren, fit

PAUSE = 100.0  # simulated seconds added to each slowed call
ITERATIONS = 8


class SlowEvaluation(ImageSignal):
    """An image whose evaluation (prediction and metrics) is slow by 2 x PAUSE."""

    def __init__(self, *args, clock, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.clock = clock

    def predict_for_eval(self, model, chunk, device):
        self.clock.pause(PAUSE)
        return super().predict_for_eval(model, chunk, device)

    def evaluate(self, prediction):
        self.clock.pause(PAUSE)
        return super().evaluate(prediction)


class SlowTraining(nn.Module):
    """A model whose forward is slow by PAUSE when it builds a graph (the training step) and
    unchanged without gradients (evaluation; ``uniform`` runs no residual pass)."""

    def __init__(self, inner: nn.Module, clock) -> None:
        super().__init__()
        self.inner, self.clock = inner, clock

    def forward(self, coords: torch.Tensor) -> torch.Tensor:
        if torch.is_grad_enabled():
            self.clock.pause(PAUSE)
        return self.inner(coords)


def tiny_model(signal: ImageSignal) -> Siren:
    torch.manual_seed(0)
    return Siren(2, signal.out_features, width=16, depth=2)


def test_slow_evaluation_is_not_charged_to_the_training_clock(simulated_clock):
    signal = SlowEvaluation(synthetic_image(8, 8), name="slow-eval", clock=simulated_clock)
    result = fit(signal, "uniform", model=tiny_model(signal), iterations=ITERATIONS, eval_every=1)
    evaluations = len(result.history)
    assert evaluations == ITERATIONS + 1
    slept = 2 * PAUSE * evaluations
    assert result.history[-1]["wall_seconds"] >= slept  # the slow evaluations did run
    # the clock holds only the tiny steps (milliseconds): not one of the evaluations' pauses
    assert result.summary["train_seconds"] < PAUSE
    assert sum(result.summary["time_parts"].values()) == pytest.approx(
        result.summary["train_seconds"]
    )


def test_a_slow_training_step_is_charged_to_the_training_clock(simulated_clock):
    signal = ImageSignal(synthetic_image(8, 8), name="slow-step")
    model = SlowTraining(tiny_model(signal), simulated_clock)
    result = fit(signal, "uniform", model=model, iterations=ITERATIONS, eval_every=1)
    slept = PAUSE * ITERATIONS  # one chunk per step: 13 of 64 pixels
    assert slept <= result.summary["train_seconds"] < slept + PAUSE  # each pause charged once
    assert result.summary["time_parts"]["train"] >= slept
    # and each evaluation row saw the clock move by at least one slowed step
    seconds = [row["train_seconds"] for row in result.history]
    assert all(b - a >= PAUSE for a, b in pairwise(seconds))


def independent_scores(model: nn.Module, signal: ImageSignal) -> tuple[float, float]:
    """PSNR and SSIM of a copy of ``model`` on ``signal``, with scikit-image and a plain
    forward pass: nothing of the fit's evaluation path is shared."""
    net = copy.deepcopy(model)
    device = next(net.parameters()).device  # the fit's device ("auto": CUDA where present)
    with torch.no_grad():
        prediction = net(signal.coords.to(device)).double().cpu().numpy()
    image = np.clip(prediction.reshape(signal.image.shape), 0.0, 1.0)
    truth = signal.image.astype(np.float64)
    psnr = peak_signal_noise_ratio(truth, image, data_range=1.0)
    ssim = structural_similarity(truth, image, data_range=1.0, channel_axis=-1)
    return psnr, ssim


class Snapshots(SAMPLERS["uniform"]):
    """Uniform sampling that copies the model each time it is asked to select: at iteration t
    (0-based) the model holds the weights after t updates."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.models: dict[int, nn.Module] = {}

    def select(self, step, ctx):
        self.models[step] = copy.deepcopy(ctx.model)
        return super().select(step, ctx)


def test_each_row_scores_the_weights_after_that_iterations_update():
    signal = ImageSignal(synthetic_image(12, 12), name="post-update")
    model = tiny_model(signal)
    sampler = Snapshots(signal.n_points, ratio=0.5, seed=0)
    result = fit(signal, sampler, model=model, iterations=ITERATIONS, eval_every=1, lr=1e-2)
    rows = {int(row["iteration"]): row for row in result.history}
    assert sorted(rows) == list(range(ITERATIONS + 1))
    # row t: after t updates = the copy taken when iteration t's selection began; the last
    # row: the fitted model itself
    weights = {**sampler.models, ITERATIONS: result.model}
    for t, row in rows.items():
        psnr, ssim = independent_scores(weights[t], signal)
        assert row["psnr"] == pytest.approx(psnr, rel=1e-6, abs=1e-9), t
        assert row["ssim"] == pytest.approx(ssim, rel=1e-6, abs=1e-9), t
    # the updates moved the metric at every iteration, so scoring the weights of the iteration
    # before (an update applied after its evaluation) could not match by accident
    psnrs = [rows[t]["psnr"] for t in range(ITERATIONS + 1)]
    assert all(abs(b - a) > 1e-4 for a, b in pairwise(psnrs))


def test_one_iteration_fit_scores_its_updated_model():
    signal = ImageSignal(synthetic_image(12, 12), name="one-step")
    model = tiny_model(signal)
    initial = copy.deepcopy(model)
    result = fit(signal, "standard", model=model, iterations=1, eval_at=[1], lr=1e-2)
    first, last = result.history[0], result.history[-1]
    assert (first["iteration"], last["iteration"]) == (0, 1)
    assert first["psnr"] == pytest.approx(independent_scores(initial, signal)[0], rel=1e-6)
    assert last["psnr"] == pytest.approx(independent_scores(result.model, signal)[0], rel=1e-6)
    assert last["psnr"] != pytest.approx(first["psnr"], abs=1e-4)
