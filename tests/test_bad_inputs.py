"""Bad input, as a new user would give it, across images, audio, meshes and ``nint bench``.

Every row of the table must end before any training with exit status 2, exactly one line on
stderr (``nint: error: ...``, no traceback) and nothing written anywhere: no run folder, no
empty output folder, no stray file. Audio too short for STOI and PESQ is not an error: the fit
runs and those two metrics are reported missing with their reasons.
"""

import importlib.util
import json
import os
import signal
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from conftest import synthetic_image
from PIL import Image

from nint import AudioSignal, ImageSignal, NintError, Siren, fit, load_image, load_signal
from nint.checks import (
    NON_NEGATIVE,
    POSITIVE,
    RATIO,
    UNIT,
    Range,
    check_float,
    check_seed,
    format_bytes,
)
from nint.cli import main

TINY = ["--iterations", "1", "--width", "8", "--depth", "2", "--quiet"]
MESH = ["--points-per-iteration", "100", "--pool-size", "1000", "--grid-resolution", "16"]
HUGE = str(10**12)
RATE = 16000
FIFOS = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this system")
RAY = pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="Ray is not installed")


def png_header_only(path: Path, width: int, height: int, depth: int, colour: int) -> None:
    """A valid PNG header announcing width x height pixels, with almost no pixel data: what a
    decompression bomb looks like before it is decoded."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def speech_like(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.5 * np.sin(2 * np.pi * 220 * t) * np.sin(2 * np.pi * 3 * t)).astype(np.float32)


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    """One folder of good and bad files, shared by every row (rows only read it)."""
    d = tmp_path_factory.mktemp("data")
    picture = (synthetic_image(16, 16) * 255).astype(np.uint8)
    Image.fromarray(picture).save(d / "pic.png")
    plane = synthetic_image(16, 16, channels=1)[:, :, 0].copy()
    for name, bad in (("nan", np.nan), ("inf", np.inf)):
        plane[3, 3] = bad
        Image.fromarray(plane, mode="F").save(d / f"{name}.tif")  # 32-bit float TIFF
    (d / "text.png").write_text("not an image")
    png_header_only(d / "bomb.png", 20000, 20000, 8, 0)
    png_header_only(d / "bomb16.png", 20000, 20000, 16, 2)  # read by pypng, not Pillow
    clip = speech_like(0.5)
    sf.write(d / "clip.wav", clip, RATE, subtype="FLOAT")
    for name, bad in (("nan", np.nan), ("inf", np.inf)):
        broken = clip.copy()
        broken[100] = bad
        sf.write(d / f"{name}.wav", broken, RATE, subtype="FLOAT")
    sf.write(d / "one.wav", clip[:1], RATE)
    sf.write(d / "silent.wav", np.zeros(800, np.float32), RATE)
    (d / "cut.wav").write_bytes((d / "clip.wav").read_bytes()[:30])  # cut inside its header
    tetrahedron = "v 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\nf 1 3 2\nf 1 2 4\nf 1 4 3\nf 2 3 4\n"
    (d / "tet.obj").write_text(tetrahedron)
    (d / "points.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\n")
    (d / "afile").write_text("a file where a folder is expected")
    images = d / "images"
    images.mkdir()
    Image.fromarray(picture).save(images / "a.png")
    # inputs that were silently changed
    plane = synthetic_image(16, 16, channels=1)[:, :, 0].copy()
    plane[0, 0], plane[-1, -1] = 0.0, 1.0
    Image.fromarray(plane * 1000).save(d / "float1000.tif")  # was clipped to a constant
    Image.fromarray((plane * 100000).astype(np.int32)).save(d / "int32.tif")  # saturated
    frames = [Image.fromarray(picture // k) for k in (1, 2, 3)]
    frames[0].save(d / "animated.gif", save_all=True, append_images=frames[1:])
    frames[0].save(d / "pages.tif", save_all=True, append_images=frames[1:2])
    loud = speech_like(0.5)
    for name, level in (("antiphase", 1.0), ("antiphase-quiet", 0.02)):  # 16-bit PCM
        sf.write(d / f"{name}.wav", level * np.stack([loud, -loud], axis=1), RATE)
    steps = np.random.default_rng(0).integers(-1, 2, size=800).astype(np.int16)
    sf.write(d / "dither.wav", steps, RATE, subtype="PCM_16")  # +-1 step: rounding noise only
    # output folders: --overwrite and partial runs
    (d / "mine").mkdir()  # a folder nint did not write (no .nint-run marker)
    (d / "mine" / "notes.txt").write_text("the user's own notes")
    # tracebacks and hangs that became one line
    if hasattr(os, "mkfifo"):  # named pipes: opening one for reading waits for a writer
        for name in ("pipe.png", "pipe.wav", "pipe.obj"):
            os.mkfifo(d / name)
        (d / "pipes").mkdir()
        os.mkfifo(d / "pipes" / "b.png")
    return d


class Hang(Exception):
    """A test still running after minutes; not an OSError, so no loader turns it into a message."""


@pytest.fixture(autouse=True)
def no_test_hangs():
    """Fail a test that runs for minutes instead of hanging the suite: a loader that opens a
    named pipe waits for a writer forever (the alarm interrupts that wait). Unix only."""
    if not hasattr(signal, "SIGALRM"):
        yield
        return

    def stop(signum, frame):
        raise Hang("still running after 300 s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(300)  # far above any test here, even on a busy machine
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def fit_args(signal: str, *extra: str) -> list[str]:
    return ["fit", "{data}/" + signal, *TINY, *extra]


def bench_args(experiment: str, data: str, *extra: str) -> list[str]:
    return ["bench", experiment, "--data", "{data}/" + data, "--quiet", *extra]


# (argv with {data} and {work} placeholders, a fragment of the expected message)
ROWS = [
    # images
    pytest.param(fit_args("nope.png"), "no such file", id="image-missing"),
    pytest.param(fit_args("text.png"), "cannot read", id="image-not-an-image"),
    pytest.param(fit_args("nan.tif"), "non-finite pixel values", id="image-nan-pixels"),
    pytest.param(fit_args("inf.tif"), "non-finite pixel values", id="image-inf-pixels"),
    pytest.param(fit_args("bomb.png"), "decompression bomb", id="image-bomb"),
    pytest.param(fit_args("bomb16.png"), "decompression bomb", id="image-bomb-16bit"),
    pytest.param(fit_args("pic.png", "--size", "1000000"), "of memory", id="image-size-memory"),
    pytest.param(fit_args("pic.png", "--crop", "500"), "larger than the image", id="image-crop"),
    pytest.param(
        fit_args("pic.png", "--alpha", "nan"), "--alpha: expected a finite", id="alpha-nan"
    ),
    pytest.param(
        fit_args("pic.png", "--alpha", "inf"), "--alpha: expected a finite", id="alpha-inf"
    ),
    pytest.param(fit_args("pic.png", "--lambda", "nan"), "--lambda", id="lambda-nan"),
    pytest.param(fit_args("pic.png", "--ntk-cutoff", "-1"), "in [0, 1]", id="ntk-cutoff-negative"),
    pytest.param(fit_args("pic.png", "--xi", "inf"), "--xi", id="xi-inf"),
    pytest.param(fit_args("pic.png", "--lr", "nan"), "--lr", id="lr-nan"),
    pytest.param(fit_args("pic.png", "--lr", "inf"), "--lr", id="lr-inf"),
    pytest.param(fit_args("pic.png", "--omega0", "-30"), "--omega0", id="omega0-negative"),
    pytest.param(fit_args("pic.png", "--first-omega0", "0"), "in (0, ", id="first-omega0-zero"),
    pytest.param(fit_args("pic.png", "--seconds", "inf"), "--seconds", id="seconds-inf"),
    pytest.param(
        fit_args("pic.png", "--eval-every-seconds", "nan"), "--eval-every-seconds", id="cadence-nan"
    ),
    pytest.param(fit_args("pic.png", "--ratio", "nan"), "(0, 1]", id="ratio-nan"),
    pytest.param(
        fit_args("pic.png", "--strategy", "soft", "--langevin-step", "nan"),
        "--langevin-step",
        id="soft-langevin-nan",
    ),
    pytest.param(
        fit_args("pic.png", "--strategy", "evos", "--crossover-weight", "nan"),
        "--crossover-weight",
        id="evos-weight-nan",
    ),
    pytest.param(fit_args("pic.png", "--device", "mps"), "not supported", id="device-mps"),
    pytest.param(fit_args("pic.png", "--device", "meta"), "not supported", id="device-meta"),
    pytest.param(fit_args("pic.png", "--device", "cuda:99"), "'cuda:99'", id="device-cuda-99"),
    pytest.param(fit_args("pic.png", "--device", "banana"), "unknown device", id="device-garbage"),
    pytest.param(fit_args("pic.png", "--seed", "-1"), "2^63 - 1", id="seed-negative"),
    pytest.param(fit_args("pic.png", "--seed", str(2**64)), "2^63 - 1", id="seed-too-large"),
    pytest.param(
        fit_args("pic.png", "--out", "{data}/afile/run"), "is a file", id="out-under-a-file"
    ),
    pytest.param(
        fit_args("pic.png", "--out", "{work}/" + "x" * 300), "too long", id="out-name-too-long"
    ),
    pytest.param(fit_args("pic.png", "--width", HUGE), "of memory", id="width-memory"),
    pytest.param(
        fit_args("pic.png", "--grid-resolution", "64"), "does not apply", id="mesh-option-on-image"
    ),
    # audio
    pytest.param(fit_args("nan.wav"), "non-finite samples", id="audio-nan-samples"),
    pytest.param(fit_args("inf.wav"), "non-finite samples", id="audio-inf-samples"),
    pytest.param(fit_args("one.wav"), "at least 3 samples", id="audio-one-sample"),
    pytest.param(fit_args("silent.wav"), "silent", id="audio-silent"),
    pytest.param(fit_args("cut.wav"), "cannot read", id="audio-cut-in-header"),
    pytest.param(fit_args("clip.wav", "--coord-range", "inf"), "--coord-range", id="range-inf"),
    pytest.param(fit_args("clip.wav", "--coord-range", "nan"), "--coord-range", id="range-nan"),
    pytest.param(fit_args("clip.wav", "--start", "nan"), "--start", id="start-nan"),
    pytest.param(fit_args("clip.wav", "--start", "2"), "outside the clip", id="start-after-end"),
    pytest.param(fit_args("clip.wav", "--duration", "inf"), "--duration", id="duration-inf"),
    pytest.param(fit_args("clip.wav", "--crop", "8"), "does not apply", id="image-option-on-audio"),
    # inputs that were silently changed
    pytest.param(
        fit_args("float1000.tif"),
        "float pixel values span [0, 1000]; nint expects [0, 1]: rescale it first",
        id="image-float-outside-0-1",
    ),
    pytest.param(
        fit_args("int32.tif"),
        "integer pixel values span [0, 100000]; nint expects [0, 65535]",
        id="image-int32-above-16-bits",
    ),
    pytest.param(fit_args("animated.gif"), "holds 3 frames", id="image-animated-gif"),
    pytest.param(fit_args("pages.tif"), "holds 2 frames", id="image-multi-page-tiff"),
    pytest.param(
        fit_args("clip.wav", "--start", "0.4999"), "at least 3 samples", id="audio-two-samples"
    ),
    pytest.param(
        fit_args("antiphase.wav"), "cancel when averaged to mono", id="audio-antiphase-stereo"
    ),
    pytest.param(
        fit_args("antiphase-quiet.wav"),
        "fit one with --channel N",
        id="audio-antiphase-quiet-stereo",
    ),
    pytest.param(
        fit_args("antiphase.wav", "--channel", "2"), "has 2 channel(s)", id="audio-no-channel-2"
    ),
    pytest.param(fit_args("dither.wav"), "only rounding noise", id="audio-rounding-noise"),
    pytest.param(
        fit_args("antiphase.wav", "--duration", "1e-5"),
        "at least 3 samples",
        id="audio-stereo-no-samples",
    ),
    pytest.param(
        fit_args("clip.wav", "--channel", "-1"), "has 1 channel(s)", id="audio-channel-negative"
    ),
    pytest.param(
        fit_args("pic.png", "--channel", "0"), "does not apply", id="audio-option-on-image"
    ),
    # meshes
    pytest.param(
        fit_args("tet.obj", *MESH[:4], "--grid-resolution", "1000000"),
        "--grid-resolution 1000000",
        id="mesh-grid-memory",
    ),
    pytest.param(fit_args("tet.obj", "--pool-size", HUGE), "--pool-size", id="mesh-pool-memory"),
    pytest.param(
        fit_args("tet.obj", "--points-per-iteration", HUGE, "--pool-size", "0"),
        "--points-per-iteration",
        id="mesh-points-memory",
    ),
    pytest.param(
        fit_args("tet.obj", *MESH, "--chamfer-points", HUGE),
        "--chamfer-points",
        id="chamfer-memory",
    ),
    pytest.param(fit_args("points.obj"), "no faces", id="mesh-without-faces"),
    pytest.param(fit_args("tet.obj", "--size", "8"), "does not apply", id="image-option-on-mesh"),
    # output folders: --overwrite and partial runs
    pytest.param(
        fit_args("pic.png", "--out", "{data}", "--overwrite"),
        "holds the input {data}/pic.png",
        id="overwrite-input-folder",
    ),
    pytest.param(
        fit_args("pic.png", "--out", ".", "--overwrite"),
        "holds the current folder",
        id="overwrite-current-folder",
    ),
    pytest.param(fit_args("pic.png", "--out", "."), "holds the current folder", id="out-dot"),
    pytest.param(
        fit_args("pic.png", "--out", "..", "--overwrite"),
        "holds the current folder",
        id="overwrite-parent-of-current-folder",
    ),
    pytest.param(
        fit_args("pic.png", "--out", "{data}/mine", "--overwrite"),
        "was not written by nint",
        id="overwrite-folder-without-marker",
    ),
    pytest.param(
        ["demo", "--out", "{data}/mine", "--overwrite", "--quiet"],
        "was not written by nint",
        id="demo-overwrite-folder-without-marker",
    ),
    pytest.param(
        bench_args("image", "images", "--out", "{data}/mine"),
        "was not written by nint",
        id="bench-out-folder-without-marker",
    ),
    # nint bench
    pytest.param(bench_args("image", "clip.wav"), "expects images", id="bench-image-gets-audio"),
    pytest.param(bench_args("sdf", "pic.png"), "expects meshes", id="bench-sdf-gets-image"),
    pytest.param(bench_args("audio", "images"), "no utterances", id="bench-audio-gets-images"),
    pytest.param(
        bench_args("audio", "clip.wav"), "LibriSpeech split folder", id="bench-audio-file"
    ),
    pytest.param(bench_args("sdf", "images"), "no mesh files", id="bench-sdf-gets-images"),
    pytest.param(
        bench_args("image", "images", "--preset", "cpu"), "larger than the image", id="bench-crop"
    ),
    pytest.param(bench_args("image", "images", "--limit", "0"), ">= 1", id="bench-limit-zero"),
    pytest.param(bench_args("image", "images", "--seed", "-1"), "2^63 - 1", id="bench-seed"),
    pytest.param(bench_args("image", "images", "--device", "mps"), "mps", id="bench-device"),
    pytest.param(
        bench_args("image", "images", "--out", "{data}/afile/bench"), "is a file", id="bench-out"
    ),
    pytest.param(bench_args("magic", "images"), "unknown experiment", id="bench-unknown"),
    # tracebacks and hangs that became one line
    pytest.param(fit_args("pipe.png"), "named pipe", id="image-fifo", marks=FIFOS),
    pytest.param(fit_args("pipe.wav"), "named pipe", id="audio-fifo", marks=FIFOS),
    pytest.param(fit_args("pipe.obj"), "named pipe", id="mesh-fifo", marks=FIFOS),
    pytest.param(bench_args("image", "pipe.png"), "named pipe", id="bench-fifo", marks=FIFOS),
    pytest.param(
        bench_args("image", "pipes"), "named pipe", id="bench-fifo-in-folder", marks=FIFOS
    ),
    pytest.param(
        fit_args("clip.wav", "--coord-range", "1e308"),
        "--coord-range: expected a finite number in (0, 1.70141e+38]",
        id="range-float32-overflow",
    ),
    pytest.param(
        fit_args("clip.wav", "--coord-range", "2e38"), "(0, 1.70141e+38]", id="range-span-overflow"
    ),
    pytest.param(
        fit_args("clip.wav", "--omega0", "1e300"),
        "--omega0: expected a finite number in (0, 3.40282e+38]",
        id="omega0-float32-overflow",
    ),
    pytest.param(
        fit_args("pic.png", "--first-omega0", "1e39"), "--first-omega0", id="first-omega0-overflow"
    ),
    pytest.param(
        bench_args("image", "images", "--executor", "ray", "--ray-address", "127.0.0.1:1"),
        "no Ray cluster answers at 127.0.0.1:1",
        id="bench-ray-nothing-listening",
        marks=RAY,
    ),
    pytest.param(
        bench_args("image", "images", "--executor", "ray", "--ray-address", "nonsense"),
        "'nonsense' is not host:port",
        id="bench-ray-address-malformed",
    ),
    pytest.param(
        bench_args("image", "images", "--executor", "ray", "--ray-address", "host:notaport"),
        "'host:notaport' is not host:port",
        id="bench-ray-port-not-a-number",
    ),
    # nint demo
    pytest.param(["demo", "--seconds", "inf", "--quiet"], "--seconds", id="demo-seconds-inf"),
]


def snapshot(*folders: Path) -> set[Path]:
    return {p for folder in folders for p in folder.rglob("*")}


@pytest.mark.parametrize("argv, message", ROWS)
def test_bad_input_is_one_line_exit_2_and_nothing_written(
    argv, message, data, tmp_path, monkeypatch, capsys
):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)  # default output folders (runs/...) would land here
    argv = [a.format(data=data, work=work) for a in argv]
    if "--out" not in argv:
        argv += ["--out", str(work / "out")]
    before = snapshot(data, work)
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nint: error: "), err
    assert "Traceback" not in err
    assert message.format(data=data) in lines[0], lines[0]
    assert snapshot(data, work) == before


def test_the_table_covers_every_modality_and_bench():
    ids = [row.id for row in ROWS]
    assert len(ids) >= 30 and len(set(ids)) == len(ids)
    kinds = {"image": ".png", "audio": ".wav", "mesh": ".obj"}
    for kind, suffix in kinds.items():
        assert sum(row.values[0][1].endswith(suffix) for row in ROWS if row.values[0][0] == "fit")
        assert any(kind in i for i in ids)
    assert sum(row.values[0][0] == "bench" for row in ROWS) >= 5


@pytest.mark.parametrize(
    "samples, extra, missing",
    [
        (5, [], {"stoi", "pesq"}),  # under one STOI frame
        (3000, [], {"stoi", "pesq"}),  # 0.19 s: PESQ needs 0.25 s
        (8000, ["--duration", "0.01"], {"stoi", "pesq"}),
        (8000, ["--start", "0.4998"], {"stoi", "pesq"}),  # three samples left, the fewest
        (5000, [], {"stoi"}),  # 0.31 s: enough for PESQ, not for STOI's 30 frames (0.397 s)
    ],
)
def test_audio_too_short_for_stoi_or_pesq_fits_with_them_missing(
    samples, extra, missing, tmp_path, capsys
):
    path = tmp_path / "short.wav"
    sf.write(path, speech_like(0.5)[:samples], RATE)
    out = tmp_path / "run"
    assert main(["fit", str(path), *TINY, *extra, "--out", str(out)]) == 0
    assert capsys.readouterr().err == ""
    summary = json.loads((out / "summary.json").read_text())
    assert summary["final"]["si_snr"] is not None  # SI-SNR can always be scored
    for metric in ("stoi", "pesq"):
        assert (summary["final"][metric] is None) == (metric in missing)
        assert (metric in summary["missing"]) == (metric in missing)
    if "stoi" in missing:
        assert "STOI" in summary["missing"]["stoi"]
    if "pesq" in missing:
        assert "1/4 of a second" in summary["missing"]["pesq"]
    assert (out / "spectrogram.png").stat().st_size > 0


# ---- the same checks through the Python API ----------------------------------------------------


@pytest.fixture(scope="module")
def image_signal():
    return ImageSignal(synthetic_image(8, 8), name="small")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"alpha": float("nan")}, "alpha"),
        ({"lam": float("inf")}, "lambda"),
        ({"xi": float("nan")}, "xi"),
        ({"ntk_cutoff": -1.0}, "ntk_cutoff"),
        ({"ratio": float("nan")}, "batch ratio"),
        ({"seed": -1}, "seed"),
        ({"seed": 2**64}, "seed"),
        ({"seed": 1.5}, "seed"),
        ({"omega_0": float("nan")}, "omega_0"),
        ({"first_omega_0": -30.0}, "first_omega_0"),
        ({"width": 10**12}, "of memory"),
        ({"strategy": "soft", "langevin_noise": float("nan")}, "langevin_noise"),
        ({"strategy": "egra", "edge_p": float("inf")}, "edge_p"),
        ({"strategy": "evos", "crossover_weight": float("nan")}, "crossover_weight"),
    ],
)
def test_fit_refuses_bad_values(image_signal, kwargs, match):
    strategy = kwargs.pop("strategy", "nint")
    with pytest.raises(NintError, match=match):
        fit(image_signal, strategy, iterations=1, **{"width": 8, "depth": 2, **kwargs})


def test_loaders_refuse_non_finite_data_and_huge_sizes(data):
    with pytest.raises(NintError, match="non-finite"):
        ImageSignal(np.full((8, 8, 3), np.nan), name="x")
    with pytest.raises(NintError, match="non-finite"):
        AudioSignal(np.array([0.0, 1.0, np.inf]), RATE)
    with pytest.raises(NintError, match="coordinate range"):
        AudioSignal(np.array([0.0, 1.0, 0.5]), RATE, coord_range=float("inf"))
    with pytest.raises(NintError, match="of memory"):
        load_image(data / "pic.png", size=(10**6, 10**6))
    with pytest.raises(NintError, match="--grid-resolution"):
        load_signal(data / "tet.obj", grid_resolution=10**6)
    with pytest.raises(NintError, match="of memory"):
        Siren(2, 3, width=10**7)


def test_range_and_checks():
    assert str(POSITIVE) == "> 0" and str(NON_NEGATIVE) == ">= 0"
    assert str(UNIT) == "in [0, 1]" and str(RATIO) == "in (0, 1]"
    assert str(Range(0.0, 1.0, low_open=True, high_open=True)) == "in (0, 1)"
    for bad in (float("nan"), float("inf"), -float("inf")):
        assert not Range().admits(bad)
    assert RATIO.admits(1.0) and not RATIO.admits(0.0) and UNIT.admits(0.0)
    assert check_float(2, "x", POSITIVE) == 2.0
    with pytest.raises(NintError, match=r"x must be a finite number > 0, got 0"):
        check_float(0, "x", POSITIVE)
    with pytest.raises(NintError, match="must be a number"):
        check_float("a", "x", POSITIVE)
    with pytest.raises(NintError):
        check_float(True, "x", POSITIVE)
    assert check_seed(np.int64(3)) == 3 and check_seed(2**63 - 1) == 2**63 - 1
    torch.Generator().manual_seed(check_seed(2**63 - 1) + 0x5DF)  # the fit's data generator
    assert [format_bytes(n) for n in (999, 1500, 2.5e9, 8e18)] == [
        "999 bytes",
        "1.5 kB",
        "2.5 GB",
        "8 EB",
    ]
