"""Fixed-seed fingerprints of short fits, one per strategy and modality: what a refactor must keep.

Each case fits a small signal for a few iterations and records the indices every selection
returned, the final weights and the history (timing columns left out: they are the only part of
a fit that is not a function of the seed). ``tests/test_golden.py`` compares a fresh run against
``tests/golden/fits.json`` bit for bit.

The fingerprints are exact float results of one CPU and one PyTorch build (the JSON names both).
To re-record them, for instance on another processor, check out the commit *before* the change
under test and run ``.venv/bin/python tests/golden_fits.py --write``; then check out the change
and run the test.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import synthetic_image  # noqa: E402

from nint import fit  # noqa: E402
from nint.report.environment import cpu_model  # noqa: E402
from nint.samplers import Sampler  # noqa: E402
from nint.signals import AudioSignal, ImageSignal, SdfSignal, SuperResSignal  # noqa: E402

GOLDEN = Path(__file__).resolve().parent / "golden" / "fits.json"
NET = {"width": 32, "depth": 3, "lr": 1e-3}
#: columns of a history row that measure time rather than result
TIMING = ("train_seconds", "wall_seconds")


def _image() -> ImageSignal:
    return ImageSignal(synthetic_image(20, 20), name="synthetic")


def _superres() -> SuperResSignal:
    return SuperResSignal(synthetic_image(24, 24), factor=2, name="synthetic")


def _audio() -> AudioSignal:
    t = np.arange(2000) / 8000
    return AudioSignal(0.5 * np.sin(2 * np.pi * (200 + 400 * t) * t), 8000, name="chirp")


def _mesh() -> SdfSignal:
    import trimesh

    sphere = trimesh.creation.icosphere(subdivisions=2, radius=1.0)
    return SdfSignal(
        np.asarray(sphere.vertices, float),
        np.asarray(sphere.faces, np.int64),
        points_per_iteration=400,
        pool_size=4000,
        grid_resolution=12,
        chamfer_points=500,
    )


SIGNALS: dict[str, Callable[[], Any]] = {
    "image": _image,
    "superres": _superres,
    "audio": _audio,
    "mesh": _mesh,
}
#: case name -> (signal, strategy, fit options)
CASES: dict[str, tuple[str, str, dict[str, Any]]] = {
    **{
        f"image-{s}": ("image", s, {"iterations": 8, "eval_every": 3})
        for s in ("standard", "uniform", "int", "evos", "soft", "expansive", "egra", "nint")
    },
    "image-nint-official": ("image", "nint", {"iterations": 8, "variant": "official"}),
    "image-nint-schedules": (
        "image",
        "nint",
        {"iterations": 8, "scheduler": "step", "interval": "dense2", "alpha": 3},
    ),
    "image-int-residual-every": ("image", "int", {"iterations": 8, "residual_every": 3}),
    "image-soft-stop-at": (
        "image",
        "soft",
        {"iterations": 40, "eval_every": 5, "stop_at": {"psnr": 12.0}},
    ),
    "image-uniform-eval-at": ("image", "uniform", {"iterations": 7, "eval_at": (2, 5)}),
    "superres-nint": ("superres", "nint", {"iterations": 6, "eval_every": 2}),
    **{
        f"audio-{s}": ("audio", s, {"iterations": 6, "eval_every": 3})
        for s in ("standard", "uniform", "int", "evos", "nint")
    },
    **{
        f"mesh-{s}": ("mesh", s, {"iterations": 4, "eval_at": (2,)})
        for s in ("standard", "uniform", "int", "evos", "nint")
    },
}


def _sha(tensor: torch.Tensor) -> str:
    return hashlib.sha256(tensor.detach().cpu().contiguous().numpy().tobytes()).hexdigest()[:24]


@contextmanager
def _recording(log: list[torch.Tensor]):
    """Record every index tensor any sampler's ``select`` returns."""
    original = Sampler.select

    def select(self, step, ctx):
        idx = original(self, step, ctx)
        log.append(idx.detach().cpu().clone())
        return idx

    Sampler.select = select
    try:
        yield
    finally:
        Sampler.select = original


def fingerprint(case: str) -> dict[str, Any]:
    """Run one case on one thread (bitwise reproducible) and fingerprint it."""
    signal_name, strategy, options = CASES[case]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    log: list[torch.Tensor] = []
    try:
        with _recording(log):
            result = fit(SIGNALS[signal_name](), strategy, seed=3, **NET, **options)
    finally:
        torch.set_num_threads(threads)
    weights = torch.cat([p.detach().flatten() for p in result.model.parameters()])
    history = [{k: v for k, v in row.items() if k not in TIMING} for row in result.history]
    return {
        "selections": [[int(idx.numel()), _sha(idx)] for idx in log],
        "weights": _sha(weights),
        "prediction": _sha(result.prediction),
        "history": json.loads(json.dumps(history)),
        "iterations": result.summary["iterations"],
    }


def machine() -> dict[str, str]:
    return {"processor": cpu_model(), "torch": torch.__version__}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"(re)write {GOLDEN}")
    args = parser.parse_args()
    record = {"machine": machine(), "cases": {case: fingerprint(case) for case in CASES}}
    if args.write:
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps(record, indent=1) + "\n")
        print(f"wrote {len(CASES)} fingerprints to {GOLDEN}")
    else:
        print(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
