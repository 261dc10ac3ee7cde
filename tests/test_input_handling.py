"""Inputs read as they are meant, never silently changed: EXIF orientation, every bit of a
16-bit file, the arrays the signal constructors take, and which audio channel is fitted.

Refusals that end a command line before training are rows of ``tests/test_bad_inputs.py``;
these are the cases that are read differently now, and the Python API's own checks.
"""

import numpy as np
import png
import pytest
import soundfile as sf
import tifffile
from conftest import synthetic_image
from PIL import Image, ImageOps

from nint import AudioSignal, ImageSignal, NintError, load_image, load_signal
from nint.metrics.audio import si_snr
from nint.signals import SuperResSignal

RATE = 8000


def tone(seconds: float = 0.1, frequency: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return 0.5 * np.sin(2 * np.pi * frequency * t)


def exif_saying(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif


def with_exif_chunk(path, orientation: int) -> None:
    """Insert an eXIf chunk saying ``orientation`` before the pixel data of the PNG at ``path``
    (pypng writes 16-bit colour PNGs but no EXIF; Pillow writes EXIF but not 16-bit colour)."""
    chunks = list(png.Reader(filename=str(path)).chunks())
    chunks.insert(1, (b"eXIf", exif_saying(orientation).tobytes()))
    with open(path, "wb") as f:
        png.write_chunks(f, chunks)


# ---- EXIF orientation ----------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".png", ".tif"])  # Pillow turns TIFFs itself as it decodes
@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_undone_as_pillow_does(tmp_path, orientation, suffix):
    stored = (synthetic_image(10, 14) * 255).round().astype(np.uint8)  # not square
    path = tmp_path / f"turned{suffix}"
    Image.fromarray(stored).save(path, exif=exif_saying(orientation))
    with Image.open(path) as image:
        upright = np.asarray(ImageOps.exif_transpose(image))
    sig = load_image(path)
    assert (sig.height, sig.width) == upright.shape[:2]
    np.testing.assert_allclose(sig.image, upright / 255.0, atol=1e-6)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_turns_16bit_colour_pngs_as_pillow_turns_8bit_ones(tmp_path, orientation):
    stored = (synthetic_image(10, 14) * 255).round().astype(np.uint16)
    deep, shallow = tmp_path / "deep.png", tmp_path / "shallow.png"
    with open(deep, "wb") as f:  # 257 v: the same picture at 16 bits
        png.Writer(14, 10, greyscale=False, bitdepth=16).write(f, (stored * 257).reshape(10, 42))
    with_exif_chunk(deep, orientation)
    Image.fromarray(stored.astype(np.uint8)).save(shallow, exif=exif_saying(orientation))
    np.testing.assert_allclose(load_image(deep).image, load_image(shallow).image, atol=1e-7)


def test_exif_orientation_comes_before_the_crop(tmp_path):
    stored = np.random.default_rng(1).integers(0, 65536, size=(8, 12, 3), dtype=np.uint16)
    path = tmp_path / "turned16.png"
    with open(path, "wb") as f:
        png.Writer(12, 8, greyscale=False, bitdepth=16).write(f, stored.reshape(8, 36))
    with_exif_chunk(path, 6)  # shown turned a quarter clockwise
    upright = np.rot90(stored, -1)  # 12 rows, 8 columns
    np.testing.assert_allclose(load_image(path).image, upright / 65535.0, atol=1e-7)
    # the crop is taken from the upright picture: 8 wide, the middle 8 of its 12 rows
    np.testing.assert_allclose(load_image(path, crop=8).image, upright[2:10] / 65535.0, atol=1e-7)


@pytest.mark.parametrize("orientation", [6, 8])
def test_exif_orientation_turns_16bit_colour_tiffs(tmp_path, orientation):
    stored = np.random.default_rng(5).integers(0, 65536, size=(8, 12, 3), dtype=np.uint16)
    path = tmp_path / "turned16.tif"
    tifffile.imwrite(path, stored, photometric="rgb", extratags=[(0x0112, "H", 1, orientation)])
    upright = np.rot90(stored, -1 if orientation == 6 else 1)
    np.testing.assert_allclose(load_image(path).image, upright / 65535.0, atol=1e-7)


# ---- 16 bits kept ----------------------------------------------------------------------------


def test_16bit_grey_alpha_png_keeps_all_bits_and_one_channel(tmp_path):
    pixels = np.random.default_rng(2).integers(0, 65536, size=(9, 11, 2), dtype=np.uint16)
    path = tmp_path / "la16.png"
    with open(path, "wb") as f:
        png.Writer(11, 9, greyscale=True, alpha=True, bitdepth=16).write(f, pixels.reshape(9, 22))
    sig = load_image(path)
    assert sig.out_features == 1  # grey: the alpha plane is dropped, no RGB copies made
    np.testing.assert_allclose(sig.image[:, :, 0], pixels[:, :, 0] / 65535.0, atol=1e-7)


def test_16bit_png_with_fewer_significant_bits_is_scaled_by_its_own_depth(tmp_path):
    pixels = np.random.default_rng(3).integers(0, 4096, size=(8, 8), dtype=np.uint16)
    path = tmp_path / "g12.png"
    with open(path, "wb") as f:  # stored in 16 bits with an sBIT chunk saying 12
        png.Writer(8, 8, greyscale=True, bitdepth=12).write(f, pixels)
    np.testing.assert_allclose(load_image(path).image[:, :, 0], pixels / 4095.0, atol=1e-7)


@pytest.mark.parametrize("planes", [3, 4])
def test_16bit_colour_tiff_keeps_all_bits(tmp_path, planes):
    pixels = np.random.default_rng(4).integers(0, 65536, size=(9, 11, planes), dtype=np.uint16)
    path = tmp_path / "c16.tif"
    tifffile.imwrite(path, pixels, photometric="rgb")
    sig = load_image(path)
    assert sig.out_features == 3
    np.testing.assert_allclose(sig.image, pixels[:, :, :3] / 65535.0, atol=1e-7)


def test_float_tiff_inside_0_1_is_used_as_it_is(tmp_path):
    plane = synthetic_image(8, 8, channels=1)[:, :, 0]
    plane[0, 0], plane[1, 1] = 0.0, 1.0  # both ends of the range are allowed
    Image.fromarray(plane).save(tmp_path / "f.tif")
    np.testing.assert_array_equal(load_image(tmp_path / "f.tif").image[:, :, 0], plane)


def test_camera_jpeg_with_a_preview_frame_fits_the_photograph(tmp_path):
    photo = Image.fromarray((synthetic_image(16, 16) * 255).astype(np.uint8))
    preview = Image.fromarray(np.zeros((8, 8, 3), np.uint8))
    path = tmp_path / "camera.jpg"
    photo.save(path, format="MPO", save_all=True, append_images=[preview])
    with Image.open(path) as image:
        assert image.format == "MPO" and image.n_frames == 2
        first = np.asarray(image.convert("RGB")) / 255.0
    sig = load_image(path)
    assert (sig.height, sig.width) == (16, 16)
    np.testing.assert_allclose(sig.image, first, atol=1e-6)


# ---- arrays given to the signal constructors -----------------------------------------------


@pytest.mark.parametrize("dtype, scale", [(np.uint8, 255.0), (np.uint16, 65535.0)])
def test_image_signal_scales_integer_pixels_by_their_range(dtype, scale):
    pixels = (synthetic_image(16, 16) * scale).round().astype(dtype)
    sig = ImageSignal(pixels, name="ints")
    assert sig.image.dtype == np.float32
    np.testing.assert_allclose(sig.image, pixels / scale, atol=1e-6)
    high = SuperResSignal(pixels, factor=2, name="ints").high  # the same rule
    np.testing.assert_allclose(high, pixels / scale, atol=1e-6)


@pytest.mark.parametrize(
    "pixels, match",
    [
        (
            synthetic_image(16, 16) * 255,
            r"pixel values span \[\d.*, 2\d\d.*\]; nint expects \[0, 1\]",
        ),
        (synthetic_image(16, 16) - 0.5, r"span \[-0\.\d+, 0\.\d+\]"),
        ((synthetic_image(16, 16) * 255).astype(np.int64), "int64 pixels"),
    ],
    ids=["float-0-255", "float-negative", "int64"],
)
def test_image_signal_refuses_values_outside_0_1(pixels, match):
    with pytest.raises(NintError, match=match):
        ImageSignal(pixels, name="bad")
    with pytest.raises(NintError, match=match):
        SuperResSignal(pixels, factor=2, name="bad")


def test_audio_signal_takes_one_channel_only():
    clip = tone()
    reference = AudioSignal(clip, RATE)
    for shape in [(-1, 1), (1, -1)]:  # a column or a row of one channel is fine
        np.testing.assert_array_equal(AudioSignal(clip.reshape(shape), RATE).samples, clip)
    assert reference.n_points == clip.size
    stereo = np.stack([clip, 0.5 * clip], axis=1)
    for samples in (stereo, stereo.T):
        with pytest.raises(NintError, match=r"mix the channels .* or pick one"):
            AudioSignal(samples, RATE)


@pytest.mark.parametrize("rate", [0, -8000, 8000.5, float("nan"), float("inf"), True, "8000"])
def test_audio_signal_refuses_a_rate_that_is_not_a_positive_whole_number(rate):
    with pytest.raises(NintError, match=r"sample rate must be a whole number of Hz > 0, got"):
        AudioSignal(tone(), rate)


def test_audio_signal_takes_whole_rates_of_any_number_type():
    assert AudioSignal(tone(), 8000.0).rate == 8000
    assert AudioSignal(tone(), np.int64(8000)).rate == 8000


def test_two_samples_are_too_few_for_si_snr():
    with pytest.raises(ValueError, match="at least 3 samples"):
        si_snr(np.array([0.3, 0.1]), np.array([1.0, -1.0]))  # every estimate would be inf
    with pytest.raises(NintError, match="at least 3 samples"):
        AudioSignal(np.array([1.0, -1.0]), RATE)
    assert np.isfinite(si_snr(np.array([0.0, 1.0, 0.0]), np.array([1.0, -1.0, 0.5])))


# ---- audio channels --------------------------------------------------------------------------


def test_channel_option_fits_one_channel(tmp_path):
    left, right = tone(frequency=440.0), tone(frequency=660.0)
    path = tmp_path / "stereo.wav"
    sf.write(path, np.stack([left, right], axis=1), RATE, subtype="FLOAT")
    np.testing.assert_allclose(load_signal(path, channel=1).samples, right, atol=1e-7)
    np.testing.assert_allclose(load_signal(path, channel=0).samples, left, atol=1e-7)
    np.testing.assert_allclose(load_signal(path).samples, (left + right) / 2, atol=1e-7)


def test_channel_option_on_a_mono_file(tmp_path):
    path = tmp_path / "mono.wav"
    sf.write(path, tone(), RATE, subtype="FLOAT")
    np.testing.assert_allclose(load_signal(path, channel=0).samples, tone(), atol=1e-7)
    with pytest.raises(NintError, match=r"--channel 1: .* has 1 channel\(s\)"):
        load_signal(path, channel=1)
    with pytest.raises(NintError, match="--channel must be a whole number, got True"):
        load_signal(path, channel=True)  # numpy would read it as a mask
