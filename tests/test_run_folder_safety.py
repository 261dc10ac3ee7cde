"""Run folders never cost the user a file or a finished run (nint.report.run_folder).

--overwrite replaces only a folder that nint wrote (its .nint-run marker); a write that fails
after training keeps the run and its weights in a rescue folder named in one line; SIGTERM while
the folder is written leaves no partial folder; a partial left by a killed run of this host is
removed by the next run, and nothing else is. The refusals that happen before training are rows
of tests/test_bad_inputs.py.
"""

import errno
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import synthetic_image
from PIL import Image

import nint.report.run_folder as run_folder
from nint import ImageSignal, NintError, fit
from nint.checkpoint import load_run
from nint.cli import main
from nint.compare import compare

TINY = ["--iterations", "1", "--width", "8", "--depth", "2", "--quiet"]
RUN_FILES = {
    ".nint-run",
    "config.json",
    "environment.json",
    "weights.safetensors",
    "history.csv",
    "summary.json",
    "reconstruction.png",
    "selection.png",
    "psnr_vs_time.png",
}


@pytest.fixture
def image(tmp_path) -> Path:
    path = tmp_path / "pic.png"
    Image.fromarray((synthetic_image(8, 8) * 255).astype(np.uint8)).save(path)
    return path


@pytest.fixture
def rescue_here(tmp_path, monkeypatch) -> Path:
    """Rescue folders go to a temporary folder of this test, not the machine's."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nint: error: "), err
    return lines[0]


def test_overwrite_replaces_a_folder_nint_wrote_and_nothing_beside_it(image, tmp_path, capsys):
    out = tmp_path / "run"
    (tmp_path / "notes.txt").write_text("mine")
    assert main(["fit", str(image), "--strategy", "uniform", *TINY, "--out", str(out)]) == 0
    (out / "from-the-old-run.txt").write_text("old")
    args = ["fit", str(image), "--strategy", "nint", *TINY, "--out", str(out), "--overwrite"]
    assert main(args) == 0, capsys.readouterr().err
    assert {p.name for p in out.iterdir()} == RUN_FILES
    assert json.loads((out / "config.json").read_text())["sampler"]["strategy"] == "nint"
    assert (tmp_path / "notes.txt").read_text() == "mine" and image.exists()
    assert not list(tmp_path.glob("*.partial-*"))


def test_save_refuses_to_replace_a_folder_nint_did_not_write(tmp_path):
    result = fit(ImageSignal(synthetic_image(8, 8)), "uniform", iterations=1, width=8, depth=2)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    with pytest.raises(NintError, match="was not written by nint"):
        result.save(mine, overwrite=True)
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]
    assert not list(tmp_path.glob("*.partial-*"))


def test_compare_replaces_its_own_folder_only(tmp_path):
    signal = ImageSignal(synthetic_image(8, 8))
    out = tmp_path / "demo"
    compare(signal, ["uniform"], out, iterations=1, width=8, depth=2)
    (out / "from-the-old-demo.txt").write_text("old")
    compare(signal, ["uniform"], out, iterations=1, width=8, depth=2)  # what `make demo` does
    assert not (out / "from-the-old-demo.txt").exists() and (out / "uniform").is_dir()
    (out / ".nint-run").unlink()  # as a demo folder of an older nint, or the user's own
    with pytest.raises(NintError, match="was not written by nint"):
        compare(signal, ["uniform"], out, iterations=1, width=8, depth=2)
    assert (out / "uniform" / "summary.json").exists()


def test_dot_dot_in_out_leaves_no_empty_folders(image, tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert main(["fit", str(image), *TINY, "--out", "a/../b/../../x"]) == 0
    assert (tmp_path / "x" / "summary.json").exists()
    assert list(work.iterdir()) == []


def test_failed_write_after_training_keeps_the_run_and_its_weights(
    image, tmp_path, rescue_here, monkeypatch, capsys
):
    real = run_folder.write_history

    def full_outside_the_rescue(path: Path, history: list) -> None:
        if ".partial-" in path.parent.name:
            raise OSError(errno.EFBIG, os.strerror(errno.EFBIG), str(path))
        real(path, history)

    monkeypatch.setattr(run_folder, "write_history", full_outside_the_rescue)
    out = tmp_path / "new" / "deeper" / "run"
    code = main(["fit", str(image), *TINY, "--out", str(out)])
    line = one_error_line(capsys.readouterr().err)
    assert code == 1
    assert line.startswith(f"nint: error: could not write {out} (File too large); ")
    assert "; the finished run was kept in " in line
    rescue = Path(line.rsplit(" kept in ", 1)[1])
    assert rescue.parent == rescue_here and rescue.name.startswith("nint-rescued-")
    assert {p.name for p in rescue.iterdir()} == RUN_FILES
    model, _ = load_run(rescue)  # the weights load back into the model
    assert isinstance(model, torch.nn.Module)
    assert json.loads((rescue / "summary.json").read_text())["iterations"] == 1
    assert not (tmp_path / "new").exists()  # the parents it made for the run are gone again


def test_failed_write_and_failed_rescue_say_the_run_is_lost(
    image, tmp_path, rescue_here, monkeypatch, capsys
):
    def full(path: Path, history: list) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(run_folder, "write_history", full)
    code = main(["fit", str(image), *TINY, "--out", str(tmp_path / "run")])
    line = one_error_line(capsys.readouterr().err)
    assert code == 1 and line.endswith("the run is lost"), line
    assert "No space left on device" in line
    assert list(rescue_here.iterdir()) == [] and not (tmp_path / "run").exists()


@pytest.mark.skipif(sys.platform == "win32", reason="file size limits are POSIX")
def test_a_real_file_size_limit_is_one_line(image, tmp_path):
    """Under ``ulimit -f 1`` both the run folder and its rescue fail (torch.save reports its
    failed write as a RuntimeError, not an OSError): one line, exit 1, no traceback."""
    import resource

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (512, 512))

    env = {**os.environ, "TMPDIR": str(tmp_path / "tmp")}
    (tmp_path / "tmp").mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "nint", "fit", str(image), *TINY, "--out", str(tmp_path / "run")],
        capture_output=True, text=True, preexec_fn=limit, env=env, timeout=300,
    )  # fmt: skip
    line = one_error_line(done.stderr)
    assert done.returncode == 1, done.stderr
    assert line.startswith("nint: error: could not write ") and "File too large" in line
    assert line.endswith("the run is lost") or " was kept in " in line
    assert not (tmp_path / "run").exists()


# The child fits a tiny image and then, writing history.csv, tells the test (the flag file)
# and waits there to be terminated.
SLOW_WRITER = """
import sys, time
from pathlib import Path
import nint.report.run_folder as run_folder
from nint.cli import main

def slow_history(path, history):
    Path(sys.argv[1]).write_text("writing")
    time.sleep(600)

run_folder.write_history = slow_history
sys.exit(main(sys.argv[2:]))
"""


def test_sigterm_while_writing_leaves_no_partial_folder(image, tmp_path):
    flag, out = tmp_path / "writing", tmp_path / "runs" / "run"
    argv = [sys.executable, "-c", SLOW_WRITER, str(flag), "fit", str(image), *TINY]
    child = subprocess.Popen([*argv, "--out", str(out)], stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300  # generous: importing torch on a busy machine
        while not flag.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert flag.exists(), "the child never reached the write"
        child.send_signal(signal.SIGTERM)
        _, err = child.communicate(timeout=120)
    finally:
        child.kill()
    assert child.returncode == 143, err
    assert err.strip().splitlines() == ["nint: terminated; no run folder was written"]
    assert not (tmp_path / "runs").exists()  # neither the partial nor the parent it made


def test_next_run_removes_only_this_hosts_partials_of_dead_processes(tmp_path):
    host = socket.gethostname()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # reaped: its pid names no process now
    marked = {
        "dead": tmp_path / f"old.partial-{host}-{dead.pid}",
        "live": tmp_path / f"other.partial-{host}-{os.getpid()}",  # this very process
        "other host": tmp_path / f"old.partial-{host}x-{dead.pid}",
    }
    for folder in marked.values():
        folder.mkdir()
        (folder / ".nint-run").write_text('{"written_by": "nint"}')
    unmarked = tmp_path / f"mine.partial-{host}-{dead.pid}"  # the user's, by its looks only
    unmarked.mkdir()
    result = fit(ImageSignal(synthetic_image(8, 8)), "uniform", iterations=1, width=8, depth=2)
    result.save(tmp_path / "new")
    assert not marked["dead"].exists()
    assert marked["live"].is_dir() and marked["other host"].is_dir() and unmarked.is_dir()
    assert (tmp_path / "new" / "summary.json").exists()
