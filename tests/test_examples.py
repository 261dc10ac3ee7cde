"""The scripts in examples/ run as written, at a tiny size."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import synthetic_image

import nint

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PSNR = re.compile(r"^step +(\d+)  loss [0-9.]+  PSNR (-?[0-9.]+) dB$")


# NINT with the caller's own loss gradient; Soft Mining with Huber, its weights and coordinate
# gradients
@pytest.mark.parametrize(("strategy", "loss"), [("nint", "charbonnier"), ("soft", "huber")])
def test_own_loop(strategy: str, loss: str) -> None:
    run = subprocess.run(
        [sys.executable, str(EXAMPLES / "own_loop.py"), "--steps", "30", "--size", "24",
         "--every", "10", "--strategy", strategy, "--loss", loss],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    *rows, final = run.stdout.splitlines()
    steps = [PSNR.match(row) for row in rows]
    assert all(steps), run.stdout
    assert [int(m.group(1)) for m in steps] == [10, 20, 30]
    assert re.fullmatch(rf"final PSNR ([0-9.]+) dB \({strategy}, 30 steps\)", final), final
    # the fit improves: the last report beats the first
    assert float(steps[-1].group(2)) > float(steps[0].group(2))


def test_the_own_loop_recipe_of_the_docs_runs() -> None:
    """docs/samplers.md's own-loop block, on a small synthetic image for 20 steps."""
    doc = Path(__file__).resolve().parents[1] / "docs" / "samplers.md"
    blocks = re.findall(r"```python\n(.*?)```", doc.read_text(), flags=re.S)
    recipe = next(b for b in blocks if "nint.Teacher(" in b)
    loader = 'nint.load_image("photo.png", crop=256)'
    assert loader in recipe and recipe.count("1000") == 2
    recipe = recipe.replace(loader, "SIGNAL").replace("1000", "20")
    scope = {"SIGNAL": nint.ImageSignal(synthetic_image(16, 16))}
    exec(compile(recipe, str(doc), "exec"), scope)
    assert scope["teacher"].step == 20
    assert torch.isfinite(scope["loss"])
