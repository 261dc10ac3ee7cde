"""Fixed-seed records of short fits, one per strategy and modality: what a refactor must keep.

Each case fits a small signal for a few iterations on one thread and records:

- the set of indices every selection returned (a sha256 prefix of them sorted: integers,
  compared exactly; their order only decides float rounding, see ``tests/test_golden.py``);
- the final weights and the final prediction as raw float32 values (``golden/fits.npz``);
- the history, timing columns left out (they are the only part of a fit that is not a function
  of the seed), and the iteration count (``golden/fits.json``);
- per machine kind, sha256 prefixes of the weights and the prediction: bitwise fingerprints,
  compared only on a machine of the kind that recorded them.

A machine kind (``machine_kind``) is what decides float32 rounding on a CPU: the torch version,
the kernel family ATen dispatches to, the CPU's vector-instruction flags and the variables that
cap oneDNN's and MKL's instruction sets. Two machines of one kind give the same bits; two kinds
give values a few float32 ulps apart, which ``tests/test_golden.py`` allows (see its docstring
for the tolerances and how they were measured).

Re-recording, after a change that is *meant* to change what a fit does:
``.venv/bin/python tests/golden_fits.py --write`` records every case anew (raw values, history
and this machine kind's fingerprints; other kinds' fingerprints are dropped, as they describe
the old behaviour). On another machine kind, ``--add-kind`` adds that kind's fingerprints after
checking that its fits agree with the raw values within the test's tolerances. Without a flag
the script prints how this machine's fits differ from the recording.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
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
from nint.samplers import Sampler  # noqa: E402
from nint.signals import AudioSignal, ImageSignal, SdfSignal, SuperResSignal  # noqa: E402

GOLDEN = Path(__file__).resolve().parent / "golden" / "fits.json"
#: the raw float32 weights and predictions, "<case>/weights" and "<case>/prediction"
ARRAYS = GOLDEN.with_suffix(".npz")
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


def _sha(tensor: torch.Tensor | np.ndarray) -> str:
    data = tensor.detach().cpu().contiguous().numpy() if torch.is_tensor(tensor) else tensor
    return hashlib.sha256(np.ascontiguousarray(data).tobytes()).hexdigest()[:24]


@contextmanager
def recording(log: list[torch.Tensor]):
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


def run(case: str) -> dict[str, Any]:
    """Run one case on one thread (bitwise reproducible on one machine kind) and record it:
    ``selections``, ``history`` and ``iterations`` as JSON values, ``weights`` and
    ``prediction`` as flat float32 arrays."""
    signal_name, strategy, options = CASES[case]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    log: list[torch.Tensor] = []
    try:
        with recording(log):
            result = fit(SIGNALS[signal_name](), strategy, seed=3, **NET, **options)
    finally:
        torch.set_num_threads(threads)
    weights = torch.cat([p.detach().flatten() for p in result.model.parameters()])
    history = [{k: v for k, v in row.items() if k not in TIMING} for row in result.history]
    return {
        "selections": [[int(idx.numel()), _sha(idx.sort().values)] for idx in log],
        "history": json.loads(json.dumps(history)),
        "iterations": result.summary["iterations"],
        "weights": weights.cpu().numpy().astype(np.float32),
        "prediction": result.prediction.detach().cpu().flatten().numpy().astype(np.float32),
    }


#: CPU flags that select float32 kernels (ATen, oneDNN, MKL): machines that differ in these
#: round differently
KERNEL_FLAGS = (
    "sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512dq",
    "avx512_vnni", "avx512_bf16", "avx512_fp16", "avx_vnni", "amx_tile", "amx_bf16", "amx_fp16",
)  # fmt: skip
#: environment variables that cap the instruction sets those libraries use
KERNEL_VARIABLES = (
    "ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA", "MKL_ENABLE_INSTRUCTIONS",
    "MKL_CBWR", "MKL_DEBUG_CPU_TYPE",
)  # fmt: skip


def _cpuinfo(field: str) -> str:
    """The first value of ``field`` in Linux's /proc/cpuinfo ("" elsewhere)."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.split(":", 1)[0].strip() == field:
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def machine_kind() -> str:
    """What decides float32 rounding here, as one readable string: torch version, CPU vendor,
    ATen's kernel family, the kernel-selecting CPU flags and any instruction-set caps in force.

    The processor's model name is left out: it names machines, not the kernels they run."""
    flags = set(_cpuinfo("flags").split())
    parts = [
        f"torch {torch.__version__}",
        # MKL takes other code paths on other vendors' CPUs with the same flags
        _cpuinfo("vendor_id") or platform.machine(),
        f"aten {torch.backends.cpu.get_cpu_capability()}",
        "flags " + ",".join(f for f in KERNEL_FLAGS if f in flags),
    ]
    parts += [f"{v}={os.environ[v]}" for v in KERNEL_VARIABLES if os.environ.get(v)]
    return " | ".join(parts)


def load() -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The recording: (fits.json as a dict, fits.npz's arrays by "<case>/<name>")."""
    with np.load(ARRAYS) as arrays:
        return json.loads(GOLDEN.read_text()), {k: arrays[k] for k in arrays.files}


def prints(record: dict[str, Any]) -> dict[str, str]:
    return {"weights": _sha(record["weights"]), "prediction": _sha(record["prediction"])}


def write(records: dict[str, dict[str, Any]]) -> None:
    """Replace the recording with ``records``, fingerprinted for this machine kind only."""
    GOLDEN.parent.mkdir(exist_ok=True)
    arrays = {f"{case}/{k}": r[k] for case, r in records.items() for k in ("weights", "prediction")}
    np.savez_compressed(ARRAYS, **arrays)
    cases = {
        case: {k: r[k] for k in ("selections", "history", "iterations")}
        for case, r in records.items()
    }
    kinds = {machine_kind(): {case: prints(r) for case, r in records.items()}}
    GOLDEN.write_text(json.dumps({"kinds": kinds, "cases": cases}, indent=1) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", action="store_true", help=f"re-record {GOLDEN} and {ARRAYS}")
    group.add_argument(
        "--add-kind", action="store_true", help="add this machine kind's bitwise fingerprints"
    )
    args = parser.parse_args()
    records = {case: run(case) for case in CASES}
    if args.write:
        write(records)
        print(f"recorded {len(CASES)} cases on {machine_kind()}")
        return
    from test_golden import differences  # the test's own comparison, tolerances included

    recorded, arrays = load()
    problems = {
        case: differences(r, recorded["cases"][case], arrays, case) for case, r in records.items()
    }
    for case, found in problems.items():
        print(f"{case}: {'; '.join(found) if found else 'within tolerance'}")
    if args.add_kind:
        if any(problems.values()):
            sys.exit("not added: some cases differ beyond the tolerances (see above)")
        recorded["kinds"][machine_kind()] = {case: prints(r) for case, r in records.items()}
        GOLDEN.write_text(json.dumps(recorded, indent=1) + "\n")
        print(f"added the fingerprints of {machine_kind()}")


if __name__ == "__main__":
    main()
