"""benchmarks/gpu_check.py between GPU visits: its --quick run on the CPU, its report and its
handling of bad input, so the prepared check cannot rot unnoticed."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from conftest import SHARED, synthetic_image
from PIL import Image

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.py"
spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
assert spec and spec.loader
gpu_check = importlib.util.module_from_spec(spec)
sys.modules["gpu_check"] = gpu_check  # dataclasses look their module up while being defined
spec.loader.exec_module(gpu_check)


@pytest.fixture
def data(tmp_path: Path) -> tuple[Path, Path]:
    """The check's own files from shared/data, else stand-ins written here."""
    image = SHARED / "images" / "kodak" / "kodim05.png"
    audio = SHARED / "audio" / "librispeech" / "test-clean" / "121" / "121726"
    audio = audio / "121-121726-0000.flac"
    if not image.exists():
        image = tmp_path / "image.png"
        Image.fromarray((synthetic_image(64, 64) * 255).astype(np.uint8)).save(image)
    if not audio.exists():
        audio = tmp_path / "speech.wav"
        t = np.arange(16000) / 16000
        tone = np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 3 * t)) / 2
        sf.write(audio, tone.astype(np.float32), 16000)
    return image, audio


def run(*args: object, timeout: float = 150) -> subprocess.CompletedProcess:
    command = [sys.executable, str(SCRIPT), *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


def test_quick_run_reports_every_part(tmp_path, data):
    image, audio = data
    out = tmp_path / "report"
    started = time.monotonic()
    done = run("--quick", "--out", out, "--image", image, "--audio", audio)
    wall = time.monotonic() - started
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = (out / "gpu_report.md").read_text()
    assert report.strip() in done.stdout  # printed as well as written
    assert "Mode: quick" in report and "- GPU: " in report and "- CPU: " in report
    rows = {line.split("|")[1].strip(): line for line in report.splitlines() if line[:1] == "|"}
    for name, title in gpu_check.PART_TITLES.items():
        assert f"## {title}" in report, name
        row = rows[f"{name}: {title}"]
        status = row.rstrip(" |").rsplit("|", 1)[1].strip()
        # on a busy CPU a part may be cut at its cap; it must never have failed
        assert status.startswith(("finished", "cut")), row
    assert "no CUDA here" in report  # the CUDA tests ran and were skipped
    assert "Stand." in report and "NINT" in report
    assert wall < 90


def test_quick_caps_add_up_to_under_90_seconds():
    # each part is killed at its cap, so the caps bound the quick run (plus ~5 s of start-up)
    assert sum(gpu_check.QUICK.caps.values()) <= 80
    # and the full run leaves half a minute of its 8 minutes to installing and start-up
    assert sum(gpu_check.FULL.caps.values()) <= 450


def test_a_part_over_its_cap_is_cut_and_the_report_says_so(tmp_path, data):
    image, audio = data
    out = tmp_path / "report"
    # two seconds do not even cover the part's start-up: it is killed with nothing finished
    done = run("--quick", "--out", out, "--image", image, "--audio", audio, "--parts", "scale",
               "--caps", "scale=2")  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = (out / "gpu_report.md").read_text()
    assert "cut: killed at its cap of 2 s" in report
    assert "## Scale" in report and "(nothing finished)" in report
    assert "## Audio" not in report


@pytest.mark.parametrize(
    "args, message",
    [
        (["--image", "/nonexistent/kodim05.png"], "missing data file /nonexistent/kodim05.png"),
        (["--caps", "video=3"], "unknown part 'video'"),
        (["--parts", "tests,video"], "unknown video"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, data, args, message):
    image, audio = data
    done = run("--quick", "--out", tmp_path, "--image", image, "--audio", audio, *args)
    assert done.returncode == 2
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "gpu_report.md").exists()


def test_an_unreadable_data_file_is_bad_input(tmp_path, data):
    image, _ = data
    bad = tmp_path / "speech.flac"
    bad.write_text("not audio")
    done = run("--quick", "--out", tmp_path, "--image", image, "--audio", bad)
    assert done.returncode == 2
    assert "cannot read" in done.stderr and len(done.stderr.strip().splitlines()) == 1


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_without_cuda_the_full_check_refuses_in_one_line(tmp_path, data):
    image, audio = data
    done = run("--out", tmp_path, "--image", image, "--audio", audio)
    assert done.returncode == 2
    assert "no CUDA device" in done.stderr and "--quick" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_junit_results_become_rows_and_counts(tmp_path):
    xml = tmp_path / "tests.xml"
    xml.write_text(
        '<testsuites><testsuite name="pytest">'
        '<testcase classname="tests.test_cuda" name="test_a" time="1.5">'
        '<properties><property name="relative_error" value="1e-07" /></properties></testcase>'
        '<testcase classname="tests.test_cuda" name="test_b" time="0.2">'
        '<failure message="assert 0.4 &gt;= 0.9&#10;more">trace</failure></testcase>'
        '<testcase classname="tests.test_cuda" name="test_c" time="0">'
        '<skipped message="needs a CUDA GPU" /></testcase>'
        "</testsuite></testsuites>"
    )
    rows, counts = gpu_check.junit_rows(xml)
    assert counts == {"passed": 1, "failed": 1, "skipped": 1}
    assert rows[0] == ["test_a", "passed", 1.5, "relative_error = 1e-07"]
    assert rows[1][1] == "failed (assert 0.4 >= 0.9)"
    assert rows[2][1] == "skipped (needs a CUDA GPU)"


def test_budget_values_are_read_at_the_first_evaluation_past_them():
    history = [{"train_seconds": s, "si_snr": s} for s in (0.0, 1.2, 3.4, 9.9, 10.3)]
    assert gpu_check.at_budget(history, 3.0)["si_snr"] == 3.4
    assert gpu_check.at_budget(history, 10.0)["si_snr"] == 10.3
    assert gpu_check.at_budget(history, 15.0) is None  # cut before the budget: no value


def test_a_missing_pesq_becomes_a_missing_metric(monkeypatch):
    from nint.metrics import Missing, pesq_wb

    # an import of pesq that fails, as on a machine where it could not travel
    monkeypatch.setitem(sys.modules, "pesq", None)
    reason = gpu_check.pesq_or_stub()
    assert reason and "pesq is not installed here" in reason
    got = pesq_wb(np.zeros(16000), np.ones(16000), 16000)
    assert isinstance(got, Missing) and "pesq is not installed here" in got.reason
