"""nint.compare: the fits, run folders, table.md with the machine stamp and the figures."""

import json
import re
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import synthetic_image
from PIL import Image

from nint import ImageSignal, NintError, fit
from nint.compare import Entry, compare, publish

TINY = {"width": 16, "depth": 2, "iterations": 4, "eval_every": 2, "seed": 3}
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\S+ \| .+ \| .+ \| python \S+, torch \S+, nint \S+$")


@pytest.fixture
def signal():
    return ImageSignal(synthetic_image(16, 16), name="synthetic")


def test_fits_in_order_saves_runs_and_writes_table_figures_and_stamp(signal, tmp_path, capsys):
    out = tmp_path / "cmp"
    (out / "stale").mkdir(parents=True)  # an existing folder that nint wrote is replaced
    (out / ".nint-run").write_text("{}")
    entered, seen = [], []

    @contextmanager
    def marked():
        entered.append("in")
        yield

    entries = [
        "uniform",
        Entry("nint", {"ratio": 0.5}, label="NINT (half)", folder="nint-half", within=marked()),
    ]
    comparison = compare(
        signal, entries, out, ratio=0.25, after=lambda e, r: seen.append(e.label), **TINY
    )

    assert list(comparison.results) == ["Unif.", "NINT (half)"] == seen
    assert entered == ["in"]
    assert [e.label for e, _ in comparison] == ["Unif.", "NINT (half)"]
    assert sorted(p.name for p in out.iterdir()) == [".nint-run", "nint-half", "uniform"]
    for folder, strategy, ratio in (("uniform", "uniform", 0.25), ("nint-half", "nint", 0.5)):
        config = json.loads((out / folder / "config.json").read_text())
        assert config["sampler"]["strategy"] == strategy
        assert config["sampler"]["ratio"] == ratio  # the entry's own option wins
        assert (out / folder / "summary.json").exists()
    # the same fit as calling nint.fit directly with the same arguments
    alone = fit(signal, "nint", **{**TINY, "ratio": 0.5})
    got = comparison.results["NINT (half)"]
    assert [r["psnr"] for r in got.history] == [r["psnr"] for r in alone.history]
    capsys.readouterr()

    rows = [[e.label, r.summary["final"]["psnr"], r.summary["iterations"]] for e, r in comparison]
    text = comparison.write(
        ["Strategy", "PSNR", "iterations"], rows, "A caption.", title="t", thresholds=(20.0,)
    )

    assert capsys.readouterr().out == "\n" + text
    assert (out / "table.md").read_text() == text
    lines = text.splitlines()
    cells = [[c.strip() for c in line.split("|")[1:-1]] for line in lines[:4]]
    assert cells[0] == ["Strategy", "PSNR", "iterations"]
    assert [row[0] for row in cells[2:]] == ["Unif.", "NINT (half)"]
    assert cells[3][1:] == [f"{got.summary['final']['psnr']:.2f}", "4"]
    assert lines[4:6] == ["", "A caption."]
    assert STAMP.match(lines[6]), lines[6]
    assert len(lines) == 7
    for name in ("psnr_vs_time.png", "psnr_vs_iteration.png"):
        with Image.open(out / name) as image:
            assert image.format == "PNG" and image.width > 100


def test_without_out_nothing_is_written(signal, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    comparison = compare(signal, ["uniform"], **TINY)
    text = comparison.write(["Strategy"], [["Unif."]], "Caption.")
    assert list(tmp_path.iterdir()) == []
    assert text.splitlines()[-2] == "Caption." and STAMP.match(text.splitlines()[-1])
    assert capsys.readouterr().out.startswith("Unif. ...\n")


def test_figures_can_be_left_out(signal, tmp_path, capsys):
    comparison = compare(signal, ["uniform"], tmp_path / "c", announce="", **TINY)
    comparison.write(["Strategy"], [["Unif."]], "Caption.", figures=False)
    names = sorted(p.name for p in (tmp_path / "c").iterdir())
    assert names == [".nint-run", "table.md", "uniform"]


def test_repeated_labels_or_folders_fail_before_any_fit(signal, tmp_path, capsys):
    with pytest.raises(NintError, match="own label; Unif. repeats"):
        compare(signal, ["uniform", "uniform"], tmp_path / "a", **TINY)
    twins = [Entry("uniform", label="a"), Entry("uniform", label="b")]
    with pytest.raises(NintError, match="own folder; uniform repeats"):
        compare(signal, twins, tmp_path / "b", **TINY)
    assert list(tmp_path.iterdir()) == []
    assert capsys.readouterr().out == ""


def test_publish_writes_what_it_prints(tmp_path, capsys):
    path = tmp_path / "t.md"
    text = publish(["N", "s"], [[1, 0.5]], "Caption.", path=path)
    assert path.read_text() == text and capsys.readouterr().out == "\n" + text
    assert text.startswith("| N |    s |\n| - | ---: |\n| 1 | 0.50 |\n\nCaption.\n")


def test_compare_never_replaces_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "keep.txt").write_text("mine")
    signal = ImageSignal(synthetic_image(8, 8))
    with pytest.raises(NintError, match="holds the current folder"):
        compare(signal, ["uniform"], Path("."), iterations=1, width=8, depth=2)
    assert (tmp_path / "keep.txt").exists()
