"""Do the fast residual pass and ``compile=True`` change what INT and NINT select?

For each strategy three fits of a fixed number of iterations with the same seed on the same image,
each recording the indices selected at every iteration: "plain" (``fast_inference(False)``: the
residual pass runs ``model(x)``), "fast" (the default fast residual pass) and "compiled" (the
fast residual pass and ``compile=True``). Each of the last two is compared with plain: the
iterations whose selection is identical in order, the iterations whose selection is the same set,
the indices selected by one run and not the other (largest per iteration, and the first iteration
where any differ), whether the final weights are bitwise equal, the PSNR after the last iteration
and the training-clock seconds (compile seconds are off the clock).

    OMP_NUM_THREADS=1 python benchmarks/compile_selection.py                  # 128 x 128, 20 its
    OMP_NUM_THREADS=1 python benchmarks/compile_selection.py --iterations 200
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from nint import load_image
from nint.compare import Entry, compare
from nint.models import fast_inference
from nint.samplers import display_name, make_sampler

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


def compare_logs(a: list[torch.Tensor], b: list[torch.Tensor]) -> dict[str, object]:
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
    modes = ("plain", "fast", "compiled")
    entries = [
        Entry(
            recording(strategy, signal.n_points, args.seed),
            {"compile": mode == "compiled"},
            label=f"{strategy} {mode}",
            within=fast_inference(mode != "plain"),
        )
        for strategy in args.strategies.split(",")
        for mode in modes
    ]
    comparison = compare(
        signal, entries, iterations=args.iterations, eval_every=args.iterations, seed=args.seed
    )
    rows = []
    n = args.iterations
    for strategy in args.strategies.split(","):
        plain = comparison.results[f"{strategy} plain"]
        for mode in modes[1:]:
            result = comparison.results[f"{strategy} {mode}"]
            c = compare_logs(plain.sampler.log, result.sampler.log)
            same_weights = all(
                torch.equal(p, q)
                for p, q in zip(plain.model.parameters(), result.model.parameters(), strict=True)
            )
            rows.append(
                [
                    display_name(strategy),
                    mode,
                    f"{c['same_order']}/{n}",
                    f"{c['same_set']}/{n}",
                    f"{c['max_differ']} of {c['batch']}",
                    c["first_differ"],
                    "yes" if same_weights else "no",
                    f"{plain.summary['final']['psnr']:.5f}",
                    f"{result.summary['final']['psnr']:.5f}",
                    plain.summary["train_seconds"],
                    result.summary["train_seconds"],
                    result.summary["compile_seconds"],
                ]
            )
    header = [
        "strategy",
        "vs plain",
        "same order",
        "same set",
        "most indices differing",
        "first differing it",
        "same weights",
        "PSNR plain",
        "PSNR",
        "train s plain",
        "train s",
        "compile s",
    ]
    caption = (
        f"{args.image.name}, centre crop {args.crop} ({signal.n_points:,} coordinates), "
        f"{args.iterations} iterations, seed {args.seed}; SIREN 5x256, B = 20 %, NINT paper "
        "variant."
    )
    comparison.write(header, rows, caption)


if __name__ == "__main__":
    main()
