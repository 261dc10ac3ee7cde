"""Audio fitting under training-clock budgets, the paper's Table 6 on one clip.

Fits the first 2 s of LibriSpeech 121-121726-0000 with Stand., Unif., INT and NINT (B = 20 %) in
one run and prints SI-SNR / STOI / PESQ at each budget. The paper's budgets are 3, 10 and 15 s on
a GPU; on a CPU they are multiplied by --scale (10 by default). Each strategy is fitted once, up
to the largest budget, and evaluated every --eval-every-seconds of training clock; the value at a
budget is the first evaluation at or past it (at most one iteration later).

    python benchmarks/audio_budgets.py                 # about 11 minutes on a 2-core CPU
    python benchmarks/audio_budgets.py --step          # also Unif./INT/NINT with the step scheduler
"""

from __future__ import annotations

import argparse
from pathlib import Path

from nint.compare import Entry, compare
from nint.samplers import display_name
from nint.signals import load_audio

CLIP = (
    Path(__file__).resolve().parents[2]
    / "shared/data/audio/librispeech/test-clean/121/121726/121-121726-0000.flac"
)
SEED_BUDGETS = (3.0, 10.0, 15.0)
METRICS = (("si_snr", "SI-SNR", ".2f"), ("stoi", "STOI", ".3f"), ("pesq", "PESQ", ".3f"))


def at_budget(history: list[dict], seconds: float) -> dict:
    """The first evaluation at or past ``seconds`` of training clock (else the last one)."""
    return next((row for row in history if row["train_seconds"] >= seconds), history[-1])


def budget_table(comparison, budgets: list[float]) -> tuple[list[str], list[list[object]]]:
    """The header and rows of SI-SNR / STOI / PESQ at each budget, one row per fit."""
    rows = []
    for entry, result in comparison:
        row: list[object] = [entry.label]
        for budget in budgets:
            values = at_budget(result.history, budget)
            # a missing metric stays None (printed as a dash), never 0
            row += [
                None if values.get(key) is None else format(values[key], fmt)
                for key, _, fmt in METRICS
            ]
        rows.append(row)
    header = ["Strategy"] + [
        f"{label} @ {budget:g} s" for budget in budgets for _, label, _ in METRICS
    ]
    return header, rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clip", type=Path, default=CLIP)
    ap.add_argument("--duration", type=float, default=2.0, help="seconds of audio from the start")
    ap.add_argument("--scale", type=float, default=10.0, help="CPU budget = paper budget x scale")
    ap.add_argument("--eval-every-seconds", type=float, default=5.0)
    ap.add_argument("--strategies", default="standard,uniform,int,nint")
    ap.add_argument("--step", action="store_true", help="add the step-scheduler variants")
    ap.add_argument(
        "--residual-every",
        type=int,
        metavar="M",
        help="add INT and NINT rows with the approximate residual pass every M selections",
    )
    ap.add_argument("--out", type=Path, default=Path("runs/bench-audio"), help="run folders")
    args = ap.parse_args()

    signal = load_audio(args.clip, duration=args.duration)
    budgets = [b * args.scale for b in SEED_BUDGETS]
    runs = [(name, "constant", 1) for name in args.strategies.split(",")]
    if args.step:
        runs += [(name, "step", 1) for name in ("uniform", "int", "nint")]
    if args.residual_every:
        runs += [(name, "constant", args.residual_every) for name in ("int", "nint")]
    entries = []
    for name, scheduler, every in runs:
        label = display_name(name) + (" (step)" if scheduler == "step" else "")
        label += f" (residual every {every})" if every > 1 else ""
        options: dict[str, object] = {} if name == "standard" else {"scheduler": scheduler}
        if every > 1:
            options["residual_every"] = every
        folder = label.replace(" (step)", "-step").replace(".", "").lower()
        folder = folder.replace(" (residual every ", "-every").replace(")", "")
        entries.append(Entry(name, options, label=label, folder=folder))
    comparison = compare(
        signal,
        entries,
        args.out,
        seconds=budgets[-1],
        eval_every_seconds=args.eval_every_seconds,
        progress=True,
    )

    header, rows = budget_table(comparison, budgets)
    caption = (
        f"{args.clip.name}, first {args.duration:g} s at {signal.rate} Hz; SIREN 5x256, time in "
        f"[-{signal.coord_range:g}, {signal.coord_range:g}], first omega_0 30, Adam 1e-4, "
        f"B = 20 %; budgets = the paper's 3/10/15 s x {args.scale:g} of training clock; evaluation "
        f"every {args.eval_every_seconds:g} s off the clock; (step) = INT's step scheduler; "
        f"(residual every M) = the approximate opt-in residual_every=M (selection changed); "
        f"— = metric missing (see the run's summary.json)."
    )
    # no figures: what this benchmark reports is the table at the three budgets
    comparison.write(header, rows, caption, figures=False)


if __name__ == "__main__":
    main()
