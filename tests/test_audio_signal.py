import json

import numpy as np
import pytest
import soundfile as sf
import torch
from conftest import SHARED

from nint import NintError, fit
from nint.cli import main
from nint.samplers import SAMPLERS, image_only
from nint.signals import AudioSignal, list_utterances, load_audio, load_signal

ROOT = SHARED / "audio/librispeech/test-clean"
needs_data = pytest.mark.skipif(not ROOT.exists(), reason="no shared LibriSpeech data")
TINY = ["--width", "32", "--depth", "2", "--quiet"]


def chirp(seconds=0.5, rate=8000):
    t = np.arange(int(seconds * rate)) / rate
    return 0.5 * np.sin(2 * np.pi * (200 + 400 * t) * t)


@pytest.fixture
def clip(tmp_path):
    path = tmp_path / "chirp.wav"
    sf.write(path, chirp(), 8000)
    return path


@needs_data
def test_librispeech_listing_in_corpus_order():
    utts = list_utterances(ROOT)
    assert [u.id for u in utts] == [f"121-121726-{i:04d}" for i in range(15)]
    assert len(list_utterances(ROOT, limit=3)) == 3
    assert sf.info(str(utts[0].path)).samplerate == 16000


def test_listing_sorts_numbers_and_skips_strays(tmp_path):
    for speaker, chapter, utt in [(10, 5, 2), (2, 7, 10), (2, 7, 9)]:
        folder = tmp_path / str(speaker) / str(chapter)
        folder.mkdir(parents=True, exist_ok=True)
        sf.write(folder / f"{speaker}-{chapter}-{utt:04d}.flac", chirp(0.1), 8000)
    sf.write(tmp_path / "2" / "7" / "3-7-0001.flac", chirp(0.1), 8000)  # wrong speaker folder
    assert [u.id for u in list_utterances(tmp_path)] == ["2-7-0009", "2-7-0010", "10-5-0002"]
    with pytest.raises(NintError, match="no LibriSpeech folder"):
        list_utterances(tmp_path / "missing")
    with pytest.raises(NintError, match="no utterances"):
        list_utterances(tmp_path / "10" / "5")


def test_load_segment_stereo_and_coordinates(tmp_path):
    left, right = chirp(1.0), 0.5 * chirp(1.0)
    path = tmp_path / "stereo.flac"
    sf.write(path, np.stack([left, right], axis=1), 8000)
    sig = load_audio(path, start=0.25, duration=0.5, coord_range=7.0)
    expected = ((left + right) / 2)[2000:6000]
    assert sig.n_points == 4000 and sig.rate == 8000
    np.testing.assert_allclose(sig.samples, expected, atol=1e-4)  # FLAC is 16-bit
    assert float(sig.coords.min()) == -7.0 and float(sig.coords.max()) == 7.0
    assert float(sig.values.abs().max()) == pytest.approx(1.0)
    np.testing.assert_allclose(sig.as_audio(sig.values), sig.samples, atol=1e-6)


@pytest.mark.parametrize(
    "kind, options, message",
    [
        ("text", {}, "cannot read"),
        ("png", {}, "cannot read"),
        ("empty", {}, "no audio samples"),
        ("silent", {}, "silent"),
        ("constant", {}, "silent"),
        ("clip", {"start": 0.5}, "outside the clip"),
        ("clip", {"start": -1}, "outside the clip"),
        ("clip", {"start": 0.25, "duration": 0.5}, "ends after the clip"),
        ("clip", {"duration": 0}, "positive"),
        ("missing", {}, "no such file"),
    ],
)
def test_bad_audio(tmp_path, clip, kind, options, message):
    # an empty FLAC cannot be written, an empty WAV (header only) can
    suffix = ".wav" if kind == "empty" else ".flac"
    path = {"clip": clip, "missing": tmp_path / "none.wav"}.get(kind, tmp_path / f"{kind}{suffix}")
    if kind == "text":
        path.write_text("not audio at all")
    elif kind == "png":
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    elif kind == "empty":
        sf.write(path, np.zeros(0), 8000)
    elif kind == "silent":
        sf.write(path, np.zeros(800), 8000)
    elif kind == "constant":
        sf.write(path, np.full(800, 0.25), 8000)
    with pytest.raises(NintError, match=message):
        load_audio(path, **options)


def test_ogg_vorbis(tmp_path):
    path = tmp_path / "voice.ogg"
    sf.write(path, chirp(0.5), 8000, format="OGG", subtype="VORBIS")
    sig = load_signal(path)
    assert isinstance(sig, AudioSignal) and sig.rate == 8000
    assert abs(sig.n_points - 4000) < 100  # Vorbis may pad or trim a few samples
    assert np.corrcoef(sig.samples[:3900], chirp(0.5)[:3900])[0, 1] > 0.99


def test_options_must_fit_the_modality(clip):
    with pytest.raises(NintError, match="--crop does not apply to audio"):
        load_signal(clip, crop=10)
    assert isinstance(load_signal(clip, start=None, crop=None), AudioSignal)


def test_short_fit_raises_si_snr(clip):
    sig = load_audio(clip, coord_range=100.0)
    result = fit(sig, "nint", iterations=150, eval_every=50, lr=1e-3, width=64, depth=3)
    first, last = result.history[0], result.history[-1]
    assert last["si_snr"] > first["si_snr"] + 5


@pytest.mark.parametrize("strategy", [s for s in SAMPLERS if s not in image_only()])
def test_every_sampler_and_schedule_fits_audio(clip, strategy):
    sig = load_audio(clip)
    r = fit(
        sig,
        strategy,
        iterations=6,
        eval_every=3,
        width=32,
        depth=2,
        scheduler="step",
        interval="dense2",
    )
    assert r.summary["iterations"] == 6 and r.prediction.shape == (4000, 1)


def test_cli_end_to_end(clip, tmp_path, capsys):
    out = tmp_path / "run"
    args = [
        "fit",
        str(clip),
        "--strategy",
        "int",
        "--iterations",
        "10",
        "--eval-every",
        "5",
        "--out",
        str(out),
        "--duration",
        "0.4",
        "--coord-range",
        "50",
        *TINY,
    ]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "SI-SNR" in printed and "resampled from 8000 Hz" in printed
    names = {p.name for p in out.iterdir()}
    assert {
        "reconstruction.wav",
        "spectrogram.png",
        "selection.png",
        "history.csv",
        "summary.json",
        "config.json",
        "environment.json",
        "si_snr_vs_time.png",
    } <= names
    audio, rate = sf.read(out / "reconstruction.wav")
    assert rate == 8000 and audio.shape == (3200,)
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["final"]) >= {"si_snr", "stoi", "pesq"}
    resampled, not_speech = summary["notes"]  # a chirp's level is steady: not speech
    assert resampled == "STOI and PESQ computed at 16 kHz on copies resampled from 8000 Hz"
    assert "does not look like speech" in not_speech
    for metric, value in summary["final"].items():
        if value is None:  # a missing metric comes with its reason
            assert summary["missing"][metric]
    config = json.loads((out / "config.json").read_text())
    assert config["signal"]["coord_range"] == 50 and config["model"]["first_omega_0"] == 30


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--start", "9"], "outside the clip"),
        (["--duration", "2"], "ends after the clip"),
        (["--crop", "4"], "does not apply to audio"),
        (["--strategy", "soft"], "needs an image"),
        (["--strategy", "egra"], "needs an image"),
        (["--strategy", "evos", "--evos-crossover"], "needs an image"),
    ],
)
def test_cli_bad_audio_input(clip, tmp_path, capsys, extra, message):
    out = tmp_path / "run"
    code = main(["fit", str(clip), "--iterations", "3", "--out", str(out), *TINY, *extra])
    err = capsys.readouterr().err.strip()
    assert code == 2 and message in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_pesq_missing_on_a_short_clip_is_reported(tmp_path):
    path = tmp_path / "short.wav"
    sf.write(path, chirp(0.2, 16000), 16000)
    sig = load_audio(path)
    metrics = sig.evaluate(torch.zeros(sig.n_points, 1) + sig.values)
    assert metrics["pesq"] is None and "1/4 of a second" in sig.missing["pesq"]
