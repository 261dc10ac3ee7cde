"""Which time-coordinate range R and first-layer omega_0 fit speech best?

Fits the first 2 s of LibriSpeech 121-121726-0000 with each (R, omega_0) choice under the same
training-clock budget, for Stand. and NINT, in one run, and prints SI-SNR / STOI / PESQ. The
product R * omega_0 sets the highest frequency the first layer starts with; the choices span the
image default (1, 30), SIREN's audio setting (1, 3000) and its rescaled twin (100, 30).

    python benchmarks/audio_coordinates.py --seconds 30
"""

from __future__ import annotations

import argparse
from pathlib import Path

from nint import FitResult
from nint.compare import Entry, compare, publish
from nint.signals import load_audio

CLIP = (
    Path(__file__).resolve().parents[2]
    / "shared/data/audio/librispeech/test-clean/121/121726/121-121726-0000.flac"
)
CHOICES = ((1.0, 30.0), (1.0, 3000.0), (100.0, 30.0), (10.0, 30.0))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clip", type=Path, default=CLIP)
    ap.add_argument("--duration", type=float, default=2.0)
    ap.add_argument("--seconds", type=float, default=30.0, help="training seconds per fit")
    ap.add_argument("--strategies", default="standard,nint")
    args = ap.parse_args()
    rows: list[list[object]] = []

    def add_row(entry: Entry, r: FitResult) -> None:
        coord_range, f = r.signal.coord_range, r.summary["final"]
        rows.append(
            [
                f"[-{coord_range:g}, {coord_range:g}]",
                f"{entry.options['first_omega_0']:g}",
                entry.strategy,
                f["si_snr"],
                f["stoi"],
                f["pesq"],
                r.summary["iterations"],
            ]
        )
        print(rows[-1], flush=True)  # each row as it comes: the whole run takes minutes

    for coord_range, omega in CHOICES:
        signal = load_audio(args.clip, duration=args.duration, coord_range=coord_range)
        entries = [Entry(name, {"first_omega_0": omega}) for name in args.strategies.split(",")]
        comparison = compare(signal, entries, seconds=args.seconds, eval_every=50, after=add_row)
    publish(
        ["coords", "first omega_0", "strategy", "SI-SNR", "STOI", "PESQ", "iterations"],
        rows,
        f"{args.clip.name}, first {args.duration:g} s, {args.seconds:g} training seconds each.",
        device=comparison.device,
    )


if __name__ == "__main__":
    main()
