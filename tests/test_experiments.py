"""``nint bench``: every experiment definition in a tiny configuration, end to end; resume; the
Ray executor against the local one; bad names and missing data."""

import csv
import dataclasses
import json
import re

import numpy as np
import pytest
import soundfile as sf
from conftest import synthetic_image
from PIL import Image

from nint.cli import main
from nint.experiments import EXPERIMENTS, Preset, plan, run_bench
from nint.experiments.report import columns

SMALL = (("width", 16), ("depth", 2))
TINY = {
    # iteration budgets keep these deterministic (same seed, same numbers in every process)
    "audio": Preset(checkpoints=(4, 8), limit=1, load=(("duration", 0.25),)),
    "ablation": Preset(cap=6, eval_every=2, limit=1),
    "large": Preset(checkpoints=(4,), eval_every=2, limit=2),
    "superres": Preset(checkpoints=(4,), eval_every=2, limit=1),
    "image": Preset(checkpoints=(3, 6), limit=2),
    "sdf": Preset(
        checkpoints=(3, 6),
        load=(
            ("points_per_iteration", 1000),
            ("pool_size", 10000),
            ("grid_resolution", 24),
            ("chamfer_points", 2000),
        ),
    ),
}


def tiny(name, unit="iterations"):
    """The catalogue's experiment with a tiny preset, a small network and iteration budgets."""
    exp = EXPERIMENTS[name]
    return dataclasses.replace(exp, presets={"tiny": TINY[name]}, fit=SMALL, unit=unit)


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    folder = tmp_path_factory.mktemp("images")
    for i in range(2):
        array = synthetic_image(20, 20) * (0.6 + 0.3 * i)
        Image.fromarray((array * 255).astype(np.uint8)).save(folder / f"pic{i}.png")
    (folder / "notes.txt").write_text("not an image")  # ignored: not an image suffix
    return folder


@pytest.fixture(scope="module")
def librispeech(tmp_path_factory):
    root = tmp_path_factory.mktemp("test-clean")
    chapter = root / "7" / "70"
    chapter.mkdir(parents=True)
    t = np.arange(4000) / 8000
    for i in range(2):
        wave = 0.4 * np.sin(2 * np.pi * (300 + 200 * i + 300 * t) * t)
        sf.write(chapter / f"7-70-000{i}.flac", wave, 8000)
    return root


@pytest.fixture(scope="module")
def meshes(tmp_path_factory):
    import trimesh

    folder = tmp_path_factory.mktemp("meshes")
    trimesh.creation.icosphere(subdivisions=2, radius=1.0).export(folder / "ball.ply")
    trimesh.creation.box(extents=(1.0, 0.6, 0.8)).export(folder / "brick.obj")
    return folder


def data_for(name, images, librispeech, meshes=None):
    kind = EXPERIMENTS[name].data
    return {"librispeech": librispeech, "images": images, "meshes": meshes}[kind]


@pytest.mark.parametrize("name", sorted(TINY))
def test_experiment_end_to_end(name, images, librispeech, meshes, tmp_path):
    exp = tiny(name)
    out = tmp_path / name
    data = data_for(name, images, librispeech, meshes)
    paths = run_bench(exp, data, out, "tiny", log=lambda s: None)
    table = paths["table"].read_text()
    for variant in exp.variants:
        label = f"<u>{variant.label}</u>" if variant.underline else variant.label
        assert f"| {label} " in table
    assert "preset `tiny`" in table and "torch" in table
    if exp.layout == "checkpoints":  # targets are out of reach in six iterations
        assert "**" in table
    assert paths["figure"].stat().st_size > 0
    with open(paths["csv"], newline="") as f:
        rows = list(csv.reader(f))
    assert len(rows) == 1 + len(exp.variants)
    # the numbers are the runs' own: the first row's first column from the run folders
    specs = plan(exp, "tiny", data, out)
    first = [s for s in specs if s.variant == exp.variants[0].key]
    column = columns(exp, exp.presets["tiny"])[0]
    values = []
    for spec in first:
        summary = json.loads(
            (tmp_path / name / spec.folder.split(f"{name}/")[1] / "summary.json").read_text()
        )
        if column.source[0] == "reached":
            hit = summary["reached"][column.source[1]]
            values.append(None if hit is None else hit[column.source[2]])
        else:
            with open(f"{spec.folder}/history.csv", newline="") as f:
                history = list(csv.DictReader(f))
            row = next(r for r in history if float(r["iteration"]) >= column.source[3])
            values.append(float(row[column.source[1]]) if row[column.source[1]] else None)
    mean = rows[1][2]
    if any(v is None for v in values):
        assert mean == ""
    else:
        assert float(mean) == pytest.approx(np.mean(values) * column.scale)


def test_seconds_budgets_and_resume(images, tmp_path, capsys):
    exp = dataclasses.replace(
        EXPERIMENTS["image"], presets={"tiny": Preset(checkpoints=(0.2, 0.4), limit=1)}, fit=SMALL
    )
    out = tmp_path / "image"
    logs = []
    run_bench(exp, images, out, "tiny", log=logs.append, progress=False)
    assert logs[0] == "0 of 5 runs already finished; 5 to run"
    summary = json.loads((out / "pic0" / "nint" / "summary.json").read_text())
    assert summary["train_seconds"] >= 0.4
    stamp = (out / "pic0" / "nint" / "summary.json").stat().st_mtime_ns
    logs.clear()
    run_bench(exp, images, out, "tiny", log=logs.append)
    assert logs[0] == "5 of 5 runs already finished; 0 to run"
    assert (out / "pic0" / "nint" / "summary.json").stat().st_mtime_ns == stamp


@pytest.mark.parametrize("limit, which", [(None, "the first 1 of 2"), (2, "all 2")])
def test_caption_says_which_signals_ran(limit, which, images, tmp_path):
    exp = tiny("superres")  # its tiny preset fits 1 image unless --limit says otherwise
    paths = run_bench(exp, images, tmp_path / "sr", "tiny", limit=limit, log=lambda s: None)
    caption = paths["table"].read_text().split("\n\n")[1]
    count = 1 if limit is None else 2
    assert f"mean ± std over {count} signal(s)" in caption
    assert f"Signals: {which} in the data set (sorted by name): " in caption
    assert ("pic1" in caption) == (count == 2) and "pic0" in caption


def test_preset_factors_state_no_signal_count():
    # how many signals ran depends on --limit: only the caption code, from the runs, says it
    count = re.compile(
        r"\b(\d+|one|two|three) (images?|meshes|utterances?|signals?)\b|first (mesh|image)"
    )
    for experiment in EXPERIMENTS.values():
        for preset in experiment.presets.values():
            for factor in preset.factors:
                assert not count.search(factor), (experiment.name, factor)


def test_ray_executor_gives_the_local_table(images, tmp_path):
    pytest.importorskip("ray")
    import torch

    torch.set_num_threads(1)  # as in a Ray task, so float summation matches
    exp = tiny("large")
    local = run_bench(exp, images, tmp_path / "local", "tiny", log=lambda s: None)
    remote = run_bench(exp, images, tmp_path / "ray", "tiny", executor="ray", log=lambda s: None)
    body = lambda p: p.read_text().split("\n\n")[0]  # noqa: E731 (the caption has a timestamp)
    assert body(local["table"]) == body(remote["table"])
    assert local["csv"].read_text() == remote["csv"].read_text()


@pytest.mark.parametrize(
    "args, message",
    [
        (["bench", "tables", "--data", "{images}"], "unknown experiment 'tables'"),
        (["bench", "image", "--data", "{missing}"], "no such data folder"),
        (["bench", "audio", "--data", "{images}"], "no utterances"),
        (["bench", "image", "--data", "{empty}"], "no image files"),
        (["bench", "image", "--data", "{images}", "--executor", "spark"], "invalid choice"),
    ],
)
def test_bad_bench_input_is_one_line(args, message, images, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    values = {"images": images, "missing": tmp_path / "nope", "empty": empty}
    argv = [a.format(**values) for a in args] + ["--out", str(tmp_path / "out"), "--quiet"]
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    err = capsys.readouterr().err.strip()
    assert code == 2 and message in err and len(err.splitlines()) == 1, err


def test_the_paper_experiments_run_int_and_nint_exact():
    """``nint bench`` reproduces the paper: no row may switch on the approximate fast selection
    (nint.fast_selection), whose default is exact."""
    from nint.experiments.catalogue import EXPERIMENTS
    from nint.samplers import make_sampler

    for experiment in EXPERIMENTS.values():
        for variant in experiment.variants:
            options = dict(variant.options)
            assert options.get("selection", "exact") == "exact", (experiment.name, variant.label)
            if variant.strategy in ("int", "nint"):
                assert make_sampler(variant.strategy, 64, **options).fast is None
