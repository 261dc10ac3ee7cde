"""Variants of NINT's fast selection tried for issue 14, against Unif. and Soft Mining.

The fast mode (``selection="fast"``, ``nint.fast_selection``) re-measures 3 n candidates for an
error part of n and refreshes its error estimate with a full pass every 20 selections. On a
2-core CPU an iteration of it costs about 1.4-1.7 x an iteration of Unif., and it needs about
0.6-0.9 x Unif.'s iterations, so the two come out close on the clock (docs/benchmarks.md,
"NINT on a CPU"). This script fits, in one process and one after the other, the variants
tried to break the tie, each for several seeds, and prints the mean seconds and iterations to
30 and 35 dB:

- NINT (exact) and NINT (fast), the library's two modes;
- candidates 5: a larger pool (more of the exact error part, a dearer pass);
- refresh at NTK scorings only: no periodic full pass after the NTK part ends (the uniform part's
  training errors are then the only refresh of coordinates outside the pool);
- re-measure trained only: no pool; re-measure only the previous error part (the rows whose error
  the last update changed most) and take the top n of the estimate (a pass of n, not 3 n);
- one pool serves 2: one pool of (3 + 1) n serves two selections, the second taking the next n by
  the first's fresh errors (a pass of 2 n per selection);
- one pool serves 2, refresh at NTK scorings only: the two together;
- loss weights 0.4: the NTK and error rows weigh 0.4 x the random rows in the loss (towards the
  stratified estimate of the full loss, Soft Mining's idea of correcting the loss).

These variants live only here: none paid for itself, and the library keeps the plain fast mode.

    python benchmarks/selection_variants.py            # about 25 minutes on a 2-core CPU
    python benchmarks/selection_variants.py --audio    # the refresh variant on audio, 6 minutes

Run it on an idle machine: a second process on the same cores slows every fit's clock.
"""

from __future__ import annotations

import argparse
import math
import statistics
from pathlib import Path

import torch
from audio_budgets import budget_table  # sibling scripts (benchmarks/)
from fast_selection import CLIP, DATA, ratio, reached

from nint import load_image
from nint.compare import Entry, compare, publish
from nint.fast_selection import FastResiduals, resolve_precision
from nint.ntk import error_scores
from nint.report import environment, one_line
from nint.samplers.nint import NintSampler
from nint.signals import load_audio

IMAGES = ("kodim05.png", "kodim03.png")
THRESHOLDS = (30.0, 35.0)  # dB


class TrainedOnly(FastResiduals):
    """Between full passes, re-measure only the previous error part; no candidate pool.

    The error part chosen at a full pass (every 20th selection) is not recorded here, so the
    selection after it re-measures the part from before the full pass instead."""

    previous: torch.Tensor | None = None

    def between_full_passes(self, frame, n, exclude):
        if self.previous is not None:
            fresh = self.rows_residual(frame, self.previous)
            self.estimate[self.previous] = error_scores(fresh, self.norm)
            self.candidate_passes += 1
        self.previous = frame.top_k(self.estimate, n, exclude=exclude)
        return self.previous


class ServeTwo(FastResiduals):
    """One pool of (candidates + 1) n, ranked by its fresh errors, serves two selections."""

    queue: torch.Tensor | None = None
    stamp: tuple[int, int] = (-1, -1)

    def between_full_passes(self, frame, n, exclude):
        if self.queue is not None and self.stamp == (self.full_passes, self._since_full - 1):
            chosen = self.queue[~exclude[self.queue]][:n] if exclude is not None else self.queue[:n]
            self.queue = None
            return chosen
        pool, fresh = self.remeasure_top(frame, math.ceil(self.candidates * n) + n, exclude)
        order = pool[torch.argsort(fresh, descending=True)]
        self.queue, self.stamp = order[n:], (self.full_passes, self._since_full)
        return order[:n]


class Weighted(NintSampler):
    """NINT whose NTK and error rows weigh ``rho`` x its random rows in the loss (mean 1)."""

    reweights = True
    rho = 0.4

    def loss_weights(self, errors: torch.Tensor) -> torch.Tensor:
        n_ntk, n_err, _ = self.last_counts
        weights = torch.ones(errors.shape[0], dtype=errors.dtype, device=errors.device)
        weights[: n_ntk + n_err] = self.rho
        return weights * (weights.numel() / weights.sum())


def with_fast(sampler: NintSampler, kind: type[FastResiduals]) -> NintSampler:
    """``sampler`` (fast mode) with its fast-selection source replaced by a ``kind``."""
    assert sampler.fast is not None
    sampler.fast = kind(**sampler.fast.config(), norm=sampler.error_norm, strategy="nint")
    return sampler


def entries(n_points: int, seed: int, precision: str = "auto") -> list[Entry]:
    """The rows of one seed (variant samplers are built per fit); ``precision`` of the fast
    passes."""
    fast = {"selection": "fast", "precision": precision}
    return [
        Entry("uniform"),
        Entry("soft"),
        Entry("soft", {"drift": "released"}, label="SoftM. (released drift)"),
        Entry("nint"),
        Entry("nint", fast, label="NINT (fast)"),
        Entry("nint", {**fast, "candidates": 5}, label="candidates 5"),
        Entry("nint", {**fast, "refresh_every": 10**6}, label="refresh at NTK scorings only"),
        Entry(with_fast(NintSampler(n_points, seed=seed, **fast), TrainedOnly),
              label="re-measure trained only"),
        Entry(with_fast(NintSampler(n_points, seed=seed, **fast), ServeTwo),
              label="one pool serves 2"),
        Entry(Weighted(n_points, seed=seed, **fast), label="loss weights 0.4"),
        Entry(with_fast(NintSampler(n_points, seed=seed, **fast, refresh_every=10**6), ServeTwo),
              label="one pool serves 2, refresh at NTK scorings only"),
    ]  # fmt: skip


def mean_or_missing(values: list[object], digits: int) -> object:
    """The mean, or "— (r/n)" when only r of the n seeds reached the threshold."""
    got = [v for v in values if v is not None]
    if len(got) < len(values):
        return f"— ({len(got)}/{len(values)})"
    mean = round(statistics.mean(got), digits)
    return int(mean) if digits == 0 else mean


def mean_seconds(results: list, threshold: float) -> object:
    """Mean training-clock seconds to ``threshold`` dB over the seeds' results, or "— (r/n)"."""
    return mean_or_missing([reached(r, threshold)[0] for r in results], 2)


def image_rows(args, path: Path) -> list[list[object]]:
    signal = load_image(path, crop=args.crop)
    runs: dict[str, list] = {}
    for seed in args.seeds:
        fits = [
            e
            for e in entries(signal.n_points, seed, args.precision)
            if not args.only or e.label in args.only
        ]
        comparison = compare(
            signal, fits, None, seed=seed, seconds=args.cap,
            eval_every=args.eval_every, stop_at={"psnr": 35.0}, progress=False,
            announce=f"{path.stem} seed {seed}: {{label}} ...",
        )  # fmt: skip
        for entry, result in comparison:
            runs.setdefault(entry.label, []).append(result)
    rows = []
    for label, results in runs.items():
        row = [f"{path.stem} {args.crop}", label]
        for threshold in THRESHOLDS:
            mean, base = mean_seconds(results, threshold), mean_seconds(runs["Unif."], threshold)
            row += [
                mean,
                mean_or_missing([reached(r, threshold)[1] for r in results], 0),
                ratio(*(v if isinstance(v, float) else None for v in (mean, base))),
            ]
        row.append(round(statistics.mean(r.summary["final"]["psnr"] for r in results), 2))
        row.append(round(1000 * statistics.mean(
            r.summary["seconds_per_iteration"] for r in results), 1))  # fmt: skip
        rows.append(row)
    return rows


def audio_rows(args) -> tuple[list[str], list[list[object]]]:
    """Unif., NINT (fast) and its refresh variant on the audio clip (2 s) at the budgets."""
    fast = {"selection": "fast", "precision": args.precision}
    fits = [
        Entry("uniform"),
        Entry("nint", fast, label="NINT (fast)"),
        Entry("nint", {**fast, "refresh_every": 10**6}, label="refresh at NTK scorings only"),
    ]
    comparison = compare(
        load_audio(args.clip, duration=2.0), fits, None, seconds=max(args.audio_budgets),
        eval_every_seconds=5.0, progress=False, announce="audio: {label} ...",
    )  # fmt: skip
    return budget_table(comparison, args.audio_budgets)


HEADER = [
    "Signal", "Strategy", "s to 30 dB", "it to 30 dB", "x Unif.", "s to 35 dB", "it to 35 dB",
    "x Unif.", "final PSNR", "ms / it",
]  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("runs/bench-selection-variants"))
    ap.add_argument("--images", default=",".join(IMAGES), help="Kodak file names")
    ap.add_argument("--crop", type=int, default=128)
    ap.add_argument("--seeds", type=lambda s: [int(x) for x in s.split(",")], default=[0, 1])
    ap.add_argument("--cap", type=float, default=60.0, help="training-clock cap per fit (s)")
    ap.add_argument("--eval-every", type=int, default=5)
    ap.add_argument(
        "--only",
        type=lambda s: s.split(";"),
        default=[],
        help="fit only these rows: labels separated by ';' (Unif. is the baseline)",
    )
    ap.add_argument(
        "--audio",
        action="store_true",
        help="instead: Unif., NINT (fast) and the refresh variant on the audio clip",
    )
    ap.add_argument("--clip", type=Path, default=CLIP)
    ap.add_argument(
        "--precision",
        choices=("auto", "float32", "bfloat16"),
        default="auto",
        help="precision of the fast passes (bfloat16 is emulated, and slow, without avx512_bf16)",
    )
    ap.add_argument(
        "--audio-budgets", type=lambda s: tuple(map(float, s.split(","))), default=(30.0, 100.0)
    )
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    print(one_line(environment("cpu")), flush=True)
    precision = str(resolve_precision(args.precision, torch.device("cpu"))).removeprefix("torch.")
    if args.audio:
        header, rows = audio_rows(args)
        publish(
            header, rows,
            f"{args.clip.name}, first 2 s; training-clock budgets "
            f"{', '.join(f'{b:g}' for b in args.audio_budgets)} s; evaluation every 5 s, off the "
            f"clock; seed 0. The fast passes ran in {precision}.",
            path=args.out / "audio.md",
        )  # fmt: skip
        return
    rows = []
    for name in args.images.split(","):
        rows += image_rows(args, DATA / "images/kodak" / name)
    publish(
        HEADER, rows,
        f"{args.crop}x{args.crop} centre crops; mean over seeds {args.seeds}; each fit stops at "
        f"35 dB or {args.cap:g} s of training clock; evaluation every {args.eval_every} "
        "iterations, off the clock; x Unif. = mean seconds over Unif.'s; — (r/n) = only r of "
        f"n seeds reached it. The fast passes ran in {precision}.",
        path=args.out / "table.md",
    )  # fmt: skip


if __name__ == "__main__":
    main()
