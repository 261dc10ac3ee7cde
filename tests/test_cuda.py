"""The CUDA paths, checked against the CPU. Marked ``cuda``: skipped where PyTorch sees no GPU.

``benchmarks/gpu_check.py`` runs this file on a GPU machine and puts the results (with the
numbers each test records through ``record_property``) in its report. To try the test code itself
on a CPU, ``NINT_CUDA_TESTS_DEVICE=cpu pytest tests/test_cuda.py`` runs the comparisons CPU
against CPU: that only shows the tests run, it checks nothing about CUDA.
"""

from __future__ import annotations

import copy
import os
import time

import pytest
import torch
from conftest import synthetic_image

from nint import ImageSignal, Siren, fit, kernel_residual_product, make_sampler

pytestmark = pytest.mark.cuda

DEVICE = torch.device(os.environ.get("NINT_CUDA_TESTS_DEVICE", "cuda"))
ON_CUDA = DEVICE.type == "cuda"
GIB = 2**30
SMALL = dict(width=64, depth=3, seed=0, eval_every=4)


def recorded_fit(signal: ImageSignal, name: str, device: torch.device, iterations: int, **options):
    """Fit with the named strategy and return (every selection on the CPU, the result)."""
    sampler = make_sampler(name, signal.n_points, seed=0, raster=signal.raster, **options)
    log: list[torch.Tensor] = []
    choose = sampler.select

    def select(step, ctx):
        idx = choose(step, ctx)
        log.append(idx.detach().cpu().clone())
        return idx

    # an instance attribute shadows the method: fit() calls sampler.select(step, ctx)
    sampler.select = select
    result = fit(signal, sampler, iterations=iterations, device=device, **SMALL)
    return log, result


def overlap(a: torch.Tensor, b: torch.Tensor) -> float:
    """|a & b| / |a | b| of two index sets."""
    sa, sb = set(a.tolist()), set(b.tolist())
    return len(sa & sb) / max(1, len(sa | sb))


@pytest.mark.parametrize(
    "name, options",
    [
        ("standard", {}),
        ("uniform", {"scheduler": "linear"}),
        ("expansive", {}),
        ("egra", {}),
    ],
)
def test_selection_does_not_depend_on_the_device(name, options, record_property):
    # these strategies draw from the sampler's CPU generator and never look at the network's
    # output, so a fixed seed must give the very same indices on either device
    signal = ImageSignal(synthetic_image(32, 32), name="synthetic")
    on_cpu, _ = recorded_fit(signal, name, torch.device("cpu"), 8, **options)
    on_device, result = recorded_fit(signal, name, DEVICE, 8, **options)
    assert result.config["device"].startswith(DEVICE.type)
    assert len(on_device) == len(on_cpu) == 8
    for step, (a, b) in enumerate(zip(on_cpu, on_device, strict=True)):
        assert torch.equal(a, b), f"{name}: selection {step} differs between cpu and {DEVICE}"
    record_property("selections_equal", len(on_cpu))


@pytest.mark.parametrize("name", ["int", "nint"])
def test_float_dependent_selection_starts_the_same(name, record_property):
    # INT and NINT rank by the network's errors (and NINT by K r), which float rounding on the
    # GPU changes slightly: the first selection (same initial weights) must still agree almost
    # everywhere; later ones drift apart as the weights do, which is recorded, not asserted
    signal = ImageSignal(synthetic_image(32, 32), name="synthetic")
    on_cpu, _ = recorded_fit(signal, name, torch.device("cpu"), 8)
    on_device, _ = recorded_fit(signal, name, DEVICE, 8)
    overlaps = [overlap(a, b) for a, b in zip(on_cpu, on_device, strict=True)]
    record_property("overlap_per_iteration", " ".join(f"{o:.3f}" for o in overlaps))
    assert overlaps[0] >= 0.9


def test_kernel_residual_product_matches_float64_on_the_cpu(record_property):
    torch.manual_seed(0)
    model = Siren(2, 3)  # the default 5 x 256 SIREN
    g = torch.Generator().manual_seed(1)
    coords = torch.rand(2048, 2, generator=g) * 2 - 1
    with torch.no_grad():
        residual = model(coords) - torch.rand(2048, 3, generator=g)
    reference = kernel_residual_product(
        copy.deepcopy(model).double(), coords.double(), residual.double()
    )
    got = kernel_residual_product(
        model.to(DEVICE), coords.to(DEVICE), residual.to(DEVICE), chunk_size=512
    ).cpu()
    error = float((got.double() - reference).norm() / reference.norm())
    record_property("relative_error", f"{error:.2e}")
    # float32 on a CPU is ~1e-7 here; 1e-4 leaves room for other summation orders, not for
    # reduced-precision (TF32) matmuls, which would show up at ~1e-3
    assert error < 1e-4


def synced_step_seconds(signal: ImageSignal, steps: int = 5) -> float:
    """One full-batch SIREN step (forward, backward, Adam) timed here with explicit syncs."""
    torch.manual_seed(0)
    model = Siren(2, 3).to(DEVICE)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    x, y = signal.coords.to(DEVICE), signal.values.to(DEVICE)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        (model(x) - y).pow(2).mean().backward()
        optimizer.step()

    step()  # warm-up: kernels loaded, allocator primed
    if ON_CUDA:
        torch.cuda.synchronize(DEVICE)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if ON_CUDA:
        torch.cuda.synchronize(DEVICE)
    return (time.perf_counter() - start) / steps


def test_clock_parts_sum_to_the_training_time_and_wait_for_the_device(record_property):
    side = 512 if ON_CUDA else 64
    signal = ImageSignal(synthetic_image(side, side), name="synthetic")
    result = fit(signal, "nint", iterations=12, eval_every=6, device=DEVICE, seed=0)
    s = result.summary
    parts = s["time_parts"]
    assert all(v >= 0 for v in parts.values())
    assert sum(parts.values()) == pytest.approx(s["train_seconds"], rel=1e-9, abs=1e-12)
    for part in ("residual", "ntk", "select", "train", "optimizer"):
        assert parts[part] > 0, part
    clock = [row["train_seconds"] for row in result.history]
    assert clock == sorted(clock)
    assert s["train_seconds"] <= result.history[-1]["wall_seconds"]

    # Without a synchronisation at each part boundary the clock would record kernel launches
    # only: the GPU work would be paid later, off the clock (at evaluation). So Stand.'s
    # clocked step must cost about what the same step costs timed with explicit syncs.
    standard = fit(signal, "standard", iterations=10, eval_every=10, device=DEVICE, seed=0)
    clocked = standard.summary["seconds_per_iteration"]
    reference = synced_step_seconds(signal)
    record_property("standard_clocked_s_per_it", f"{clocked:.4g}")
    record_property("standard_synced_s_per_it", f"{reference:.4g}")
    assert clocked >= 0.5 * reference


@pytest.mark.skipif(not ON_CUDA, reason="peak memory is measured with the CUDA allocator")
def test_memory_is_bounded_at_1024_by_1024_with_the_chunk_options(record_property):
    signal = ImageSignal(synthetic_image(1024, 1024), name="synthetic")
    chunk = 16384

    def peak(**chunks) -> float:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(DEVICE)
        result = fit(signal, "nint", iterations=2, eval_every=2, device=DEVICE, seed=0, **chunks)
        assert result.summary["time_parts"]["ntk"] > 0  # K r ran over all 1,048,576 points
        return torch.cuda.max_memory_allocated(DEVICE) / GIB

    chunked = peak(forward_chunk=chunk, train_chunk=chunk, ntk_chunk_size=chunk, eval_chunk=chunk)
    whole = peak(forward_chunk=None, train_chunk=None, ntk_chunk_size=None, eval_chunk=None)
    record_property("peak_gib_chunks_16384", f"{chunked:.3f}")
    record_property("peak_gib_one_pass", f"{whole:.3f}")
    # chunks of 16k points hold a few 16k x 256 activations (16 MiB each) next to the
    # 1M-point signal (20 MiB): far under 1.5 GiB, and far under the one-pass peak
    assert chunked < 1.5
    assert chunked < 0.5 * whole
