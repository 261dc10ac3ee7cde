"""All eight strategies of the paper on a 256 x 256 Kodak crop, one training-clock budget each.

Stand., Unif., INT, EVOS, SoftM., Expan., EGRA and NINT run one after the other in this one
process, from the same initial weights, for the same training-clock budget. The table gives PSNR
and SSIM (and LPIPS where its weights are installed) at fixed iterations and at the end of the
budget, the iterations done, and the training seconds to 30 dB. It is printed with the machine,
versions and date, and written with the PSNR-vs-time plot to --out.

    python benchmarks/kodak_all_strategies.py          # about 20 minutes on a 2-core CPU
"""

from __future__ import annotations

import argparse
from pathlib import Path

from nint import load_image
from nint.compare import compare
from nint.samplers import SAMPLERS

DEFAULT_IMAGE = Path(__file__).resolve().parents[2] / "shared/data/images/kodak/kodim05.png"


def at_iteration(history: list[dict], iteration: int, metric: str):
    """The metric at exactly ``iteration`` (None if the run stopped earlier)."""
    for row in history:
        if row["iteration"] == iteration:
            return row.get(metric)
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--image", type=Path, default=DEFAULT_IMAGE)
    ap.add_argument("--crop", default="256")
    ap.add_argument("--seconds", type=float, default=120.0, help="training clock per strategy")
    ap.add_argument("--at", default="100,200,400", help="iterations at which metrics are shown")
    ap.add_argument("--eval-every", type=int, default=10)
    ap.add_argument("--strategies", default=",".join(SAMPLERS))
    ap.add_argument("--device", default="auto")
    ap.add_argument("--out", type=Path, default=Path("runs/bench-kodak-all"))
    args = ap.parse_args()
    checkpoints = [int(v) for v in args.at.split(",") if v]
    if any(c % args.eval_every for c in checkpoints):
        ap.error("every --at iteration must be a multiple of --eval-every")

    signal = load_image(args.image, crop=args.crop)
    comparison = compare(
        signal,
        args.strategies.split(","),
        args.out,
        seconds=args.seconds,
        eval_every=args.eval_every,
        device=args.device,
        progress=True,
    )

    metrics = ("psnr", "ssim", "lpips")
    header = ["Strategy"]
    for c in checkpoints:
        header += [f"PSNR @{c}", f"SSIM @{c}"]
    header += ["iters", "PSNR end", "SSIM end", "LPIPS end", "s to 30 dB", "iters to 30 dB"]
    rows = []
    for entry, r in comparison:
        row = [entry.label]
        for c in checkpoints:
            psnr, ssim = (at_iteration(r.history, c, m) for m in metrics[:2])
            row += [psnr, ssim and f"{ssim:.4f}"]
        final = r.summary["final"]
        hit = r.summary["reached"]["psnr>=30"]
        row += [
            r.summary["iterations"],
            final["psnr"],
            f"{final['ssim']:.4f}",
            final["lpips"] and f"{final['lpips']:.4f}",
            hit and hit["seconds"],
            hit and hit["iteration"],
        ]
        rows.append(row)
    missing = next(iter(comparison.results.values())).summary["missing"].get("lpips")
    caption = (
        f"{args.image.name}, centre crop {signal.width}x{signal.height}; SIREN 5x256, Adam 1e-4, "
        f"B = 20 %, default settings of every strategy; {args.seconds:g} s of training clock "
        f"each; evaluation every {args.eval_every} iterations off the clock (— = not reached "
        f"within the budget)." + (f"\nLPIPS missing: {missing}" if missing else "")
    )
    comparison.write(
        header, rows, caption, title=f"{args.image.name} {args.crop}", thresholds=(30.0,)
    )


if __name__ == "__main__":
    main()
