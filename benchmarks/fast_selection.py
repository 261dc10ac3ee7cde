"""Does NINT pay for itself on a CPU? Every strategy against exact and fast INT and NINT.

One process, one run, one strategy at a time (issue 14). On the 128 x 128 and 256 x 256 centre
crops of two Kodak images: Stand., Unif., Soft Mining (with the corrected drift and with the
released code's double correction), EVOS, INT, INT (fast), NINT and NINT (fast), and Unif. and
NINT (fast) at B = 10 %, each stopping at 35 dB or at its training-clock cap; the table gives
training-clock seconds and iterations to 30 and 35 dB. On the audio benchmark's clip (the first
2 s of LibriSpeech 121-121726-0000) the same strategies but Soft Mining (images only) at the CPU
budgets of benchmarks/audio_budgets.py: SI-SNR, STOI and PESQ. Then, untimed, how much of the
exact selection the fast mode keeps: at every --audit-every-th selection of a fast fit, the
overlap of its error part with the exact top-n error coordinates (float32, full pass, same
weights, same NTK part excluded) and of its NTK part with the exact NTK top-n. Each signal's
table is written as soon as its fits are done, so an interrupted run keeps what finished.

    python benchmarks/fast_selection.py                   # about 90 minutes on a 2-core CPU
    python benchmarks/fast_selection.py --quick           # a smoke run of a few minutes

Run it on an idle machine: a second process on the same cores slows every fit's clock.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import torch
from audio_budgets import SEED_BUDGETS, budget_table  # a sibling script (benchmarks/)

from nint import load_image, select
from nint.compare import Entry, compare, publish
from nint.fast_selection import selection_overlap
from nint.models import predict
from nint.ntk import error_scores, kernel_residual_product, ntk_scores
from nint.report import environment, one_line
from nint.samplers import SAMPLERS
from nint.signals import load_audio

DATA = Path(__file__).resolve().parents[2] / "shared/data"
IMAGES = ("kodim05.png", "kodim03.png")
CLIP = DATA / "audio/librispeech/test-clean/121/121726/121-121726-0000.flac"
AUDIO_BUDGETS = tuple(b * 10 for b in SEED_BUDGETS)  # the CPU budgets of audio_budgets.py


def entries(image: bool) -> list[Entry]:
    """The rows: every baseline a user could pick, then exact and fast INT and NINT; on images
    also Unif. and fast NINT at B = 10 % (on this CPU a smaller batch is itself faster)."""
    rows = [Entry("standard"), Entry("uniform")]
    if image:
        rows += [
            Entry("soft"),
            Entry("soft", {"drift": "released"}, label="SoftM. (released drift)",
                  folder="soft-released"),
        ]  # fmt: skip
    rows += [Entry("evos")]
    for name in ("int", "nint"):
        rows += [
            Entry(name),
            Entry(name, {"selection": "fast"}, label=f"{SAMPLERS[name].display_name} (fast)",
                  folder=f"{name}-fast"),
        ]  # fmt: skip
    if image:
        rows += [
            Entry("uniform", {"ratio": 0.1}, label="Unif. (B = 10 %)", folder="uniform-10"),
            Entry("nint", {"selection": "fast", "ratio": 0.1}, label="NINT (fast, B = 10 %)",
                  folder="nint-fast-10"),
        ]  # fmt: skip
    return rows


def reached(result, threshold: float) -> tuple[object, object]:
    hit = result.summary["reached"].get(f"psnr>={threshold:g}")
    return (None, None) if hit is None else (round(hit["seconds"], 1), hit["iteration"])


def ratio(seconds: float | None, base: float | None) -> float | None:
    """Seconds over Unif.'s; None when either did not reach the threshold."""
    return None if seconds is None or base is None else round(seconds / base, 2)


def image_table(args, path: Path, crop: int) -> list[list[object]]:
    """Fit every entry on one crop; write its table; return its rows."""
    signal = load_image(path, crop=crop)
    cap = args.cap_128 if crop <= 128 else args.cap_256
    comparison = compare(
        signal, entries(image=True), args.out / f"{path.stem}-{crop}",
        seconds=cap, eval_every=args.eval_every, stop_at={"psnr": 35.0}, progress=False,
        announce=f"{path.stem} {crop}x{crop}: {{label}} ...",
    )  # fmt: skip
    rows = []
    uniform = comparison.results["Unif."]
    for entry, result in comparison:
        s30, i30 = reached(result, 30.0)
        s35, i35 = reached(result, 35.0)
        rows.append([
            f"{path.stem} {crop}", entry.label, s30, i30, ratio(s30, reached(uniform, 30.0)[0]),
            s35, i35, ratio(s35, reached(uniform, 35.0)[0]),
            round(result.summary["final"]["psnr"], 2), result.summary["iterations"],
            round(result.summary["seconds_per_iteration"], 4),
        ])  # fmt: skip
    comparison.write(
        IMAGE_HEADER, rows,
        f"{path.name}, {crop}x{crop} centre crop; stop at 35 dB or {cap:g} s of training clock; "
        f"evaluation every {args.eval_every} iterations, off the clock; x Unif. = seconds over "
        f"Unif.'s (B = 20 %); — = not reached.",
        title=f"{path.stem} {crop}x{crop}", thresholds=(30.0, 35.0),
    )  # fmt: skip
    return rows


IMAGE_HEADER = [
    "Signal", "Strategy", "s to 30 dB", "it to 30 dB", "x Unif.", "s to 35 dB", "it to 35 dB",
    "x Unif.",
    "final PSNR", "iterations", "s / it",
]  # fmt: skip


def audio_table(args) -> None:
    signal = load_audio(args.clip, duration=2.0)
    budgets = args.audio_budgets
    comparison = compare(
        signal, entries(image=False), args.out / "audio", seconds=budgets[-1],
        eval_every_seconds=args.audio_eval_seconds, progress=False,
        announce="audio: {label} ...",
    )  # fmt: skip
    header, rows = budget_table(comparison, budgets)
    comparison.write(
        header, rows,
        f"{args.clip.name}, first 2 s; training-clock budgets {', '.join(map(str, budgets))} s; "
        f"evaluation every {args.audio_eval_seconds:g} s off the clock; — = metric missing.",
        figures=False,
    )  # fmt: skip


class Audit:
    """Mixin for INT and NINT: at every ``every``-th selection, compare the parts chosen with
    what the exact method would choose at the same weights (float32 full pass; off any clock
    that matters: these fits are not timed)."""

    every = 10

    def choose(self, step, k, ctx):
        idx = super().choose(step, k, ctx)
        if step % self.every:
            return idx
        with torch.no_grad():
            residual = predict(ctx.model, ctx.coords) - ctx.targets
        ntk = self.parts.get("ntk", idx[:0])
        taken = select.mask_of(ntk, self.n_points)
        error = self.parts["error"]
        exact = select.top_k(error_scores(residual, self.error_norm), error.numel(), taken)
        self.overlaps["error"].append(selection_overlap(error, exact))
        if ntk.numel() and getattr(self, "_scores_step", None) == step:
            scores = ntk_scores(kernel_residual_product(ctx.model, ctx.coords, residual))
            self.overlaps["ntk"].append(selection_overlap(ntk, select.top_k(scores, ntk.numel())))
        return idx


def audit_table(args) -> None:
    rows = []
    signals = [(f"{Path(IMAGES[0]).stem} 128", load_image(DATA / "images/kodak" / IMAGES[0],
                                                          crop=128))]  # fmt: skip
    signals.append(("audio", load_audio(args.clip, duration=2.0)))
    for label, signal in signals:
        for name in ("int", "nint"):
            cls = type(f"Audited{name}", (Audit, SAMPLERS[name]), {"every": args.audit_every})
            sampler = cls(signal.n_points, seed=0, selection="fast")
            sampler.overlaps = {"error": [], "ntk": []}
            entry = Entry(sampler, label=f"{SAMPLERS[name].display_name} (fast)")
            compare(signal, [entry], None, iterations=args.audit_iterations, eval_every=10**9,
                    progress=False, announce=f"audit {label}: {{label}} ...")  # fmt: skip
            for part, values in sampler.overlaps.items():
                if values:
                    rows.append([
                        label, entry.label, part, len(values), round(statistics.mean(values), 3),
                        round(values[0], 3), round(values[-1], 3),
                    ])  # fmt: skip
    publish(
        ["Signal", "Strategy", "part", "selections audited", "mean overlap", "first", "last"],
        rows,
        f"Overlap of the fast mode's parts with the exact method's at the same weights, every "
        f"{args.audit_every}th selection of a {args.audit_iterations}-iteration fit (seed 0; "
        "error part: exact top-n error after the same NTK part; NTK part: at the selections "
        "that scored it). 1.0 = the exact selection.",
        path=args.out / "overlap.md",
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("runs/bench-fast-selection"))
    ap.add_argument("--images", default=",".join(IMAGES), help="Kodak file names")
    ap.add_argument("--crops", default="128,256")
    ap.add_argument("--cap-128", type=float, default=60.0, help="training-clock cap at 128 (s)")
    ap.add_argument("--cap-256", type=float, default=120.0, help="training-clock cap at 256 (s)")
    ap.add_argument("--eval-every", type=int, default=5)
    ap.add_argument("--clip", type=Path, default=CLIP)
    ap.add_argument("--audio-budgets", type=lambda s: tuple(map(float, s.split(","))),
                    default=AUDIO_BUDGETS)  # fmt: skip
    ap.add_argument("--audio-eval-seconds", type=float, default=5.0)
    ap.add_argument("--audit-every", type=int, default=10)
    ap.add_argument("--audit-iterations", type=int, default=200)
    ap.add_argument("--quick", action="store_true", help="one image, 128 only, short caps")
    args = ap.parse_args()
    if args.quick:
        args.images, args.crops, args.cap_128 = IMAGES[0], "128", 8.0
        args.audio_budgets, args.audio_eval_seconds = (3.0, 6.0), 1.0
        args.audit_iterations = 30
    args.out.mkdir(parents=True, exist_ok=True)
    print(one_line(environment("cpu")), flush=True)
    all_rows = []
    for crop in map(int, args.crops.split(",")):
        for name in args.images.split(","):
            all_rows += image_table(args, DATA / "images/kodak" / name, crop)
    publish(IMAGE_HEADER, all_rows, "All image signals (see each folder's table.md).",
            path=args.out / "images.md")  # fmt: skip
    audio_table(args)
    audit_table(args)


if __name__ == "__main__":
    main()
