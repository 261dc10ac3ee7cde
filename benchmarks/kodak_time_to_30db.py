"""Time to 30 dB on a 256 x 256 centre crop of Kodak kodim05: Stand., Unif., INT and NINT.

All strategies run one after the other in this one process, with the same model initialisation,
and each stops at its first evaluation at or above the target PSNR (or at --max-seconds of
training clock). The table gives training-clock seconds and iterations to the target, and the
ratio of seconds to Stand.'s; it is printed with the machine, versions and date, and written with
the PSNR-vs-time plot to --out.

    python benchmarks/kodak_time_to_30db.py            # about 15-30 minutes on a 2-core CPU
"""

from __future__ import annotations

import argparse
from pathlib import Path

from nint import load_image
from nint.compare import Entry, compare
from nint.samplers import display_name

DEFAULT_IMAGE = Path(__file__).resolve().parents[2] / "shared/data/images/kodak/kodim05.png"


def parse(entry: str) -> tuple[str, str, bool]:
    """'nint:official+compile' -> ('nint', 'official', True)."""
    entry, plus, option = entry.partition("+")
    if plus and option != "compile":
        raise SystemExit(f"unknown option +{option} in {entry}{plus}{option}: only +compile")
    name, _, variant = entry.partition(":")
    return name, variant, bool(plus)


def label(entry: str) -> str:
    """'nint:official' -> 'NINT (official)'; 'int+compile' -> 'INT (compiled)'."""
    name, variant, compiled = parse(entry)
    extras = [variant] if variant else []
    extras += ["compiled"] if compiled else []
    return display_name(name) + (f" ({', '.join(extras)})" if extras else "")


def ratio_to(hit: dict | None, base, key: str) -> float | None:
    """Seconds to the target over the compiled Stand.'s, when both reached it."""
    base_hit = base and base.summary["reached"].get(key)
    return hit["seconds"] / base_hit["seconds"] if hit and base_hit else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--image", type=Path, default=DEFAULT_IMAGE)
    ap.add_argument("--crop", default="256")
    ap.add_argument("--target", type=float, default=30.0, help="PSNR target in dB (30)")
    ap.add_argument("--max-seconds", type=float, default=900.0, help="training-clock cap per run")
    ap.add_argument("--eval-every", type=int, default=5)
    ap.add_argument(
        "--strategies",
        default="standard,uniform,int,nint,nint:official",
        help="comma-separated; nint:official is NINT with the released code's exact counts; "
        "a +compile suffix fits with compile=True (opt-in, changes numerics)",
    )
    ap.add_argument("--device", default="auto")
    ap.add_argument("--out", type=Path, default=Path("runs/bench-kodak"))
    args = ap.parse_args()

    signal = load_image(args.image, crop=args.crop)
    entries = []
    for entry in args.strategies.split(","):
        name, variant, compiled = parse(entry)
        options: dict[str, object] = {"variant": variant} if variant else {}
        if compiled:
            options["compile"] = True
        folder = entry.replace(":", "-").replace("+", "-")
        entries.append(Entry(name, options, label=label(entry), folder=folder))
    comparison = compare(
        signal,
        entries,
        args.out,
        seconds=args.max_seconds,
        eval_every=args.eval_every,
        stop_at={"psnr": args.target},
        device=args.device,
        progress=True,
    )

    key = f"psnr>={args.target:g}"
    base = comparison.results.get(label("standard"))
    base_compiled = comparison.results.get(label("standard+compile"))
    base_s = base and base.summary["reached"].get(key) and base.summary["reached"][key]["seconds"]
    rows = []
    for entry, r in comparison:
        s = r.summary
        hit = s["reached"].get(key)
        parts = s["time_parts"]
        rows.append(
            [
                entry.label,
                hit and hit["iteration"],
                hit and hit["seconds"],
                (hit and base_s) and hit["seconds"] / base_s,
                ratio_to(hit, base_compiled, key) if entry.options.get("compile") else None,
                s["seconds_per_iteration"],
                parts["residual"] / s["train_seconds"],
                parts["ntk"] / s["train_seconds"],
                s["final"]["psnr"],
                s.get("compile_seconds"),
            ]
        )
    header = [
        "Strategy",
        f"iters to {args.target:g} dB",
        f"s to {args.target:g} dB",
        "ratio to Stand.",
        "ratio to Stand. (compiled)",
        "s / iter",
        "residual share",
        "NTK share",
        "last PSNR",
        "compile s (off clock)",
    ]
    caption = (
        f"{args.image.name}, centre crop {signal.width}x{signal.height}; SIREN 5x256, Adam 1e-4, "
        f"B = 20 %, NINT = paper variant; evaluation every {args.eval_every} iterations "
        f"off the training clock; cap {args.max_seconds:g} s (— = target not reached); "
        "(compiled) = compile=True, compiled before the clock, numerics differ from eager."
    )
    comparison.write(
        header,
        rows,
        caption,
        title=f"{args.image.name} {args.crop}",
        thresholds=(args.target,),
    )


if __name__ == "__main__":
    main()
