import pytest
import torch
from torch import nn

from nint.samplers import SelectionContext, make_sampler
from nint.samplers.evos import evos_counts, fitness_interval


class CountingContext(SelectionContext):
    """A context (reused across selections) with a fixed residual, counting its requests."""

    def __init__(self, n, progress=0.0):
        g = torch.Generator().manual_seed(0)
        self._r = torch.randn(n, 3, generator=g)
        super().__init__(nn.Identity(), torch.zeros(n, 1), torch.zeros(n, 3), progress)
        self.calls = 0

    def residual(self):
        self.calls += 1
        return self._r


@pytest.mark.parametrize("p, expected", [(0.0, 100), (0.5, 75), (0.99, 50), (1.0, 50)])
def test_fitness_interval(p, expected):
    assert fitness_interval(p) == expected


def test_counts_by_hand():
    # r_0 = 0.2, N = 10,000: mutation = 0.5 * 0.2 * 10,000 = 1,000
    assert evos_counts(2000, 0.2, 10_000) == (1000, 1000)
    # step scheduler at r_t = 0.28: fitness part (0.28 - 0.1) N = 1,800
    assert evos_counts(2800, 0.2, 10_000) == (1800, 1000)


@pytest.mark.parametrize("progress, refreshes", [(0.0, [0, 100]), (1.0, [0, 50, 100])])
def test_fitness_is_cached_between_refreshes(progress, refreshes):
    n = 10_000
    sampler = make_sampler("evos", n, ratio=0.2, seed=1)
    ctx = CountingContext(n, progress)
    seen, mutations = [], []
    for t in range(150):
        before = ctx.calls
        sampler.select(t, ctx)
        if ctx.calls > before:
            seen.append(t)
        mutations.append(sampler.parts["random"])
    assert seen == refreshes
    fitness = ctx._r.pow(2).sum(dim=1)
    top = torch.argsort(fitness, descending=True)[:1000]
    assert set(sampler.parts["error"].tolist()) == set(top.tolist())
    assert not torch.equal(mutations[0], mutations[1])  # mutation redrawn every selection
    assert sampler.config()["crossover"] is False
