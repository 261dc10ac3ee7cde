"""Does ``compile=True`` change what INT and NINT select? Eager vs compiled, same seed, same image.

For each strategy two fits of a fixed number of iterations, eager (the default fast residual pass,
bitwise the same as the plain one) and ``compile=True``, each recording the indices selected at
every iteration. The table counts the iterations whose selection is identical in order, the
iterations whose selection is the same set, the indices selected by one run and not the other
(largest per iteration, and the first iteration where any differ), the PSNR after the last
iteration and the training-clock seconds of both runs (compile seconds are off the clock).

    OMP_NUM_THREADS=1 python benchmarks/compile_selection.py                  # 128 x 128, 20 its
    OMP_NUM_THREADS=1 python benchmarks/compile_selection.py --iterations 200
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from nint import fit, load_image
from nint.report import environment, markdown_table, one_line
from nint.samplers import DISPLAY_NAMES, make_sampler

DEFAULT_IMAGE = Path(__file__).resolve().parents[2] / "shared/data/images/kodak/kodim05.png"


def recording(strategy: str, n_points: int, seed: int):
    """The named sampler (defaults: B = 20 %, NINT paper variant), keeping every selection."""
    sampler = make_sampler(strategy, n_points, seed=seed)
    sampler.log = []
    select = sampler.select

    def select_and_record(step, ctx):
        idx = select(step, ctx)
        sampler.log.append(idx.clone())
        return idx

    sampler.select = select_and_record
    return sampler


def compare(a: list[torch.Tensor], b: list[torch.Tensor]) -> dict[str, object]:
    """Per-iteration agreement of two selection logs of the same length."""
    same_order = sum(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    differ = [len(set(x.tolist()) ^ set(y.tolist())) // 2 for x, y in zip(a, b, strict=True)]
    first = next((i for i, d in enumerate(differ) if d), None)
    return {
        "same_order": same_order,
        "same_set": sum(d == 0 for d in differ),
        "max_differ": max(differ),
        "first_differ": first,
        "batch": a[0].numel(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--image", type=Path, default=DEFAULT_IMAGE)
    ap.add_argument("--crop", default="128")
    ap.add_argument("--iterations", type=int, default=20)
    ap.add_argument("--strategies", default="nint,int")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    signal = load_image(args.image, crop=args.crop)
    rows = []
    for strategy in args.strategies.split(","):
        runs = {}
        for compiled in (False, True):
            sampler = recording(strategy, signal.n_points, args.seed)
            print(f"{strategy} compile={compiled} ...", flush=True)
            result = fit(
                signal,
                sampler,
                iterations=args.iterations,
                eval_every=args.iterations,
                seed=args.seed,
                compile=compiled,
            )
            runs[compiled] = (sampler.log, result.summary)
        c = compare(runs[False][0], runs[True][0])
        eager, comp = runs[False][1], runs[True][1]
        n = args.iterations
        rows.append(
            [
                DISPLAY_NAMES.get(strategy, strategy),
                f"{c['same_order']}/{n}",
                f"{c['same_set']}/{n}",
                f"{c['max_differ']} of {c['batch']}",
                c["first_differ"],
                f"{eager['final']['psnr']:.5f}",
                f"{comp['final']['psnr']:.5f}",
                eager["train_seconds"],
                comp["train_seconds"],
                comp["compile_seconds"],
            ]
        )
        print("   ", rows[-1], flush=True)
    table = markdown_table(
        [
            "strategy",
            "same order",
            "same set",
            "most indices differing",
            "first differing it",
            "PSNR eager",
            "PSNR compiled",
            "train s eager",
            "train s compiled",
            "compile s",
        ],
        rows,
    )
    print()
    print(table)
    print()
    print(
        f"{args.image.name}, centre crop {args.crop} ({signal.n_points:,} coordinates), "
        f"{args.iterations} iterations, seed {args.seed}; SIREN 5x256, B = 20 %, NINT paper "
        f"variant.\n{one_line(environment('cpu'))}"
    )


if __name__ == "__main__":
    main()
