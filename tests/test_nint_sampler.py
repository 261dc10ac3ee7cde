"""NINT's selection: the official variant's counts (docs/method.md section 3); the paper variant."""

import math

import torch
from torch import nn

from nint import Siren
from nint.residuals import ResidualSource
from nint.samplers import SelectionContext, make_sampler
from nint.samplers.nint import official_counts, paper_counts


class FixedSource(ResidualSource):
    """A residual source with a fixed residual and a cheap stand-in for K r, counting NTK
    products: what a strategy selects from it can be checked by hand."""

    def __init__(self, n, channels, seed):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.fixed_residual = torch.randn(n, channels, generator=g)
        self.fixed_kr = torch.randn(n, channels, generator=g)
        self.ntk_calls = 0

    def residual(self, frame):
        return self.fixed_residual

    def kernel_residual(self, frame):
        self.ntk_calls += 1
        return self.fixed_kr


class FakeContext(SelectionContext):
    """A context (reused across selections) on a ``FixedSource``."""

    def __init__(self, n, channels=1, seed=0, progress=0.0):
        source = FixedSource(n, channels, seed)
        zeros = torch.zeros(n, channels)
        super().__init__(nn.Identity(), torch.zeros(n, 2), zeros, progress, source=source)
        self._residual, self._kr = source.fixed_residual, source.fixed_kr

    @property
    def ntk_calls(self):
        return self.source.ntk_calls


# (first t, last t, n_ntk, n_err, n_rand) for N = 262,144, B = 0.2 N (docs/method.md section 3)
OFFICIAL_TABLE = [
    (0, 18, 5786, 9942, 36700),
    (19, 28, 2128, 13599, 36701),
    (29, 38, 783, 14945, 36700),
    (39, 48, 288, 15440, 36700),
    (49, 58, 105, 15622, 36701),
    (59, 68, 38, 15689, 36701),
    (99, 108, 0, 15727, 36701),
    (109, 130, 0, 15728, 36700),
]


def test_official_counts_match_the_released_code():
    n = 262_144
    sampler = make_sampler("nint", n, variant="official", ratio=0.2, seed=0)
    ctx = FakeContext(n)
    counts, refreshed_at = {}, []
    for t in range(131):
        before = ctx.ntk_calls
        idx = sampler.select(t, ctx)
        if ctx.ntk_calls > before:
            refreshed_at.append(t)
        counts[t] = sampler.last_counts
        assert idx.numel() == 52_428 and idx.unique().numel() == 52_428
    for first, last, *expected in OFFICIAL_TABLE:
        for t in range(first, last + 1):
            assert counts[t] == tuple(expected), t
    # NTK scored at c = 1, 10, 20, ..., 50; from c = 60 on the share is below 1e-3.
    assert refreshed_at == [0, 9, 19, 29, 39, 49]


def test_official_reuses_cached_indices_after_the_cutoff():
    n = 10_000
    sampler = make_sampler("nint", n, variant="official", ratio=0.2)
    ctx = FakeContext(n)
    for t in range(60):
        sampler.select(t, ctx)
    cached = sampler.parts["ntk"]
    assert cached.numel() == official_counts(2000, 0.3 * math.exp(-6), 0.7)[0] > 0
    # indices cached at t = 49 (the last refresh), truncated: the top of the same ranking
    top = torch.topk(ctx._kr.norm(dim=1), 105).indices
    assert torch.equal(cached, top[: cached.numel()])


def test_paper_variant_parts_follow_the_definition():
    n, k = 5_000, 1_000
    sampler = make_sampler("nint", n, ratio=0.2, seed=3)
    ctx = FakeContext(n, channels=3)
    scores = ctx._kr.norm(dim=1)
    errors = ctx._residual.norm(dim=1)
    for t in range(25):
        idx = sampler.select(t, ctx)
        share = 0.3 * math.exp(-t / 10)
        n_ntk, n_err, n_rand = paper_counts(k, share, 0.7, 1e-3)
        assert sampler.last_counts == (n_ntk, n_err, n_rand)
        assert n_rand == 700 and n_ntk == int(share * k)
        parts = sampler.parts
        assert torch.equal(parts["ntk"], torch.argsort(scores, descending=True)[:n_ntk])
        taken = torch.zeros(n, dtype=torch.bool)
        taken[parts["ntk"]] = True
        err_rank = torch.argsort(errors.masked_fill(taken, -1.0), descending=True)[:n_err]
        assert set(parts["error"].tolist()) == set(err_rank.tolist())
        assert idx.unique().numel() == k
    # scores computed at t = 0, 10, 20 only
    assert ctx.ntk_calls == 3


def test_paper_variant_stops_scoring_below_the_cutoff():
    n = 2_000
    sampler = make_sampler("nint", n, ratio=0.5)
    ctx = FakeContext(n)
    for t in range(200):
        sampler.select(t, ctx)
    # 0.3 exp(-t/10) < 1e-3 from t = 58 on: scored at t = 0, 10, ..., 50
    assert ctx.ntk_calls == 6
    assert sampler.last_counts[0] == 0 and sampler.parts["ntk"].numel() == 0


class Counting(SelectionContext):
    """A real context that counts its NTK products."""

    calls = 0

    def kernel_residual(self):
        Counting.calls += 1
        return super().kernel_residual()


def test_fresh_coordinates_are_scored_anew():
    """On redrawn coordinates cached NTK scores describe other points: NINT scores every time."""
    torch.manual_seed(0)
    model = Siren(2, 1, width=8, depth=1)
    coords, targets = torch.rand(60, 2), torch.rand(60, 1)
    for variant in ("paper", "official"):
        for fresh, expected in ((True, 4), (False, 1)):
            Counting.calls = 0
            sampler = make_sampler("nint", 60, variant=variant, alpha=10)
            for t in range(4):
                sampler.select(t, Counting(model, coords, targets, 0.0, fresh=fresh))
            assert Counting.calls == expected, (variant, fresh)
