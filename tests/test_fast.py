"""The fast residual pass (bitwise identical) and the opt-in compiled passes (off the clock)."""

import json

import numpy as np
import pytest
import torch
from conftest import synthetic_image
from PIL import Image
from torch import nn

from nint import ImageSignal, NintError, Siren, fit, kernel_residual_product
from nint.cli import main
from nint.models import CompiledSiren, fast_inference, fast_inference_enabled, predict
from nint.models import compiled as compiled_module
from nint.samplers.int_ import IntSampler
from nint.samplers.nint import NintSampler


@pytest.fixture(autouse=True)
def _settled_sine():
    """One sine call before any comparison. On this 2-core CPU the first multi-threaded
    ``torch.sin`` of a process is sometimes computed less accurately on one thread's half (errors
    up to 1.5e-4 instead of 4e-8; 3 in 40 fresh processes, never with one thread), plain and fast
    path alike; from the second call on results are reproducible. docs/speed.md has the details."""
    torch.sin(torch.linspace(-40, 40, 1 << 20))


def plain(model, coords, chunk):
    with fast_inference(False):
        return predict(model, coords, chunk)


@pytest.mark.parametrize("n", [1, 7, 8192, 8192 + 1000])
def test_fast_pass_is_bitwise_equal_to_the_model(n):
    torch.manual_seed(n)
    model = Siren(2, 3)  # 5 x 256, the default
    coords = torch.rand(n, 2) * 2 - 1
    with torch.no_grad():
        expected = model(coords)
    with torch.inference_mode():
        direct = model.forward_inference(coords)
    assert torch.equal(direct, expected)
    with torch.no_grad():
        chunked = model.forward_inference(coords, 8192)
        assert torch.equal(chunked, torch.cat([model(x) for x in coords.split(8192)]))
    assert torch.equal(predict(model, coords, 8192), plain(model, coords, 8192))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_fast_predict_equals_plain_over_chunks_and_shapes(dtype):
    torch.manual_seed(0)
    model = Siren(3, 1, width=64, depth=3, omega_0=20.0, first_omega_0=60.0).to(dtype)
    coords = torch.rand(5000, 3, dtype=dtype) * 2 - 1
    for chunk in (None, 4096, 999):
        fast = predict(model, coords, chunk)
        assert torch.equal(fast, plain(model, coords, chunk))
        # an ordinary tensor: callers may change it in place or keep it
        assert not fast.is_inference()
        fast.add_(1.0)


def test_fast_pass_needs_autograd_off_and_other_modules_run_plainly():
    model = Siren(2, 3, width=16, depth=2)
    with pytest.raises(NintError, match="no_grad"):
        model.forward_inference(torch.zeros(4, 2))
    linear = nn.Linear(2, 3)
    coords = torch.rand(10, 2)
    out = predict(linear, coords, 4)
    with torch.no_grad():
        assert torch.equal(out, linear(coords))
    assert not out.requires_grad and not out.is_inference()


def test_switch_is_scoped():
    assert fast_inference_enabled()
    with fast_inference(False):
        assert not fast_inference_enabled()
        with fast_inference(True):
            assert fast_inference_enabled()
        assert not fast_inference_enabled()
    assert fast_inference_enabled()


def recording(cls, n_points):
    """A sampler of class ``cls`` that keeps a copy of every selection."""

    class Recording(cls):
        def select(self, step, ctx):
            idx = super().select(step, ctx)
            self.log.append(idx.clone())
            return idx

    sampler = Recording(n_points, seed=0)
    sampler.log = []
    return sampler


def run(signal, cls, iterations, **kwargs):
    sampler = recording(cls, signal.n_points)
    result = fit(signal, sampler, iterations=iterations, eval_every=5, seed=0, **kwargs)
    return sampler.log, result


@pytest.mark.parametrize("cls", [NintSampler, IntSampler])
def test_selection_is_identical_with_fast_inference_on_and_off(cls):
    signal = ImageSignal(synthetic_image(32, 32), name="synthetic")
    # 12 iterations: NINT scores the NTK at 0 and 10; a 300-row chunk leaves a shorter last one
    opts = {"forward_chunk": 300, "ntk_chunk_size": 256, "width": 64, "depth": 3}
    with fast_inference(False):
        plain_log, plain_run = run(signal, cls, 12, **opts)
    fast_log, fast_run = run(signal, cls, 12, **opts)
    assert not plain_run.config["fast_inference"] and fast_run.config["fast_inference"]
    assert len(fast_log) == 12
    assert all(torch.equal(a, b) for a, b in zip(plain_log, fast_log, strict=True))
    for p, q in zip(plain_run.model.parameters(), fast_run.model.parameters(), strict=True):
        assert torch.equal(p, q)
    strip = ("train_seconds", "wall_seconds")
    assert [{k: v for k, v in r.items() if k not in strip} for r in plain_run.history] == [
        {k: v for k, v in r.items() if k not in strip} for r in fast_run.history
    ]


# the compiled tests share one tiny configuration, so dynamo compiles its graphs once
TINY = {"width": 32, "depth": 2}


def tiny_image():
    return ImageSignal(synthetic_image(16, 16), name="synthetic")


def test_compiled_passes_match_the_plain_ones_to_float_rounding():
    torch.manual_seed(0)
    model = Siren(2, 3, **TINY)
    net = CompiledSiren(model)
    coords, values = torch.rand(256, 2) * 2 - 1, torch.rand(256, 3)
    seconds = net.warm_up(
        coords, values, train_chunk=None, ntk_chunk_size=None, batch_size=51, ntk=True
    )
    assert seconds > 0 and all(p.grad is None for p in model.parameters())
    with torch.no_grad():
        expected = model(coords)
    assert torch.equal(predict(net, coords), expected)  # the residual pass is not compiled
    compiled_out, plain_out = net(coords[:51]), model(coords[:51])
    torch.testing.assert_close(compiled_out, plain_out, rtol=1e-5, atol=1e-6)
    # the compiled backward reaches the SIREN's own parameters
    compiled_out.pow(2).sum().backward()
    compiled_grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    plain_out.pow(2).sum().backward()
    for got, p in zip(compiled_grads, model.parameters(), strict=True):
        torch.testing.assert_close(got, p.grad, rtol=1e-4, atol=1e-6)
    residual = torch.randn(256, 3)
    w = kernel_residual_product(net, coords, residual)
    w_plain = kernel_residual_product(model, coords, residual)
    torch.testing.assert_close(w, w_plain, rtol=1e-4, atol=1e-5 * float(w_plain.abs().max()))
    assert not net.eager_calls
    net(coords[:50])  # a shape that was not warmed up runs eagerly, it is not compiled
    assert net.eager_calls == {"train": 1}


def test_compile_runs_before_the_clock_and_is_reported(monkeypatch, simulated_clock):
    import torch._dynamo.utils

    graphs = torch._dynamo.utils.counters["stats"]
    seen = {}
    warm_up = compiled_module.CompiledSiren.warm_up

    def slow_warm_up(self, *args, **kwargs):
        seconds = warm_up(self, *args, **kwargs)
        seen["graphs"] = graphs["unique_graphs"]
        # a stand-in for a very slow cold compile: it must not reach the training clock
        simulated_clock.pause(100.0)
        return seconds + 100.0

    monkeypatch.setattr(compiled_module.CompiledSiren, "warm_up", slow_warm_up)
    result = fit(tiny_image(), "nint", iterations=3, eval_every=3, compile=True, **TINY)
    s = result.summary
    assert result.config["compile"] is True
    assert s["compile_seconds"] >= 100.0 and s["train_seconds"] < 100.0
    assert s["compile_eager_calls"] == {}
    assert graphs["unique_graphs"] == seen["graphs"]  # nothing compiled on the clock
    assert fit(tiny_image(), "int", iterations=1, **TINY).summary["compile_seconds"] is None


def test_compile_refuses_other_models():
    with pytest.raises(NintError, match="Siren"):
        fit(tiny_image(), "int", iterations=1, model=nn.Linear(2, 3), compile=True)


def test_cli_compile_flag(tmp_path, capsys):
    path = tmp_path / "pic.png"
    Image.fromarray((synthetic_image(16, 16) * 255).astype(np.uint8)).save(path)
    out = tmp_path / "run"
    args = ["fit", str(path), "--strategy", "int", "--iterations", "2", "--out", str(out)]
    assert main([*args, "--compile", "--width", "32", "--depth", "2", "--quiet"]) == 0
    assert "torch.compile" in capsys.readouterr().out
    assert json.loads((out / "config.json").read_text())["compile"] is True
    assert json.loads((out / "summary.json").read_text())["compile_seconds"] > 0
