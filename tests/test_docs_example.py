"""The custom-sampler example of docs/samplers.md runs as written."""

import re
from pathlib import Path

import torch
from conftest import synthetic_image

from nint import ImageSignal, fit
from nint.samplers import SAMPLERS

DOC = Path(__file__).resolve().parents[1] / "docs" / "samplers.md"


def test_custom_sampler_example():
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    example = next(b for b in blocks if "class HalfErrorSampler" in b)
    try:
        exec(compile(example, str(DOC), "exec"), {})
        signal = ImageSignal(synthetic_image(16, 16))
        result = fit(signal, "half-error", iterations=20, ratio=0.5, width=32, depth=2, lr=1e-3)
        idx = result.sampler.last_indices
        assert idx.numel() == 128 and idx.unique().numel() == 128
        assert result.history[-1]["psnr"] > result.history[0]["psnr"]
        assert torch.equal(
            torch.sort(idx).values,
            torch.sort(
                torch.cat([result.sampler.parts["error"], result.sampler.parts["random"]])
            ).values,
        )
    finally:
        SAMPLERS.pop("half-error", None)
