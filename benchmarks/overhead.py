"""Where a training iteration's seconds go: Stand., INT and NINT, plain and optimised, side by side.

For each image size and strategy, two fits with the same seed and the same fixed number of
iterations, one after the other in this one process:

- plain: the residual pass runs ``model(x)`` under ``torch.no_grad`` (``fast_inference(False)``),
  everything eager;
- optimised: the fast residual pass (bitwise the same result as plain) and ``compile=True``
  (training step, residual pass and NTK VJP/JVP compiled; numerics differ by float rounding).

The table gives training-clock seconds per iteration split by the trainer's parts
(``summary["time_parts"]`` / iterations), the total, the ratio to Stand. of the same size and mode,
NINT's NTK seconds per scoring (its scores are refreshed at iterations 0, 10, 20, ... while its
share is above the cut-off, so the per-iteration NTK column is amortised over the fit), the
compile warm-up seconds (off the training clock; graphs are shared between fits of this process
with the same shapes, so later fits compile less) and the PSNR after the last iteration.

    OMP_NUM_THREADS=1 python benchmarks/overhead.py            # ~15 minutes on a 2-core CPU
    OMP_NUM_THREADS=1 python benchmarks/overhead.py --quick    # 128 x 128, 10 iterations, ~2 min
"""

from __future__ import annotations

import argparse
from pathlib import Path

from nint import FitResult, load_image
from nint.compare import Entry, compare, publish
from nint.models import fast_inference
from nint.samplers import display_name, make_sampler
from nint.train import PARTS

DEFAULT_IMAGE = Path(__file__).resolve().parents[2] / "shared/data/images/kodak/kodim05.png"
MODES = {"plain": {"fast": False, "compile": False}, "optimised": {"fast": True, "compile": True}}


def counting(strategy: str, n_points: int, seed: int):
    """The named sampler, counting the NTK scorings of NINT (paper variant) as they happen."""
    sampler = make_sampler(strategy, n_points, seed=seed)  # ratio 0.2, NINT paper variant
    sampler.scorings = 0
    if strategy != "nint":
        return sampler
    select = sampler.select

    def select_and_count(step, ctx):
        before = sampler._scores_step
        idx = select(step, ctx)
        sampler.scorings += int(sampler._scores_step != before)
        return idx

    sampler.select = select_and_count
    return sampler


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--image", type=Path, default=DEFAULT_IMAGE)
    ap.add_argument("--crops", default="256,512", help="centre crops (256: 65,536 coordinates)")
    ap.add_argument("--iterations", default="30,12", help="iterations per crop, in order")
    ap.add_argument("--strategies", default="standard,int,nint")
    ap.add_argument("--modes", default="plain,optimised")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="crop 128, 10 iterations")
    ap.add_argument("--out", type=Path, help="also write the table and caption here (.md)")
    args = ap.parse_args()
    if args.quick:
        args.crops, args.iterations = "128", "10"
    crops = args.crops.split(",")
    iterations = [int(i) for i in args.iterations.split(",")]
    if len(iterations) != len(crops):
        ap.error("give one iteration count per crop")
    strategies = args.strategies.split(",")
    modes = args.modes.split(",")

    rows: list[list[object]] = []
    per_iter: dict[tuple[int, str, str], float] = {}  # total s/it by (N, strategy, mode)

    def add_row(entry: Entry, result: FitResult) -> None:
        n, strategy, mode = entry.label.split()  # the label is the progress line "N name mode"
        s, scorings = result.summary, result.sampler.scorings
        iters = s["iterations"]
        parts = {p: s["time_parts"][p] / iters for p in PARTS}
        total = per_iter[int(n), strategy, mode] = s["train_seconds"] / iters
        base = per_iter.get((int(n), "standard", mode))
        plain = per_iter.get((int(n), strategy, "plain"))
        ntk_per_scoring = s["time_parts"]["ntk"] / scorings if scorings else None
        rows.append(
            [
                f"{int(n):,}",
                display_name(strategy),
                mode,
                *(f"{parts[p]:.3f}" for p in PARTS),
                f"{total:.3f}",
                total / base if base else None,
                plain / total if mode != "plain" and plain is not None else None,
                ntk_per_scoring and f"{ntk_per_scoring:.2f} ({scorings}x)",
                s["compile_seconds"],
                f"{s['final']['psnr']:.4f}",
            ]
        )
        print("   ", rows[-1], flush=True)
        if s.get("compile_eager_calls"):
            print("    eager (not warmed-up) calls:", s["compile_eager_calls"], flush=True)

    for crop, iters in zip(crops, iterations, strict=True):
        signal = load_image(args.image, crop=crop)
        entries = [
            Entry(
                counting(strategy, signal.n_points, args.seed),
                {"compile": MODES[mode]["compile"]},
                label=f"{signal.n_points} {strategy} {mode}",
                within=fast_inference(MODES[mode]["fast"]),
            )
            for strategy in strategies
            for mode in modes
        ]
        comparison = compare(
            signal, entries, iterations=iters, eval_every=iters, seed=args.seed, after=add_row
        )
    header = [
        "N",
        "strategy",
        "mode",
        *(f"{p} s/it" for p in PARTS),
        "total s/it",
        "ratio to Stand.",
        "speed-up vs plain",
        "NTK s/scoring",
        "compile s",
        "PSNR",
    ]
    caption = (
        f"{args.image.name}, centre crops {args.crops}; iterations {args.iterations}; SIREN 5x256, "
        f"Adam 1e-4, B = 20 %, NINT paper variant, seed {args.seed}; chunks 8192 (NTK 4096). "
        f"Training-clock seconds per iteration by part (ntk amortised over the fit); compile "
        "seconds are off the clock."
    )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
    publish(header, rows, caption, device=comparison.device, path=args.out)


if __name__ == "__main__":
    main()
