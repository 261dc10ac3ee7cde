"""Seconds and iterations to 30 and 35 dB for every backbone x strategy on Kodak crops.

For each image (default kodim05 and kodim03, 128 x 128 centre crops), each registered backbone
(``nint models``; each with its registry defaults, learning rate included: docs/models.md) and
each strategy (Stand., Unif., Soft Mining, INT, NINT exact and NINT with ``selection="fast"``),
one fit of at most --seconds of training clock (60) that stops at its first evaluation at or
above 35 dB. Seed 0 for every fit, so a backbone starts from the same weights under every
strategy. The fits run one at a time in this process; the strategy order is rotated from one
backbone to the next, so that no strategy always runs first (or last) on a warming machine.

The table (training-clock seconds and iterations to 30 and 35 dB, "—" where not reached within
the budget; the last PSNR; seconds per iteration) is printed with the machine, versions and date
and written to OUT/table.md; every run folder is kept under OUT/<image>/<backbone>/.

    python benchmarks/backbones.py --data DIR         # DIR holds kodim05.png and kodim03.png
    python benchmarks/backbones.py --data DIR --size 16 --seconds 2 --backbones siren,wire \\
        --strategies uniform,nint-fast                # a smoke run: a few seconds

The full run is 2 images x 6 backbones x 6 strategies x up to 60 s of training (plus evaluation
off the clock): up to about 80 minutes on a 2-core CPU.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from nint import load_image
from nint.compare import Entry, compare, publish
from nint.models import BACKBONES
from nint.samplers import display_name

#: the Kodak folder of the project's shared data, when this checkout sits beside it
SHARED_KODAK = Path(__file__).resolve().parents[2] / "shared/data/images/kodak"
#: strategy names of this benchmark; "nint-fast" is NINT with selection="fast"
STRATEGIES = ("standard", "uniform", "soft", "int", "nint", "nint-fast")
THRESHOLDS = (30.0, 35.0)


def entry(strategy: str) -> Entry:
    """The compare() entry of one of ``STRATEGIES``."""
    if strategy == "nint-fast":
        return Entry("nint", {"selection": "fast"}, label="NINT (fast)", folder="nint-fast")
    return Entry(strategy, label=display_name(strategy), folder=strategy)


def crossing(history: list[dict], target: float) -> tuple[float, int] | None:
    """(training seconds, iteration) of the first evaluation at or above ``target`` dB."""
    for row in history:
        if row.get("psnr") is not None and row["psnr"] >= target:
            return row["train_seconds"], int(row["iteration"])
    return None


def rotated(items: list[str], by: int) -> list[str]:
    """``items`` started at position ``by`` (modulo its length)."""
    k = by % len(items) if items else 0
    return items[k:] + items[:k]


def main(argv: list[str] | None = None) -> str:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_data = SHARED_KODAK if SHARED_KODAK.is_dir() else None
    ap.add_argument(
        "--data",
        type=Path,
        default=default_data,
        required=default_data is None,
        help="folder holding the images (default: the project's shared Kodak folder, "
        "shared/data/images/kodak beside this checkout, when it exists)",
    )
    ap.add_argument("--images", default="kodim05,kodim03", help="image names (kodim05,kodim03)")
    ap.add_argument("--size", type=int, default=128, help="side of the centre crop (128)")
    ap.add_argument(
        "--backbones", default=",".join(BACKBONES), help="comma-separated (every registered one)"
    )
    ap.add_argument(
        "--strategies", default=",".join(STRATEGIES), help=f"comma-separated of {STRATEGIES}"
    )
    ap.add_argument("--seconds", type=float, default=60.0, help="training-clock cap per fit (60)")
    ap.add_argument("--eval-every", type=int, default=10, help="evaluate every N iterations (10)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--out", type=Path, default=Path("runs/bench-backbones"))
    ap.add_argument("--quiet", action="store_true", help="no progress bars")
    args = ap.parse_args(argv)

    backbones = [b for b in args.backbones.split(",") if b]
    strategies = [s for s in args.strategies.split(",") if s]
    unknown = [b for b in backbones if b not in BACKBONES]
    unknown += [s for s in strategies if s not in STRATEGIES]
    if unknown:
        raise SystemExit(f"unknown backbone or strategy: {', '.join(unknown)}")
    images = [name for name in args.images.split(",") if name]
    files = {name: args.data / f"{name}.png" for name in images}
    missing = [str(path) for path in files.values() if not path.is_file()]
    if missing:
        raise SystemExit(f"no such image: {', '.join(missing)}")

    rows: list[list[object]] = []
    device = "cpu"
    for image in images:
        signal = load_image(files[image], crop=str(args.size))
        for index, backbone in enumerate(backbones):
            order = rotated(strategies, index)
            comparison = compare(
                signal,
                [entry(s) for s in order],
                args.out / image / backbone,
                announce=f"{image} {backbone} {{label}} ...",
                model=backbone,
                seconds=args.seconds,
                eval_every=args.eval_every,
                stop_at={"psnr": THRESHOLDS[-1]},
                seed=args.seed,
                device=args.device,
                progress=not args.quiet,
            )
            device = comparison.device
            results = {e.folder: r for e, r in comparison}
            for strategy in strategies:  # the table keeps one order whatever the fit order
                result = results[entry(strategy).folder]
                row: list[object] = [BACKBONES[backbone].display_name, entry(strategy).label, image]
                for target in THRESHOLDS:
                    hit = crossing(result.history, target)
                    row += [hit and hit[0], hit and hit[1]]
                summary = result.summary
                row += [summary["final"]["psnr"], summary["seconds_per_iteration"]]
                rows.append(row)
    header = ["Backbone", "Strategy", "Image"]
    for target in THRESHOLDS:
        header += [f"s to {target:g} dB", f"iters to {target:g} dB"]
    header += ["last PSNR", "s / iter"]
    defaults = ", ".join(f"{b} lr {BACKBONES[b].default_lr:g}" for b in backbones)
    caption = (
        f"{args.size} x {args.size} centre crops of {', '.join(images)}; each backbone with its "
        f"registry defaults ({defaults}); B = 20 %; seed {args.seed}; at most {args.seconds:g} s "
        f"of training clock per fit, stopped at {THRESHOLDS[-1]:g} dB; evaluation every "
        f"{args.eval_every} iterations off the clock (— = not reached). NINT (fast) = "
        f'selection="fast". Strategy order rotated per backbone.'
    )
    return publish(header, rows, caption, device=device, path=args.out / "table.md")


if __name__ == "__main__":
    main()
