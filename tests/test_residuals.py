"""The opt-in stale residual (``residual_every``): full passes when due, patches in between."""

import pytest
import torch
from conftest import synthetic_image
from torch import nn

from nint import fit
from nint.errors import NintError
from nint.models import Siren
from nint.residuals import StaleResiduals, StepFeedback
from nint.samplers import SAMPLERS, SelectionContext
from nint.signals.image import ImageSignal

SMALL = dict(width=32, depth=2, seed=1, device="cpu", eval_every=100)


class CountingZero(nn.Module):
    """Predicts 0 for every coordinate and counts its forward passes."""

    calls = 0

    def forward(self, x):
        self.calls += 1
        return torch.zeros(x.shape[0], 2)


def test_full_pass_every_m_requests_and_patches_between():
    stale = StaleResiduals(3)
    model = CountingZero()
    coords, targets = torch.zeros(6, 1), torch.zeros(6, 2)
    for _ in range(7):  # each selection builds its own context; asking twice costs nothing
        ctx = SelectionContext(model, coords, targets, 0.0, source=stale)
        r = ctx.residual()
        assert ctx.residual() is r
    assert model.calls == stale.full_passes == 3  # requests 0, 3 and 6
    stale.observe(StepFeedback(torch.tensor([1, 4]), torch.ones(2, 2)))
    assert torch.equal(r[[1, 4]], torch.ones(2, 2)) and r.sum() == 4
    with pytest.raises(NintError, match="integer >= 1"):
        StaleResiduals(0)


class RecordingInt(SAMPLERS["int"]):
    """INT that keeps, at every selection, the weights, the residual it read and its choice."""

    def select(self, step, ctx):
        weights = {k: v.clone() for k, v in ctx.model.state_dict().items()}
        idx = super().select(step, ctx)
        self.record.append((weights, ctx.residual().clone(), idx.clone()))
        return idx


def test_selection_reads_the_last_full_residual_patched_by_training_errors():
    signal = ImageSignal(synthetic_image(16, 16))
    sampler = RecordingInt(signal.n_points, seed=1, ratio=0.25)
    sampler.record = []
    result = fit(signal, sampler, iterations=3, residual_every=3, **SMALL)
    assert result.summary["residual_passes"] == 1 and result.summary["time_parts"]["residual"] > 0
    assert any("approximate selection" in note for note in result.summary["notes"])
    (w0, r0, i0), (w1, r1, i1), (_, r2, _) = sampler.record
    model = Siren(2, 3, width=32, depth=2)

    def residual_at(weights):
        model.load_state_dict(weights)
        with torch.no_grad():
            return model(signal.coords) - signal.values

    expected = r0.clone()
    expected[i0] = residual_at(w0)[i0]  # no change: step 0 trained at the full pass's weights
    torch.testing.assert_close(r1, expected)
    expected[i1] = residual_at(w1)[i1]
    torch.testing.assert_close(r2, expected)
    assert not torch.allclose(r2, residual_at(sampler.record[2][0]))  # stale elsewhere


def test_exact_path_is_the_default_and_m_1_changes_nothing():
    signal = ImageSignal(synthetic_image(16, 16))
    a = fit(signal, "nint", iterations=4, **SMALL)
    b = fit(signal, "nint", iterations=4, residual_every=1, **SMALL)
    assert torch.equal(a.prediction, b.prediction) and "residual_passes" not in b.summary


def test_nint_with_stale_residuals_counts_its_passes_and_still_learns():
    signal = ImageSignal(synthetic_image(32, 32))
    result = fit(signal, "nint", iterations=12, residual_every=4, lr=1e-3, **SMALL)
    assert result.summary["residual_passes"] == 3 and result.config["residual_every"] == 4
    assert result.history[-1]["psnr"] > result.history[0]["psnr"] + 3


def test_residual_every_needs_a_strategy_that_reads_residuals():
    signal = ImageSignal(synthetic_image(16, 16))
    with pytest.raises(NintError, match="'uniform' does not"):
        fit(signal, "uniform", iterations=1, residual_every=2, **SMALL)
