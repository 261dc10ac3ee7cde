import json

from nint.cli import main
from nint.samplers import BUILT_IN, SAMPLERS


def test_demo_writes_table_plot_and_runs(tmp_path, capsys):
    out = tmp_path / "demo"
    args = ["demo", "--out", str(out), "--seconds", "0.3", "--size", "24", "--quiet"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    for label in (
        "Stand.",
        "Unif.",
        "INT",
        "EVOS",
        "SoftM.",
        "Expan.",
        "EGRA",
        "NINT",
        "INT (fast)",
        "NINT (fast)",
        "s to 30 dB",
    ):
        assert label in printed
    assert (out / "psnr_vs_time.png").stat().st_size > 0
    assert (out / "psnr_vs_iteration.png").stat().st_size > 0
    table = (out / "table.md").read_text()
    assert table.count("\n| ") >= 11  # header, rule, eight rows and two fast rows
    for name in [n for n, cls in SAMPLERS.items() if cls.__module__.split(".")[-1] in BUILT_IN]:
        assert (out / name / "summary.json").exists()
    for name in ("int-fast", "nint-fast"):
        config = json.loads((out / name / "config.json").read_text())
        assert config["sampler"]["selection"] == "fast"
    assert json.loads((out / "nint" / "config.json").read_text())["sampler"]["selection"] == "exact"
    assert main(args) == 2  # the folder now exists
    assert "already exists" in capsys.readouterr().err


def test_demo_bad_image_name(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path / "d"), "--image", "lena"]) == 2
    assert "unknown demo image" in capsys.readouterr().err
    assert not (tmp_path / "d").exists()


def test_demo_subset_and_unknown_strategy(tmp_path, capsys):
    out = tmp_path / "two"
    args = ["demo", "--out", str(out), "--seconds", "0.2", "--size", "20", "--quiet"]
    assert main([*args, "--strategies", "uniform,egra"]) == 0
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["egra", "uniform"]
    assert main([*args, "--overwrite", "--strategies", "uniform,magic"]) == 2
    assert "unknown strategy 'magic'" in capsys.readouterr().err
