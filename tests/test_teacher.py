"""``nint.Teacher``: every strategy inside a caller's own training loop.

The loop here is the user's: their model (nint's SIREN or a plain ``nn.Module``), their Adam,
their loss, with ``select`` before and ``feedback`` after every step. What is checked: every
strategy trains through it with valid indices; each misuse ends in one ``NintError`` line;
selections follow the training (no frozen context: INT once returned one selection 29 times out
of 29); coordinates may change at every step; the vector K multiplies is the loss's gradient or
the caller's own; and ``nint.fit``, which runs on a Teacher, selects exactly what a hand-written
loop does.
"""

from __future__ import annotations

import math
from itertools import pairwise

import pytest
import torch
from conftest import synthetic_image
from golden_fits import recording
from torch import nn

import nint
import nint.residuals
from nint import Batch, NintError, Teacher
from nint.samplers import SAMPLERS, SelectionContext

STRATEGIES = ("standard", "uniform", "int", "evos", "soft", "expansive", "egra", "nint")
SIGNAL = nint.ImageSignal(synthetic_image(12, 12))
COORDS, TARGETS, RASTER = SIGNAL.coords, SIGNAL.values, SIGNAL.raster
N, C = TARGETS.shape


class FourierMLP(nn.Module):
    """A user's own model: random Fourier features, then a small ReLU MLP."""

    def __init__(self, out_features: int = C, features: int = 16, width: int = 32) -> None:
        super().__init__()
        self.register_buffer("frequencies", 3.0 * torch.randn(2, features))
        self.net = nn.Sequential(
            nn.Linear(2 * features, width), nn.ReLU(), nn.Linear(width, out_features)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = math.pi * x @ self.frequencies
        return self.net(torch.cat([z.sin(), z.cos()], dim=1))


def make_model(kind: str = "siren") -> nn.Module:
    torch.manual_seed(0)
    return nint.Siren(2, C, width=32, depth=2) if kind == "siren" else FourierMLP()


def teacher_for(strategy: str = "nint", model: nn.Module | None = None, **options) -> Teacher:
    options.setdefault("steps", 10)
    return Teacher(model or make_model(), COORDS, TARGETS, strategy, raster=RASTER, **options)


def full_mse(model: nn.Module) -> float:
    with torch.no_grad():
        return float(((model(COORDS) - TARGETS) ** 2).mean())


def train(teacher: Teacher, steps: int, lr: float = 1e-3) -> tuple[list[Batch], list[float]]:
    """The user's loop: a weighted MSE on ``batch.coords`` (so Soft Mining gets its coordinate
    gradients), Adam, feedback every step."""
    optimizer = torch.optim.Adam(teacher.model.parameters(), lr=lr)
    batches, losses = [], []
    for _ in range(steps):
        batch = teacher.select()
        prediction = teacher.model(batch.coords)
        errors = prediction - batch.targets
        loss = (batch.weights(errors)[:, None] * errors**2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        teacher.feedback(batch, prediction)
        batches.append(batch)
        losses.append(float(loss.detach()))
    return batches, losses


def index_set(batch: Batch) -> frozenset[int]:
    return frozenset(batch.indices.tolist())


# -- every strategy, two kinds of model ----------------------------------------------------------


def test_the_strategies_are_the_eight_registered() -> None:
    assert set(STRATEGIES) <= set(SAMPLERS)


@pytest.mark.parametrize("kind", ["siren", "fourier"])
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_strategy_trains_a_model_in_the_users_loop(strategy: str, kind: str) -> None:
    model = make_model(kind)
    teacher = teacher_for(strategy, model, steps=8)
    before = full_mse(model)
    batches, losses = train(teacher, 8, lr=1e-3 if kind == "siren" else 1e-2)
    for batch in batches:
        idx = batch.indices
        assert idx.dtype == torch.int64 and idx.ndim == 1
        assert 0 < idx.numel() <= N and int(idx.min()) >= 0 and int(idx.max()) < N
        assert idx.unique().numel() == idx.numel()
        assert torch.equal(batch.rows, idx)  # one process: the rows are the indices
        assert torch.equal(batch.targets, TARGETS[idx])
        if SAMPLERS[strategy].exact_count:
            assert idx.numel() == teacher.sampler.batch_size(batch.step / 8)
    assert [b.step for b in batches] == list(range(8)) and teacher.step == 8
    assert all(math.isfinite(v) for v in losses)
    assert full_mse(model) < before
    if strategy == "soft":
        # the loss came from batch.coords, so backward() filled their gradient for the sampler
        last = batches[-1]
        assert last.wants_coord_grad and last.coords.grad is not None
        assert last.coords.grad.shape == (last.indices.numel(), 2)


# -- misuse: one NintError line each --------------------------------------------------------------


def refused(phrase: str, action) -> None:
    with pytest.raises(NintError) as caught:
        action()
    message = str(caught.value)
    assert phrase in message, message
    assert "\n" not in message


def test_select_twice_without_feedback() -> None:
    teacher = teacher_for("uniform")
    teacher.select()
    refused("no feedback for the batch of step 0", teacher.select)


def test_feedback_twice_or_before_any_select() -> None:
    teacher = teacher_for("uniform")
    refused("no batch is waiting for feedback", lambda: teacher.feedback(None, TARGETS[:1]))
    batch = teacher.select()
    teacher.feedback(batch, errors=torch.zeros(batch.indices.numel(), C))
    refused("no batch is waiting for feedback", lambda: teacher.feedback(batch, batch.targets))


def test_feedback_for_an_old_batch() -> None:
    teacher = teacher_for("uniform")
    old = teacher.select()
    teacher.feedback(old, old.targets)
    teacher.select()
    refused("for the batch of the last select", lambda: teacher.feedback(old, old.targets))


@pytest.mark.parametrize(
    "bad",
    [
        lambda batch: {"prediction": batch.targets[:, :1]},  # would broadcast to (k, C)
        lambda batch: {"prediction": TARGETS},  # every coordinate's, not the batch's
        lambda batch: {"errors": batch.targets[1:]},
        lambda batch: {"prediction": batch.targets.tolist()},
    ],
    ids=["one-channel", "all-rows", "errors-short", "a-list"],
)
def test_feedback_of_the_wrong_shape(bad) -> None:
    teacher = teacher_for("uniform")
    batch = teacher.select()
    refused("this batch needs", lambda: teacher.feedback(batch, **bad(batch)))
    teacher.feedback(batch, batch.targets)  # the batch still waits for its feedback


def test_feedback_needs_exactly_one_of_prediction_and_errors() -> None:
    teacher = teacher_for("uniform")
    batch = teacher.select()
    one_of = "prediction or its errors (one of them)"
    refused(one_of, lambda: teacher.feedback(batch))
    refused(one_of, lambda: teacher.feedback(batch, batch.targets, errors=batch.targets * 0))


def test_soft_mining_needs_the_coordinate_gradient() -> None:
    model = make_model()
    teacher = teacher_for("soft", model)
    batch = teacher.select()
    # a loop that gathers its own coordinates: batch.coords never took part in the loss
    prediction = model(COORDS[batch.indices])
    ((prediction - batch.targets) ** 2).mean().backward()
    refused("follows the loss gradient", lambda: teacher.feedback(batch, prediction))


def test_no_steps_and_no_progress() -> None:
    teacher = Teacher(make_model(), COORDS, TARGETS, "uniform")
    refused("needs the training progress", teacher.select)
    batch = teacher.select(progress=0.0)
    teacher.feedback(batch, batch.targets)


def test_model_that_is_not_a_module() -> None:
    refused("must be a torch.nn.Module", lambda: Teacher("siren", COORDS, TARGETS, steps=5))
    refused("needs its tensors", lambda: Teacher(lambda p, x: x, COORDS, TARGETS, steps=5))
    weights = [torch.ones(2, C, requires_grad=True)]
    refused("a module has its own", lambda: Teacher(make_model(), COORDS, TARGETS, params=weights))
    refused("floating-point tensors", lambda: Teacher(lambda p, x: x, COORDS, TARGETS, params=[]))


def functional_mlp(params: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """A model written as a function of its weights: a one-hidden-layer sine MLP."""
    w1, b1, w2, b2 = params
    return torch.sin(3.0 * (x @ w1 + b1)) @ w2 + b2


def test_a_function_of_its_parameters_is_taught_like_the_same_module() -> None:
    """A forward function with its tensors: K r equals that of the equivalent module, and the
    caller's optimizer, stepping the caller's tensors, changes what the teacher scores."""
    torch.manual_seed(0)
    params = [
        (torch.randn(2, 16) / 2).requires_grad_(),
        torch.zeros(16, requires_grad=True),
        (torch.randn(16, C) / 4).requires_grad_(),
        torch.zeros(C, requires_grad=True),
    ]
    linear1, linear2 = nn.Linear(2, 16), nn.Linear(16, C)
    with torch.no_grad():
        linear1.weight.copy_(params[0].T)
        linear1.bias.copy_(params[1])
        linear2.weight.copy_(params[2].T)
        linear2.bias.copy_(params[3])

    class Same(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.first, self.last = linear1, linear2

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.last(torch.sin(3.0 * self.first(x)))

    residual = torch.randn(N, C)
    teacher = Teacher(functional_mlp, COORDS, TARGETS, "nint", params=params, steps=5)
    got = nint.kernel_residual_product(teacher.model, COORDS, residual)
    want = nint.kernel_residual_product(Same(), COORDS, residual)
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)
    optimizer = torch.optim.Adam(params, lr=1e-2)
    before = full_mse(teacher.model)
    for _ in range(5):
        batch = teacher.select()
        prediction = functional_mlp(params, batch.coords)
        loss = ((prediction - batch.targets) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        teacher.feedback(batch, prediction)
    assert full_mse(teacher.model) < before  # the teacher's module sees the caller's updates


def test_model_whose_outputs_do_not_match_the_targets() -> None:
    model = nint.Siren(2, 1, width=8, depth=1)
    refused("the targets need (1, 3)", lambda: Teacher(model, COORDS, TARGETS, steps=5))


@pytest.mark.parametrize(
    ("coords", "targets", "phrase"),
    [
        (COORDS[:, 0], TARGETS, "coords must be a 2-D float tensor"),
        (COORDS, TARGETS.long(), "targets must be a 2-D float tensor"),
        (COORDS.numpy(), TARGETS, "coords must be a torch tensor"),
        (COORDS, TARGETS[:-1], f"coords has {N} rows but targets has {N - 1}"),
    ],
    ids=["coords-1d", "targets-int", "coords-numpy", "rows"],
)
def test_bad_coordinates_or_targets(coords, targets, phrase: str) -> None:
    refused(phrase, lambda: Teacher(make_model(), coords, targets, "uniform", steps=5))


def test_new_coordinates_must_keep_the_shapes() -> None:
    teacher = teacher_for("uniform")
    refused("must keep the teacher's shapes", lambda: teacher.select(COORDS[:-1], TARGETS[:-1]))
    refused("must keep the teacher's shapes", lambda: teacher.select(COORDS, TARGETS[:, :1]))
    refused("both coords and targets, or neither", lambda: teacher.select(COORDS))
    refused("2-D float tensor", lambda: teacher.select(COORDS.long(), TARGETS))


def test_evos_refuses_new_coordinates() -> None:
    teacher = teacher_for("evos")
    batch = teacher.select()
    teacher.feedback(batch, batch.targets)
    teacher.select(COORDS, TARGETS)  # its own coordinates again: fine
    teacher.feedback(teacher._pending, teacher._pending.targets)
    refused("needs the same coordinates", lambda: teacher.select(COORDS.clone(), TARGETS))


def test_residual_every_with_fast_selection() -> None:
    refused(
        "two approximations",
        lambda: teacher_for("nint", selection="fast", residual_every=3),
    )


def test_feedback_reaches_the_residual_source() -> None:
    # residual_every's stale residual is patched with each step's own errors (here made up, so
    # that they differ from the full pass at the same weights)
    teacher = teacher_for("int", residual_every=3)
    batch = teacher.select()
    errors = torch.linspace(-1, 1, batch.indices.numel() * C).reshape(-1, C)
    teacher.feedback(batch, errors=errors)
    assert torch.equal(teacher.source.value[batch.rows], errors)


def test_residual_every_refuses_new_coordinates() -> None:
    teacher = teacher_for("int", residual_every=3)
    batch = teacher.select()
    teacher.feedback(batch, batch.targets)
    refused("residual_every needs fixed coordinates", lambda: teacher.select(COORDS + 0, TARGETS))


def test_gradient_with_a_strategy_that_does_not_use_the_ntk() -> None:
    refused("does not score with the NTK", lambda: teacher_for("uniform", gradient=torch.sub))
    refused("does not score with the NTK", lambda: teacher_for("int", gradient=torch.sub))


def test_a_sampler_instance_and_options() -> None:
    sampler = nint.make_sampler("uniform", N)
    refused("carries its own options", lambda: teacher_for(sampler, ratio=0.5))
    other = nint.make_sampler("uniform", N + 1)
    refused(f"built for {N + 1} coordinates", lambda: teacher_for(other))


def test_error_norm_with_another_loss() -> None:
    only_mse = "error_norm applies only to loss='mse'"
    refused(only_mse, lambda: teacher_for("int", loss="l1", error_norm="l2"))
    teacher_for("int", loss="mse", error_norm="l2")  # the MSE takes it


def test_steps_and_strategy_values() -> None:
    refused("steps must be a positive integer", lambda: teacher_for("uniform", steps=0))
    refused("strategy must be a strategy name", lambda: teacher_for(3))


# -- nothing freezes ------------------------------------------------------------------------------


def test_int_selections_follow_the_training() -> None:
    # the old bug: one context built before the loop kept its residual, and INT returned the
    # same 28 coordinates at every step
    teacher = teacher_for("int", steps=20)
    batches, _ = train(teacher, 20, lr=1e-2)
    sets = [index_set(b) for b in batches]
    changes = sum(a != b for a, b in pairwise(sets))
    assert changes >= 15, f"INT changed its selection at {changes} of 19 steps"


def test_soft_mining_moves_between_steps() -> None:
    teacher = teacher_for("soft", steps=6)
    batches, _ = train(teacher, 6)
    sets = [index_set(b) for b in batches]
    assert all(a != b for a, b in pairwise(sets))


# -- coordinates that change every step (SDF-style) -----------------------------------------------


def fresh_points(generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    coords = torch.rand(N, 2, generator=generator) * 2 - 1
    targets = 0.5 + 0.4 * torch.sin(3 * coords[:, :1] + torch.arange(C) * coords[:, 1:])
    return coords, targets


def count_ntk_products(monkeypatch) -> list[torch.Tensor]:
    """Record the residual argument of every NTK product the residual sources run."""
    calls: list[torch.Tensor] = []
    original = nint.residuals.kernel_residual_product

    def counted(model, coords, residual, *args, **kwargs):
        calls.append(residual.detach().clone())
        return original(model, coords, residual, *args, **kwargs)

    monkeypatch.setattr(nint.residuals, "kernel_residual_product", counted)
    return calls


@pytest.mark.parametrize("strategy", ["nint", "uniform"])
def test_new_coordinates_every_step(strategy: str, monkeypatch) -> None:
    calls = count_ntk_products(monkeypatch)
    generator = torch.Generator().manual_seed(1)
    model = make_model()
    teacher = Teacher(model, *fresh_points(generator), strategy, steps=6)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(6):
        coords, targets = fresh_points(generator)
        batch = teacher.select(coords, targets)
        assert torch.equal(batch.coords, coords[batch.indices])
        assert torch.equal(batch.targets, targets[batch.indices])
        assert batch.indices.unique().numel() == batch.indices.numel()
        prediction = model(batch.coords)
        loss = ((prediction - batch.targets) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        teacher.feedback(batch, prediction)
    # NINT rescored the new points at every selection (alpha = 10 would reuse its scores on
    # fixed points); uniform never asks
    assert len(calls) == (6 if strategy == "nint" else 0)


def test_fixed_coordinates_reuse_the_ntk_scores(monkeypatch) -> None:
    calls = count_ntk_products(monkeypatch)
    train(teacher_for("nint", steps=6), 6)
    assert len(calls) == 1  # scored at step 0, reused until alpha = 10


# -- the vector K multiplies ----------------------------------------------------------------------


def frame_of(teacher: Teacher) -> SelectionContext:
    return SelectionContext(
        teacher.model, COORDS, TARGETS, 0.0, source=teacher.source, loss=teacher.loss
    )


def test_l1_hands_k_the_l1_gradient() -> None:
    teacher = teacher_for("nint", loss="l1")
    gradient = teacher.source.loss_gradient(frame_of(teacher))
    prediction = teacher.model(COORDS)
    (autograd,) = torch.autograd.grad((prediction - TARGETS).abs().sum(), prediction)
    assert torch.equal(gradient, autograd)
    assert set(gradient.unique().tolist()) <= {-1.0, 0.0, 1.0}


def test_the_callers_gradient_is_what_k_multiplies(monkeypatch) -> None:
    calls = count_ntk_products(monkeypatch)

    def charbonnier(prediction: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        r = prediction - targets
        return r / torch.sqrt(r**2 + 0.01**2)

    teacher = teacher_for("nint", gradient=charbonnier)
    teacher.select()
    with torch.no_grad():
        expected = charbonnier(teacher.model(COORDS), TARGETS)
        residual = teacher.model(COORDS) - TARGETS
    assert len(calls) == 1
    torch.testing.assert_close(calls[0], expected)
    assert not torch.allclose(calls[0], residual)  # not the MSE's r


# -- nint.fit is one user of the Teacher ----------------------------------------------------------


def test_fit_selects_what_a_hand_written_loop_selects() -> None:
    signal = nint.ImageSignal(synthetic_image(16, 16))
    log: list[torch.Tensor] = []
    with recording(log):
        nint.fit(signal, "nint", iterations=5, seed=0, width=32, depth=3, lr=1e-3, eval_every=5)
    torch.manual_seed(0)  # fit seeds its default SIREN so
    model = nint.Siren(2, 3, 32, 3, 30.0, signal.default_first_omega_0)
    teacher = Teacher(model, signal.coords, signal.values, "nint", steps=5, seed=0)
    batches, _ = train(teacher, 5, lr=1e-3)  # NINT's loss weights are ones: fit's plain MSE
    assert len(log) == 5
    for step, (theirs, ours) in enumerate(zip(log, batches, strict=True)):
        assert torch.equal(theirs, ours.indices), f"the selections differ at step {step}"
