"""The sampler contract (docs/samplers.md), run over every registered sampler and setting."""

import pytest
import torch
from conftest import synthetic_image

from nint import Siren
from nint.residuals import ResidualSource
from nint.samplers import SAMPLERS, SelectionContext, StepFeedback, make_sampler
from nint.select import count_for_ratio
from nint.signals.image import grid_coords
from nint.train import train_step

SETTINGS = [
    {},
    {"ratio": 0.35, "scheduler": "step"},
    {"ratio": 0.1, "scheduler": "linear", "interval": "dense2"},
    {"ratio": 0.5, "interval": "incremental"},
]
CASES = [(name, s) for name in SAMPLERS for s in SETTINGS] + [
    ("nint", {"variant": "official"}),
    ("nint", {"variant": "official", "ratio": 0.3, "interval": "decremental"}),
    ("evos", {"crossover": True}),
    ("expansive", {"ratio": 0.3, "anchor_ratio": 0.05}),
    ("nint", {"selection": "fast"}),
    ("nint", {"selection": "fast", "ratio": 0.1, "interval": "dense2", "precision": "float32"}),
    ("int", {"selection": "fast", "candidates": 1.5, "refresh_every": 2}),
]
N_SIDE, STEPS, TOTAL = 20, 6, 10


RASTER = synthetic_image(N_SIDE, N_SIDE)


@pytest.fixture(scope="module")
def problem():
    torch.manual_seed(0)
    model = Siren(2, 3, width=16, depth=2)
    coords = grid_coords(N_SIDE, N_SIDE)
    targets = torch.from_numpy(RASTER.reshape(-1, 3).copy())
    return model, coords, targets


def sampler_for(name, n, **settings):
    return make_sampler(name, n, raster=RASTER, **settings)


def run(sampler, problem, steps):
    """Select at each step as the trainer does (on the strategy's own residual source, if it
    has one), feeding back the training step when asked."""
    model, coords, targets = problem
    source = sampler.residual_source()  # the fast mode's, else None: the exact pass
    out = []
    for t in steps:
        ctx = SelectionContext(
            model, coords, targets, progress=t / TOTAL, ntk_chunk_size=150, source=source
        )
        idx = sampler.select(t, ctx)
        out.append(idx)
        if sampler.reweights or sampler.wants_feedback or source is not None:
            step = train_step(
                model, coords, targets, idx, 64,
                weigh=sampler.loss_weights if sampler.reweights else None,
                keep_errors=True, coord_grad=sampler.wants_coord_grad,
            )  # fmt: skip
            model.zero_grad(set_to_none=True)  # the weights stay as they are: selection only
            feedback = StepFeedback(idx, step.errors, step.coord_grad, parts=sampler.parts)
            sampler.observe(feedback)
            if source is not None:
                source.observe(feedback)
    return out


@pytest.mark.parametrize("name, settings", CASES)
def test_contract(name, settings, problem):
    model, coords, _ = problem
    n = coords.shape[0]
    sampler = sampler_for(name, n, seed=7, **settings)
    picks = run(sampler, problem, range(STEPS))
    for t, idx in enumerate(picks):
        assert idx.dtype == torch.int64 and idx.ndim == 1
        assert idx.unique().numel() == idx.numel(), "indices must be distinct"
        assert int(idx.min()) >= 0 and int(idx.max()) < n
        assert not idx.requires_grad and idx.grad_fn is None
        ratio = 1.0 if name == "standard" else sampler.ratio
        if settings.get("scheduler") in (None, "constant") and settings.get("interval") is None:
            if sampler.exact_count:
                assert idx.numel() == count_for_ratio(ratio, n), t
            else:  # duplicates merged (Soft Mining): never more than k
                assert 0 < idx.numel() <= count_for_ratio(ratio, n), t
    assert all(p.grad is None for p in model.parameters()), "selection left gradients behind"
    # same seed, same indices
    again = run(sampler_for(name, n, seed=7, **settings), problem, range(STEPS))
    assert all(torch.equal(a, b) for a, b in zip(picks, again, strict=True))


@pytest.mark.parametrize("name, settings", CASES)
def test_state_round_trip(name, settings, problem):
    n = problem[1].shape[0]
    sampler = sampler_for(name, n, seed=3, **settings)
    run(sampler, problem, range(3))
    state = sampler.state_dict()
    expected = run(sampler, problem, range(3, 6))
    restored = sampler_for(name, n, seed=999, **settings)
    restored.load_state_dict(state)
    got = run(restored, problem, range(3, 6))
    assert all(torch.equal(a, b) for a, b in zip(expected, got, strict=True))


def test_batch_follows_the_step_scheduler(problem):
    n = problem[1].shape[0]
    sampler = make_sampler("int", n, ratio=0.2, scheduler="step")
    sizes = [idx.numel() for idx in run(sampler, problem, range(TOTAL))]
    assert sizes == [count_for_ratio(0.2 + t * 0.08, n) for t in range(TOTAL)]


def test_dense2_reuses_the_subset_in_between(problem):
    n = problem[1].shape[0]
    sampler = make_sampler("uniform", n, interval="dense2")
    picks = run(sampler, problem, range(6))
    assert picks[0] is picks[1] and picks[2] is picks[3] and picks[4] is picks[5]
    assert not torch.equal(picks[0], picks[2])


class NoForward(ResidualSource):
    """A residual source that fails the test when a strategy asks it for anything."""

    def residual(self, frame):
        raise AssertionError("this strategy must not pay for a full forward")

    def error_part(self, frame, n, norm, exclude=None):
        raise AssertionError("this strategy must not pay for a full forward")

    def kernel_residual(self, frame):
        raise AssertionError("this strategy must not pay for NTK scoring")


@pytest.mark.parametrize("name", ["standard", "uniform", "expansive", "egra", "soft"])
def test_cheap_strategies_never_ask_for_a_forward(name, problem):
    model, coords, targets = problem
    sampler = sampler_for(name, coords.shape[0])
    for t in range(3):
        sampler.select(t, SelectionContext(model, coords, targets, 0.0, source=NoForward()))


def test_int_is_the_error_top_k(problem):
    model, coords, targets = problem
    n = coords.shape[0]
    sampler = make_sampler("int", n, ratio=0.25)
    ctx = SelectionContext(model, coords, targets, progress=0.0)
    idx = sampler.select(0, ctx)
    with torch.no_grad():
        l1 = (model(coords) - targets).abs().sum(dim=1)
    expected = torch.argsort(l1, descending=True)[: count_for_ratio(0.25, n)]
    assert set(idx.tolist()) == set(expected.tolist())
