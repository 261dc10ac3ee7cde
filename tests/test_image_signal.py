import numpy as np
import pytest
import torch
from conftest import SHARED, synthetic_image
from PIL import Image

from nint import NintError, load_image
from nint.signals.image import grid_coords


def test_grid_coords_corners_and_order():
    c = grid_coords(3, 4)
    assert c.shape == (12, 2)
    torch.testing.assert_close(c[0], torch.tensor([-1.0, -1.0]))
    torch.testing.assert_close(c[3], torch.tensor([1.0, -1.0]))  # end of the first row
    torch.testing.assert_close(c[-1], torch.tensor([1.0, 1.0]))


def test_rgb_8bit(tmp_path):
    array = (synthetic_image(20, 30) * 255).round().astype(np.uint8)
    Image.fromarray(array).save(tmp_path / "a.png")
    sig = load_image(tmp_path / "a.png")
    assert (sig.height, sig.width, sig.out_features) == (20, 30, 3)
    assert sig.values.min() >= 0 and sig.values.max() <= 1
    np.testing.assert_allclose(sig.image, array / 255.0, atol=1e-6)
    # pixel (row 2, column 5) is coordinate index 2 * 30 + 5
    torch.testing.assert_close(sig.values[65], torch.from_numpy(array[2, 5] / 255.0).float())


def test_grayscale_16bit(tmp_path):
    array = (np.linspace(0, 65535, 16 * 16).reshape(16, 16)).astype(np.uint16)
    Image.fromarray(array).save(tmp_path / "g16.png")
    sig = load_image(tmp_path / "g16.png")
    assert sig.out_features == 1
    np.testing.assert_allclose(sig.image[..., 0], array / 65535.0, atol=1e-6)


@pytest.mark.parametrize("planes", [3, 4])
def test_colour_16bit_keeps_all_bits(tmp_path, planes):
    import png

    rng = np.random.default_rng(0)
    array = rng.integers(0, 65536, size=(9, 11, planes), dtype=np.uint16)
    path = tmp_path / "c16.png"
    writer = png.Writer(11, 9, greyscale=False, alpha=planes == 4, bitdepth=16)
    with open(path, "wb") as f:
        writer.write(f, array.reshape(9, 11 * planes))
    sig = load_image(path)
    assert sig.out_features == 3
    np.testing.assert_allclose(sig.image, array[:, :, :3] / 65535.0, atol=1e-7)


def test_rgba_drops_alpha_and_crop_then_size(tmp_path):
    array = (synthetic_image(40, 60) * 255).astype(np.uint8)
    rgba = np.concatenate([array, np.full((40, 60, 1), 128, np.uint8)], axis=2)
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "a.png")
    sig = load_image(tmp_path / "a.png", crop="30x20", size=15)
    assert (sig.width, sig.height, sig.out_features) == (15, 10, 3)
    sig = load_image(tmp_path / "a.png", crop=20)
    np.testing.assert_allclose(sig.image, array[10:30, 20:40] / 255.0, atol=1e-6)


@pytest.mark.parametrize("crop", ["100", "0", "abc", "3x"])
def test_bad_crop(tmp_path, crop):
    Image.fromarray(np.zeros((20, 20), np.uint8)).save(tmp_path / "z.png")
    with pytest.raises(NintError):
        load_image(tmp_path / "z.png", crop=crop)


def test_unreadable_and_missing(tmp_path):
    (tmp_path / "fake.png").write_text("not an image")
    with pytest.raises(NintError, match="cannot read"):
        load_image(tmp_path / "fake.png")
    with pytest.raises(NintError, match="no such file"):
        load_image(tmp_path / "nope.png")


@pytest.mark.skipif(not (SHARED / "images/kodak/kodim05.png").exists(), reason="no shared data")
def test_kodak_centre_crop():
    sig = load_image(SHARED / "images/kodak/kodim05.png", crop=256)
    assert (sig.height, sig.width, sig.out_features) == (256, 256, 3)
    assert sig.n_points == 65536


def test_super_resolution_trains_low_and_scores_high():
    from nint import fit
    from nint.signals import SuperResSignal
    from nint.signals.image import grid_coords

    high = synthetic_image(32, 24)
    signal = SuperResSignal(high, factor=2)
    assert signal.coords.shape == (16 * 12, 2) and signal.eval_coords.shape == (32 * 24, 2)
    # pixel centres line up: a low pixel's centre is the mean of the 2 x 2 high pixels it covers
    low_grid = signal.coords.reshape(16, 12, 2)
    high_grid = grid_coords(32, 24, centres=True).reshape(32, 24, 2)
    block = high_grid[2:4, 4:6].reshape(-1, 2).mean(0)
    torch.testing.assert_close(low_grid[1, 2], block)
    # a perfect full-size prediction scores perfectly, a blurred one does not
    perfect = signal.evaluate(torch.from_numpy(high.reshape(-1, 3)))
    assert perfect["psnr"] == float("inf") or perfect["psnr"] > 99
    result = fit(signal, "nint", iterations=20, eval_every=20, width=32, depth=2, lr=1e-3)
    assert result.prediction.shape == (32 * 24, 3)
    assert result.history[-1]["psnr"] > result.history[0]["psnr"] + 3
    assert "downsampled x2" in result.summary["notes"][0]
    with pytest.raises(NintError, match="does not divide"):
        SuperResSignal(synthetic_image(31, 24))
