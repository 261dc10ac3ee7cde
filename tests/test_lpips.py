"""LPIPS: reported as missing without weights; with weights (constructed here) it is plumbed
through to the image metrics. The numbers of real LPIPS weights cannot be checked offline."""

import numpy as np
import pytest
import torch
from conftest import synthetic_image

from nint import ImageSignal, fit
from nint.metrics import Missing
from nint.metrics import lpips as lp


@pytest.fixture
def no_weights(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv(lp.ENV_VAR, raising=False)
    assert not any((f / lp.HEADS_FILE).exists() for f in lp.search_folders())


def make_weights(folder, seed=0):
    """Files with the layout of torchvision's AlexNet and of LPIPS v0.1's heads."""
    g = torch.Generator().manual_seed(seed)
    backbone, heads = {"classifier.1.weight": torch.zeros(4, 4)}, {}
    for n, (index, cin, cout, k, _, _) in enumerate(lp._CONVS):
        backbone[f"features.{index}.weight"] = torch.randn(cout, cin, k, k, generator=g) * 0.05
        backbone[f"features.{index}.bias"] = torch.randn(cout, generator=g) * 0.01
        heads[f"lin{n}.model.1.weight"] = torch.rand(1, cout, 1, 1, generator=g)
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(backbone, folder / lp.ALEXNET_FILE)
    torch.save(heads, folder / lp.HEADS_FILE)
    return backbone, heads


def test_missing_weights_are_reported_not_zero(no_weights):
    image = synthetic_image(64, 64)
    value = lp.lpips(image, image)
    assert isinstance(value, Missing) and lp.ENV_VAR in value.reason
    signal = ImageSignal(image)
    result = fit(signal, "uniform", iterations=2, width=16, depth=2)
    assert result.summary["final"]["lpips"] is None
    assert lp.ENV_VAR in result.summary["missing"]["lpips"]
    assert result.summary["reached"]["lpips<=0.2"] is None


def test_constructed_weights_are_found_loaded_and_used(no_weights, tmp_path, monkeypatch):
    backbone, heads = make_weights(tmp_path / "w")
    monkeypatch.setenv(lp.ENV_VAR, str(tmp_path / "w"))
    model = lp.load_lpips()
    assert isinstance(model, lp.AlexLPIPS)
    torch.testing.assert_close(model.convs[2].weight, backbone["features.6.weight"])
    torch.testing.assert_close(model.heads[4].weight, heads["lin4.model.1.weight"])
    a, b = synthetic_image(64, 64), synthetic_image(64, 64)[::-1].copy()
    assert lp.lpips(a, a) == 0.0
    d = lp.lpips(a, b)
    assert d > 0 and d == pytest.approx(lp.lpips(b, a), rel=1e-5)
    grey = lp.lpips(a[..., 1:2], b[..., 1:2])  # grayscale repeated to 3 channels
    assert isinstance(grey, float) and grey > 0
    metrics = ImageSignal(b).evaluate(torch.from_numpy(a.reshape(-1, 3)))
    assert metrics["lpips"] == pytest.approx(d)


def test_found_in_the_torch_cache_and_package_layout(no_weights, tmp_path, monkeypatch):
    make_weights(tmp_path / "torch" / "hub" / "checkpoints")
    (tmp_path / "torch" / "hub" / "checkpoints" / lp.HEADS_FILE).unlink()  # AlexNet only
    assert isinstance(lp.find_weights(), Missing)  # the heads are still missing
    make_weights(tmp_path / "home" / ".cache" / "nint" / "lpips")
    alexnet, heads = lp.find_weights()
    assert alexnet.parent == tmp_path / "torch" / "hub" / "checkpoints"
    assert heads.parent == tmp_path / "home" / ".cache" / "nint" / "lpips"


def test_unusable_files_are_missing_with_a_reason(no_weights, tmp_path, monkeypatch):
    folder = tmp_path / "bad"
    folder.mkdir()
    torch.save({"nothing": torch.zeros(1)}, folder / lp.ALEXNET_FILE)
    torch.save({"nothing": torch.zeros(1)}, folder / lp.HEADS_FILE)
    monkeypatch.setenv(lp.ENV_VAR, str(folder))
    value = lp.lpips(np.zeros((16, 16, 3)), np.zeros((16, 16, 3)))
    assert isinstance(value, Missing) and "not usable" in value.reason
