"""The metrics against references: scikit-image for PSNR and SSIM, cases worked by hand, and
brute force for SI-SNR, IoU and Chamfer on small inputs (float64, plain loops)."""

import math

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from nint.metrics import psnr, si_snr, ssim
from nint.metrics.shape import chamfer_distance, iou

CASES = [(16, 16, 1, 0.01), (24, 17, 3, 0.05), (9, 31, 3, 0.2), (40, 40, 1, 0.5)]


def noisy_pair(height, width, channels, noise, seed):
    rng = np.random.default_rng(seed)
    truth = rng.random((height, width, channels))
    pred = np.clip(truth + noise * rng.standard_normal(truth.shape), 0.0, 1.0)
    return pred, truth


@pytest.mark.parametrize("height, width, channels, noise", CASES)
def test_psnr_and_ssim_equal_scikit_image(height, width, channels, noise):
    pred, truth = noisy_pair(height, width, channels, noise, seed=height * width)
    assert psnr(pred, truth) == pytest.approx(
        peak_signal_noise_ratio(truth, pred, data_range=1.0), rel=1e-12
    )
    reference = structural_similarity(truth, pred, data_range=1.0, channel_axis=-1)
    assert ssim(pred, truth) == pytest.approx(reference, rel=1e-12)


def test_psnr_by_hand():
    truth = np.zeros((8, 8, 3))
    assert psnr(truth + 0.1, truth) == pytest.approx(20.0)  # MSE 0.01: 10 log10(1 / 0.01)
    assert psnr(truth + 0.5, truth) == pytest.approx(10 * math.log10(4.0))  # MSE 0.25
    half = truth.copy()
    half[:4] = 0.2  # half the pixels off by 0.2: MSE 0.02
    assert psnr(half, truth) == pytest.approx(10 * math.log10(50.0))
    assert psnr(truth, truth) == math.inf
    assert psnr(truth - 0.3, truth) == math.inf  # the prediction is clipped to [0, 1] first


def test_ssim_by_hand():
    # constant images: means a and b, no variance, so SSIM = (2ab + C1) / (a^2 + b^2 + C1) with
    # C1 = (0.01 x data range)^2 in every window
    a, b, c1 = 0.2, 0.6, 0.01**2
    flat_a, flat_b = np.full((12, 12, 3), a), np.full((12, 12, 3), b)
    assert ssim(flat_a, flat_b) == pytest.approx((2 * a * b + c1) / (a * a + b * b + c1))
    pattern, _ = noisy_pair(12, 12, 3, 0.0, seed=3)
    assert ssim(pattern, pattern) == pytest.approx(1.0)
    assert ssim(1.0 - pattern, pattern) < 0.0  # an inverted image is anti-correlated


def test_si_snr_by_hand():
    # reference r = (1, 2, 3, 4), estimate e = (2, 1, 4, 3); zero-mean: r' = (-1.5, -0.5, 0.5,
    # 1.5), e' = (-0.5, -1.5, 1.5, 0.5); <e', r'> = 3, |r'|^2 = 5, so the projection is
    # s = 0.6 r' with |s|^2 = 1.8, and e' - s = (0.4, -1.2, 1.2, -0.4) with energy 3.2
    r = np.array([1.0, 2.0, 3.0, 4.0])
    e = np.array([2.0, 1.0, 4.0, 3.0])
    assert si_snr(e, r) == pytest.approx(10 * math.log10(1.8 / 3.2))  # -2.499 dB


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_si_snr_equals_a_brute_force_loop(seed):
    rng = np.random.default_rng(seed)
    r = rng.standard_normal(50)
    e = 0.7 * r + 0.3 * rng.standard_normal(50) + 2.0
    mr, me = sum(r) / len(r), sum(e) / len(e)
    rc, ec = [x - mr for x in r], [x - me for x in e]
    scale = sum(x * y for x, y in zip(ec, rc, strict=True)) / sum(x * x for x in rc)
    target = [scale * x for x in rc]
    noise = [x - t for x, t in zip(ec, target, strict=True)]
    expected = 10 * math.log10(sum(t * t for t in target) / sum(n * n for n in noise))
    assert si_snr(e, r) == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_iou_equals_a_brute_force_count(seed):
    rng = np.random.default_rng(seed)
    pred, truth = rng.random((5, 6, 7)) < 0.4, rng.random((5, 6, 7)) < 0.5
    both = either = 0
    for p, t in zip(pred.ravel().tolist(), truth.ravel().tolist(), strict=True):
        both += p and t
        either += p or t
    assert iou(pred, truth) == pytest.approx(both / either, rel=1e-12)


@pytest.mark.parametrize("sizes", [(1, 1), (7, 12), (30, 25)])
def test_chamfer_equals_brute_force_nearest_neighbours(sizes):
    rng = np.random.default_rng(sum(sizes))
    a, b = rng.random((sizes[0], 3)), rng.random((sizes[1], 3)) + 0.2

    def mean_nearest(src, dst):
        return sum(min(float(np.sum((p - q) ** 2)) for q in dst) for p in src) / len(src)

    expected = 0.5 * (mean_nearest(a, b) + mean_nearest(b, a))
    assert chamfer_distance(a, b) == pytest.approx(expected, rel=1e-12)
