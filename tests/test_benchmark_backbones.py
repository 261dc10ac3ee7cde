"""benchmarks/backbones.py on stand-in images with tiny budgets, so the script cannot rot."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
from conftest import synthetic_image
from PIL import Image

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "backbones.py"
spec = importlib.util.spec_from_file_location("bench_backbones", SCRIPT)
assert spec and spec.loader
bench = importlib.util.module_from_spec(spec)
sys.modules["bench_backbones"] = bench
spec.loader.exec_module(bench)


def test_smoke_run_writes_a_stamped_table(tmp_path):
    for name in ("kodim05", "kodim03"):
        image = (synthetic_image(10, 10) * 255).astype(np.uint8)
        Image.fromarray(image).save(tmp_path / f"{name}.png")
    out = tmp_path / "out"
    text = bench.main(
        ["--data", str(tmp_path), "--size", "8", "--seconds", "0.2", "--eval-every", "5",
         "--backbones", "gauss,hashgrid", "--strategies", "uniform,nint-fast", "--out", str(out),
         "--quiet"]
    )  # fmt: skip
    lines = [line for line in text.splitlines() if line.startswith("| ")]
    assert len(lines) == 2 + 2 * 2 * 2  # header, rule, backbones x strategies x images
    assert "NINT (fast)" in text and "Hash grid" in text and "torch" in text.splitlines()[-1]
    assert (out / "table.md").read_text() == text
    assert (out / "kodim03" / "hashgrid" / "nint-fast" / "config.json").is_file()


def test_rotation_starts_each_backbone_elsewhere():
    assert bench.rotated(["a", "b", "c"], 1) == ["b", "c", "a"]
    assert bench.rotated(["a", "b", "c"], 4) == ["b", "c", "a"]
