"""EVOS's crossover, Soft Mining, Expansive Supervision and EGRA: their rules against hand-computed
values and brute force, and a short fit with each."""

import numpy as np
import pytest
import torch
from conftest import synthetic_image
from skimage import data
from skimage.transform import resize

from nint import ImageSignal, Siren, fit
from nint.errors import NintError
from nint.samplers import SelectionContext, StepFeedback, make_sampler
from nint.samplers.egra import EgraSampler
from nint.samplers.priors import laplacian
from nint.samplers.soft import correction_weights
from nint.signals.image import grid_coords
from nint.train import train_step


@pytest.fixture(scope="module")
def astronaut():
    """A real photograph at 64 x 64 (scikit-image ships it): edges worth mining."""
    return resize(data.astronaut(), (64, 64), anti_aliasing=True).astype(np.float32)


def context(model, image, progress=0.0):
    h, w, c = image.shape
    targets = torch.from_numpy(image.reshape(-1, c).copy())
    return SelectionContext(model, grid_coords(h, w), targets, progress)


# -- EVOS crossover -----------------------------------------------------------------------------
def test_laplacian_by_hand():
    gray = torch.tensor([[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    lap = laplacian(gray)
    assert lap[1, 1] == -4.0 and lap[0, 1] == 1.0 and lap[0, 0] == 0.0  # replicated border


def test_evos_crossover_adds_the_laplacian_term():
    image = synthetic_image(12, 10)
    model = Siren(2, 3, width=16, depth=2)
    ctx = context(model, image)
    plain = make_sampler("evos", 120, raster=image).fitness(ctx)
    sampler = make_sampler("evos", 120, raster=image, crossover=True, crossover_weight=10.0)
    crossed = sampler.fitness(ctx)
    with torch.no_grad():
        pred = model(ctx.coords).reshape(12, 10, 3)
    weights = torch.tensor([0.299, 0.587, 0.114], dtype=torch.float64)
    gray_pred = pred.double() @ weights
    gray_true = torch.from_numpy(image).double() @ weights
    term = (laplacian(gray_pred) - laplacian(gray_true)).pow(2).reshape(-1)
    torch.testing.assert_close(crossed.double(), plain.double() + 10.0 * term, rtol=1e-4, atol=1e-6)
    assert sampler.config()["crossover"] is True


def test_evos_crossover_needs_an_image():
    with pytest.raises(NintError, match="needs an image"):
        make_sampler("evos", 100, crossover=True)
    make_sampler("evos", 100)  # without crossover EVOS runs on any signal


# -- Soft Mining --------------------------------------------------------------------------------
def test_correction_weights_by_hand():
    err = torch.tensor([0.1, 0.2, 0.4, 0.8], dtype=torch.float64)
    # t = 500: exponent 0.5, c = err^-0.5, clamped above at mean + std (unbiased) = 2.91086
    got = correction_weights(err, step=500)
    torch.testing.assert_close(
        got,
        torch.tensor([2.91086, 2.23607, 1.58114, 1.11803], dtype=torch.float64),
        atol=1e-5,
        rtol=0,
    )
    # t = 0: exponent 0, every weight 1
    assert torch.equal(correction_weights(err, step=0), torch.ones(4, dtype=torch.float64))
    # late in training the exponent stops at 0.6; tiny errors are floored at float16's eps
    late = correction_weights(torch.tensor([1.0, 1.0, 1e-9, 1.0], dtype=torch.float64), step=5000)
    c = torch.tensor([1.0, 1.0, (1 / 2**-10) ** 0.6, 1.0], dtype=torch.float64)
    torch.testing.assert_close(late, torch.minimum(c.clamp(min=0.2), c.mean() + c.std()))


@pytest.mark.parametrize("drift, power", [("corrected", 1), ("released", 2)])
def test_soft_mining_loss_and_drift_match_brute_force(astronaut, drift, power):
    """With duplicate members merged, the trainer's loss is the population mean of c L, and the
    drift is grad log L / P in pixel units, as a per-member autograd computation gives it; the
    released code's drift divides once more by c."""
    image = astronaut[:16, :20]
    h, w, _ = image.shape
    torch.manual_seed(1)
    model = Siren(2, 3, width=16, depth=2).double()
    sampler = make_sampler(
        "soft", h * w, raster=image, ratio=0.05, correction_ramp=10.0, drift=drift
    )
    pixels = torch.tensor([[3, 4], [3, 4], [10, 2], [0, 19], [15, 0], [7, 7], [7, 7], [7, 7]])
    sampler.positions = pixels.double() / torch.tensor([h - 1, w - 1])
    sampler._resize = lambda k: None  # keep this population of 8 (k would be 16)
    coords, targets = grid_coords(h, w).double(), torch.from_numpy(image.reshape(-1, 3)).double()
    ctx = SelectionContext(model, coords, targets, 0.0)
    step = 5  # correction exponent 0.5
    idx = sampler.select(step, ctx)
    assert idx.numel() == 5  # eight members on five distinct pixels
    out = train_step(
        model, coords, targets, idx, None,
        weigh=sampler.loss_weights, keep_errors=True, coord_grad=True,
    )  # fmt: skip
    sampler.observe(StepFeedback(idx, out.errors, out.coord_grad))

    # brute force: every member on its own, positions in pixels as differentiable leaves
    pos = pixels.double().requires_grad_(True)
    xy = torch.stack([-1 + 2 * pos[:, 1] / (w - 1), -1 + 2 * pos[:, 0] / (h - 1)], dim=1)
    err = model(xy) - targets[pixels[:, 0] * w + pixels[:, 1]]
    member_loss = err.pow(2).mean(dim=1)
    c = correction_weights(err.detach().abs().mean(dim=1), step, ramp=10.0)
    population_loss = (c * member_loss).mean()
    population_loss.backward()
    expected = pos.grad / (c**power * member_loss.detach())[:, None]
    torch.testing.assert_close(out.loss, population_loss.detach(), rtol=1e-6, atol=0)
    torch.testing.assert_close(sampler._drift, expected, rtol=1e-4, atol=1e-9)


def test_soft_mining_langevin_step_and_redraws(astronaut):
    """Members move by a * drift; the lowest-loss 10 % and those pushed outside are re-drawn on
    edge pixels; the last 10 % are re-drawn uniformly."""
    h, w, _ = astronaut.shape
    sampler = make_sampler("soft", h * w, raster=astronaut, langevin_noise=0.0)
    population = 20
    start = torch.full((population, 2), 0.5, dtype=torch.float64)
    sampler.positions = start.clone()
    drift = torch.zeros(population, 2, dtype=torch.float64)
    drift[:, 1] = 0.001 * torch.arange(population)
    drift[5] = torch.tensor([1.0, 0.0])  # pushed outside the image
    sampler._drift = drift
    sampler._member_loss = torch.arange(population, dtype=torch.float64) + 1.0
    sampler._member_loss[7] = 0.5  # the lowest loss (redraw share 10 % of 20: two members)
    sampler._move()
    moved = sampler.positions
    scale = torch.tensor([h - 1, w - 1])

    def on_pixels(p):
        return torch.allclose(p * scale, (p * scale).round())

    redrawn = [0, 5, 7]  # the two lowest losses (members 7 and 0) and the one outside
    for m in redrawn:
        assert on_pixels(moved[m])
    kept = [m for m in range(population - 2) if m not in redrawn]
    torch.testing.assert_close(moved[kept], start[kept] + 20.0 * drift[kept])
    assert not on_pixels(moved[-2:]) and (moved >= 0).all() and (moved <= 1).all()
    # edge re-draws land where the Sobel density is high
    draws = sampler._edge_pixels(2000)
    flat = (draws * torch.tensor([h - 1, w - 1])).round().long()
    density = sampler.edge_density[flat[:, 0] * w + flat[:, 1]]
    assert density.mean() > 2 * sampler.edge_density.mean()


def test_soft_mining_needs_an_image():
    with pytest.raises(NintError, match="needs an image"):
        make_sampler("soft", 100)


# -- Expansive Supervision ----------------------------------------------------------------------
def test_expansive_anchors_are_all_included_and_cover_the_area(astronaut):
    n = 64 * 64
    sampler = make_sampler("expansive", n, raster=astronaut, ratio=0.3, anchor_ratio=0.15)
    anchors = set(sampler.anchors.tolist())
    assert len(anchors) == int(0.15 * n)  # the dilated edges exceed the area and are trimmed to it
    ctx = context(Siren(2, 3, width=8, depth=1), astronaut)
    for t in range(3):
        idx = sampler.select(t, ctx)
        assert anchors <= set(idx.tolist())
        assert idx.numel() == int(0.3 * n)
    # the anchors lie on the image's edges: their mean gradient is well above the image's
    gy, gx = np.gradient(astronaut.mean(axis=2))
    grad = np.hypot(gx, gy).reshape(-1)
    assert grad[sampler.anchors.numpy()].mean() > 1.5 * grad.mean()


def test_expansive_anchor_ratio_must_be_below_the_batch():
    with pytest.raises(NintError, match="anchor_ratio"):
        make_sampler("expansive", 64, raster=synthetic_image(8, 8), ratio=0.2, anchor_ratio=0.3)


# -- EGRA ---------------------------------------------------------------------------------------
class RecordingEgra(EgraSampler):
    def density(self):
        self.last_density = super().density()
        return self.last_density


def test_egra_draws_follow_the_density(astronaut):
    """Over 200 small draws the picks on up-weighted pixels match the density's mass share."""
    n = 64 * 64
    sampler = RecordingEgra(n, raster=astronaut, ratio=0.01, edge_p=0.02)
    ctx = context(Siren(2, 3, width=8, depth=1), astronaut)
    observed = expected = 0.0
    for t in range(200):
        idx = sampler.select(t, ctx)
        weights = sampler.last_density
        heavy = weights > weights.min()
        observed += heavy[idx].sum().item()
        expected += idx.numel() * (weights[heavy].sum() / weights.sum()).item()
    assert expected > 0.25 * 200 * int(0.01 * n)  # the edges carry real weight here
    assert abs(observed - expected) < 0.05 * expected


def test_egra_jitters_its_edges(astronaut):
    sampler = make_sampler("egra", 64 * 64, raster=astronaut)
    first, second = sampler.density(), sampler.density()
    assert not torch.equal(first, second)
    assert sampler.config()["edge_pixels"] == sampler.edge_idx.numel() > 0


# -- every image baseline learns ----------------------------------------------------------------
@pytest.mark.parametrize(
    "strategy, options",
    [("soft", {}), ("expansive", {}), ("egra", {}), ("evos", {"crossover": True})],
)
def test_short_fit_raises_psnr(strategy, options):
    signal = ImageSignal(synthetic_image(24, 24))
    result = fit(
        signal, strategy, iterations=40, eval_every=40, width=32, depth=2, lr=1e-3, **options
    )
    first, last = result.history[0]["psnr"], result.history[-1]["psnr"]
    assert last > first + 3, (first, last)
