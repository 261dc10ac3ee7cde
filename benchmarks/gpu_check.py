"""One prepared GPU check: the CUDA tests, the paper's audio and image claims, and scale.

Run once on a machine with one CUDA GPU; it takes at most 7.5 minutes of wall time and writes one
Markdown report, DIR/gpu_report.md (also printed), stamped with GPU, CUDA, torch, CPU and date:

    python benchmarks/gpu_check.py --out gpu-report          # needs CUDA
    python benchmarks/gpu_check.py --out /tmp/gpu --quick    # any CPU, toy sizes, well under 90 s

Four parts, each in a process of its own under its own wall-clock cap. A part plans its fits to
end before its cap and is killed at the cap if it does not, so a slow part cannot eat the others'
time; what it finished before then stays in the report, which says which parts ran, finished or
were cut.

- tests: tests/test_cuda.py (the tests marked ``cuda``) under pytest;
- audio: the first LibriSpeech utterance, whole, at the paper's budgets of 3, 10 and 15 s of
  training clock (Table 6): Stand., NINT, INT, Unif., EVOS; SI-SNR, STOI, PESQ;
- image: a 512 x 512 centre crop of Kodak kodim05 fitted until 35 dB: Stand., NINT, INT, Unif.,
  EVOS, Soft Mining, NINT with residual_every=4 and NINT compiled; seconds and iterations to 30 and
  35 dB, seconds per iteration by part;
- scale: Stand. and NINT on the crop enlarged to 1024^2, 2048^2, ... pixels while the cap allows;
  seconds per iteration by part and peak CUDA memory.

``bash benchmarks/gpu_bundle.sh gather`` puts what the bare GPU machine lacks (wheels and the two
data files) in .gpu/; ``bash benchmarks/gpu_bundle.sh run DIR`` installs them there without
network and runs this script (docs/gpu.md).
"""

from __future__ import annotations

import argparse
import json
import os
import signal as signals
import subprocess
import sys
import time
import traceback
import types
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ROOT / ".gpu"
SHARED = ROOT.parent / "shared" / "data"
IMAGE = "kodim05.png"
AUDIO = "121-121726-0000.flac"
DATA = {
    IMAGE: (BUNDLE / "data" / IMAGE, SHARED / "images" / "kodak" / IMAGE),
    AUDIO: (
        BUNDLE / "data" / AUDIO,
        SHARED / "audio" / "librispeech" / "test-clean" / "121" / "121726" / AUDIO,
    ),
}
PART_TITLES = {
    "tests": "Correctness: the CUDA tests",
    "audio": "Audio claim: LibriSpeech at the paper's budgets",
    "image": "Image claim: a Kodak crop to 30 and 35 dB",
    "scale": "Scale: the largest image in the budget",
}
GIB = 2**30


@dataclass(frozen=True)
class Plan:
    """What each part does: the GPU sizes, or toy sizes for a CPU (--quick)."""

    device: str
    caps: dict[str, float]  # hard wall-clock seconds per part, start-up included
    reserve: float  # seconds a part keeps before its cap to write its section and exit
    audio_duration: float | None  # None: the whole utterance
    audio_budgets: tuple[float, ...]  # seconds of training clock
    audio_eval_every_seconds: float
    audio_strategies: tuple[str, ...]
    image_crop: int
    image_max_seconds: float  # training-clock cap of one image fit
    image_eval_every_seconds: float
    image_rows: tuple[tuple[str, str, dict[str, Any]], ...]  # (label, strategy, options)
    scale_base_crop: int  # the crop that is enlarged to each side
    scale_sides: tuple[int, ...]
    scale_iterations: int
    scale_chunks: dict[str, Any] = field(default_factory=dict)


IMAGE_ROWS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    # the claim's two rows first, compiled last: whatever the cap cuts is the least needed
    ("Stand.", "standard", {}),
    ("NINT", "nint", {}),
    ("INT", "int", {}),
    ("Unif.", "uniform", {}),
    ("EVOS", "evos", {}),
    ("SoftM.", "soft", {}),
    ("NINT (residual every 4)", "nint", {"residual_every": 4}),
    ("NINT (compiled)", "nint", {"compile": True}),
)
# 450 s of parts leave the 8 minutes' last half minute to installing the wheels and start-up
FULL = Plan(
    device="cuda",
    caps={"tests": 45.0, "audio": 125.0, "image": 210.0, "scale": 70.0},
    reserve=4.0,  # tearing down a CUDA context takes a moment
    audio_duration=None,
    audio_budgets=(3.0, 10.0, 15.0),
    audio_eval_every_seconds=1.0,
    audio_strategies=("standard", "nint", "int", "uniform", "evos"),
    image_crop=512,
    image_max_seconds=20.0,
    image_eval_every_seconds=0.1,
    image_rows=IMAGE_ROWS,
    scale_base_crop=512,
    scale_sides=(1024, 2048, 4096, 8192),
    scale_iterations=10,
    # chunks keep K r at 16M+ points in memory; at 1M-point chunks a GPU is still saturated
    scale_chunks={
        "forward_chunk": 2**20,
        "train_chunk": 2**20,
        "ntk_chunk_size": 2**18,
        "eval_chunk": 2**20,
    },
)
# the caps add up to 80 s so the whole quick run stays under 90 s even on a loaded machine;
# compiling takes 5-20 s on a CPU, so the compiled row is left to the GPU run
QUICK = Plan(
    device="cpu",
    caps={"tests": 15.0, "audio": 20.0, "image": 23.0, "scale": 22.0},
    reserve=2.0,
    audio_duration=0.5,
    audio_budgets=(0.1, 0.2, 0.3),
    audio_eval_every_seconds=0.05,
    audio_strategies=FULL.audio_strategies,
    image_crop=32,
    image_max_seconds=0.3,
    image_eval_every_seconds=0.05,
    image_rows=tuple(row for row in IMAGE_ROWS if "compile" not in row[2]),
    scale_base_crop=32,
    scale_sides=(32, 40, 48),
    scale_iterations=2,
)


class BadInput(Exception):
    """A problem with the command line or the data: one line on stderr, exit status 2."""


# ----------------------------------------------------------------------------------------------
# helpers shared by the parts


def fmt_seconds(value: float | None) -> str | None:
    """Seconds to 0.1 ms (a GPU iteration takes milliseconds); None stays a dash."""
    return None if value is None else f"{value:.4f}"


def peak_gib(device: Any) -> float | None:
    import torch

    return torch.cuda.max_memory_allocated(device) / GIB if device.type == "cuda" else None


def reset_peak(device: Any) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def per_part(summary: dict[str, Any]) -> dict[str, float]:
    """Training-clock seconds per iteration of each part of the clock."""
    iterations = max(summary["iterations"], 1)
    return {part: seconds / iterations for part, seconds in summary["time_parts"].items()}


def used_parts(summaries: Sequence[dict[str, Any]]) -> list[str]:
    """The clock's parts that any fit spent time in (a one-process image fit has no data/comm)."""
    spent = {part for s in summaries for part, seconds in s["time_parts"].items() if seconds > 0}
    return [part for part in summaries[0]["time_parts"] if part in spent] if summaries else []


def chunk_text(config: dict[str, Any] | None) -> str:
    """How a fit chunked its passes, from its config ("auto" resolves per device)."""
    if config is None:
        return "chunks unknown (no fit finished)"
    keys = ("forward_chunk", "train_chunk", "ntk_chunk_size", "eval_chunk")
    if all(config.get(k) is None for k in keys):
        return "one pass (no chunks)"
    return "chunks " + ", ".join(f"{k}={config.get(k)}" for k in keys)


def warm_up(device: Any) -> None:
    """A throw-away fit: the first CUDA calls of a process (context, cuBLAS, kernel loading)
    would otherwise land on the training clock of the first row. Not needed on a CPU."""
    import numpy as np

    if device.type != "cuda":
        return

    from nint import ImageSignal, fit

    image = np.random.default_rng(0).random((32, 32, 3), dtype=np.float32)
    fit(ImageSignal(image, name="warm-up"), "nint", iterations=3, eval_every=3, device=device)


@dataclass
class Part:
    """What a part's process knows: where to write, its sizes and when it must be done."""

    name: str
    plan: Plan
    out: Path
    deadline: float  # time.time() by which the part must have written its section
    image: Path
    audio: Path
    failures: int = 0

    def remaining(self) -> float:
        """Seconds left for work: to the deadline, less the plan's reserve."""
        return self.deadline - time.time() - self.plan.reserve

    def write(self, *blocks: str) -> None:
        """(Re)write the part's Markdown section. Parts call this after every row, so a part
        killed at its cap still leaves what it finished."""
        text = "\n\n".join(b for b in blocks if b) + "\n"
        (self.out / f"{self.name}.md").write_text(text)

    def failed(self, exc: BaseException) -> str:
        """Count a failed row, log its traceback and return the line the table shows."""
        self.failures += 1
        traceback.print_exc()
        first = str(exc).splitlines()[0] if str(exc) else ""
        return f"failed: {type(exc).__name__}: {first}"


def fit_cap(part: Part, rows_left: int, most: float, overhead: float) -> float:
    """The training clock one of ``rows_left`` fits may use so that all end before the cap:
    ``overhead`` is wall time per training second (evaluation, set-up)."""
    share = part.remaining() / max(rows_left, 1) / overhead
    return max(0.0, min(most, share))


# ----------------------------------------------------------------------------------------------
# part: tests


def junit_rows(path: Path) -> tuple[list[list[object]], dict[str, int]]:
    """(test, result, seconds, recorded numbers) rows and counts from pytest's JUnit XML."""
    rows: list[list[object]] = []
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    for case in ElementTree.parse(path).getroot().iter("testcase"):
        outcome, detail = "passed", ""
        for tag in ("failure", "error", "skipped"):
            node = case.find(tag)
            if node is not None:
                outcome = "skipped" if tag == "skipped" else "failed"
                message = (node.get("message") or "").strip()
                detail = message.splitlines()[0][:120] if message else ""
                break
        counts[outcome] += 1
        recorded = ", ".join(f"{p.get('name')} = {p.get('value')}" for p in case.iter("property"))
        result = outcome + (f" ({detail})" if detail else "")
        rows.append([case.get("name"), result, float(case.get("time") or 0.0), recorded])
    return rows, counts


def part_tests(part: Part) -> str:
    from nint.report import markdown_table

    xml = part.out / f"{part.name}.xml"
    command = [
        sys.executable, "-m", "pytest", str(ROOT / "tests" / "test_cuda.py"), "-m", "cuda",
        "-p", "no:cacheprovider", "-o", "junit_family=xunit1", f"--junitxml={xml}", "-v",
    ]  # fmt: skip
    timeout = max(1.0, part.remaining())
    try:
        done = subprocess.run(command, cwd=ROOT, timeout=timeout, capture_output=True, text=True)
    except subprocess.TimeoutExpired as exc:
        tail = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else exc.stdout
        part.write(f"pytest did not finish within {timeout:.0f} s.", code_block(tail or ""))
        return "cut: pytest ran out of the part's time"
    print(done.stdout, done.stderr, sep="\n")
    if not xml.exists():
        part.failures += 1
        part.write(f"pytest wrote no results (exit {done.returncode}).", code_block(done.stdout))
        return "failed: pytest wrote no results"
    rows, counts = junit_rows(xml)
    part.failures += counts["failed"]
    table = markdown_table(["test (tests/test_cuda.py)", "result", "s", "recorded"], rows)
    summary = ", ".join(f"{n} {k}" for k, n in counts.items())
    part.write(
        table,
        f"{summary}. Selections are compared with the same fits on the CPU, K r with float64 "
        "on the CPU; peak memory is the CUDA allocator's maximum over the fit.",
        code_block(done.stdout, lines=60) if counts["failed"] else "",
    )
    return f"finished: {summary}" + (" (no CUDA here)" if part.plan.device == "cpu" else "")


def code_block(text: str, lines: int = 30) -> str:
    kept = [line for line in text.strip().splitlines() if line.strip()][-lines:]
    return "```\n" + "\n".join(kept) + "\n```" if kept else ""


# ----------------------------------------------------------------------------------------------
# part: audio


def pesq_or_stub() -> str | None:
    """Make an absent ``pesq`` a missing metric (with the reason) instead of a crash.

    nint imports pesq when it scores audio; where it cannot travel to the GPU machine, a stand-in
    module raises nint's own "PESQ failed" error, which nint reports as a missing value with its
    reason, never as a number. Returns the reason, or None when the real pesq imports.
    """
    try:
        import pesq  # noqa: F401

        return None
    except ImportError as exc:
        reason = f"pesq is not installed here ({exc})"
    notes = BUNDLE / "NOTES.txt"
    if notes.exists():
        why = [line for line in notes.read_text().splitlines() if line.startswith("pesq")]
        reason += "; " + " ".join(why) if why else ""
    stub = types.ModuleType("pesq")

    class PesqError(RuntimeError):
        pass

    def unavailable(*args: object, **kwargs: object) -> float:
        raise PesqError(reason)

    stub.PesqError = PesqError  # type: ignore[attr-defined]
    stub.pesq = unavailable  # type: ignore[attr-defined]
    sys.modules["pesq"] = stub
    return reason


def at_budget(history: list[dict[str, Any]], seconds: float) -> dict[str, Any] | None:
    """The first evaluation at or past ``seconds`` of training clock; None if the fit stopped
    before (the budget was cut)."""
    return next((row for row in history if row["train_seconds"] >= seconds), None)


def part_audio(part: Part) -> str:
    import torch

    from nint import fit, load_audio
    from nint.report import markdown_table
    from nint.samplers import display_name

    plan = part.plan
    device = torch.device(plan.device)
    pesq_missing = pesq_or_stub()
    signal = load_audio(part.audio, duration=plan.audio_duration)
    warm_up(device)
    metrics = (("si_snr", "SI-SNR", ".2f"), ("stoi", "STOI", ".3f"), ("pesq", "PESQ", ".3f"))
    header = ["Strategy"] + [
        f"{label} @ {budget:g} s" for budget in plan.audio_budgets for _, label, _ in metrics
    ]
    header += ["iterations", "s / it", "peak GiB", "status"]
    rows: list[list[object]] = []
    missing: dict[str, set[str]] = {}
    cut = 0
    for n, name in enumerate(plan.audio_strategies):
        label = display_name(name)
        # wall seconds per training second: evaluations (STOI/PESQ on the CPU) and set-up
        seconds = fit_cap(part, len(plan.audio_strategies) - n, plan.audio_budgets[-1], 1.4)
        if seconds < plan.audio_budgets[0]:
            rows.append([label] + [None] * (len(header) - 2) + ["not run: part's time ran out"])
            cut += 1
            continue
        print(f"audio: {label}, {seconds:.3g} s of training clock", flush=True)
        try:
            reset_peak(device)
            result = fit(
                signal,
                name,
                seconds=seconds,
                eval_every_seconds=plan.audio_eval_every_seconds,
                device=device,
            )
        except Exception as exc:  # a failed row is reported, and the next one still runs
            rows.append([label] + [None] * (len(header) - 2) + [part.failed(exc)])
            part.write(markdown_table(header, rows))
            continue
        row: list[object] = [label]
        for budget in plan.audio_budgets:
            values = at_budget(result.history, budget) if budget <= seconds else None
            row += [
                None if values is None or values.get(key) is None else format(values[key], spec)
                for key, _, spec in metrics
            ]
        s = result.summary
        for metric, reason in s["missing"].items():
            missing.setdefault(metric, set()).add(reason)
        status = "finished" if seconds >= plan.audio_budgets[-1] else f"cut at {seconds:.3g} s"
        cut += status != "finished"
        row += [s["iterations"], fmt_seconds(s["seconds_per_iteration"]), peak_gib(device), status]
        rows.append(row)
        part.write(markdown_table(header, rows))
    caption = (
        f"{part.audio.name}, {'whole' if plan.audio_duration is None else 'first'} "
        f"{signal.seconds:.2f} s at {signal.rate} Hz ({signal.n_points:,} samples); SIREN 5x256, "
        f"time in [-{signal.coord_range:g}, {signal.coord_range:g}], B = 20 %, device "
        f"{device}. Each strategy is one fit up to the largest budget, evaluated every "
        f"{plan.audio_eval_every_seconds:g} s of training clock (off the clock); the value at a "
        "budget is the first evaluation at or past it. — = not reached or missing."
    )
    reasons = [f"- {metric}: {'; '.join(sorted(r))}" for metric, r in missing.items()]
    if pesq_missing and "pesq" not in missing:
        reasons.append(f"- pesq: {pesq_missing}")
    part.write(
        markdown_table(header, rows),
        caption,
        "Missing metrics:\n" + "\n".join(reasons) if reasons else "",
    )
    return "finished" + (f", {cut} row(s) cut or not run for time" if cut else "")


# ----------------------------------------------------------------------------------------------
# part: image


def psnr_only_image_class() -> type:
    """An ImageSignal whose evaluation computes PSNR only: the claim is about PSNR, and SSIM on
    the CPU (0.17 s at 512^2, 4 s at 2048^2) would dominate a fine evaluation cadence, or at
    scale the whole part. Evaluation is off the training clock either way."""
    import torch

    from nint import ImageSignal
    from nint.metrics import psnr

    class PsnrOnlyImage(ImageSignal):
        def evaluate(self, prediction: torch.Tensor) -> dict[str, float | None]:
            image = self.as_image(prediction)
            self.missing = {
                "ssim": "not computed by the GPU check (PSNR-only evaluation)",
                "lpips": "not computed by the GPU check (PSNR-only evaluation)",
            }
            return {"psnr": psnr(image, self.image), "ssim": None, "lpips": None}

    return PsnrOnlyImage


def part_image(part: Part) -> str:
    import torch

    from nint import fit, load_image

    plan = part.plan
    device = torch.device(plan.device)
    crop = load_image(part.image, crop=plan.image_crop)
    signal = psnr_only_image_class()(crop.raster, name=f"{part.image.stem}-{plan.image_crop}")
    warm_up(device)
    results: dict[str, Any] = {}
    caps: dict[str, float] = {}
    errors: dict[str, str] = {}
    config = None
    for n, (label, name, options) in enumerate(plan.image_rows):
        # evaluation every 0.1 s costs ~10 % of wall on a GPU; compiling is extra (unknown)
        seconds = fit_cap(part, len(plan.image_rows) - n, plan.image_max_seconds, 1.3)
        caps[label] = seconds
        if seconds < 0.1 * plan.image_max_seconds:
            errors[label] = "not run: part's time ran out"
            continue
        print(f"image: {label}, at most {seconds:.3g} s of training clock", flush=True)
        try:
            reset_peak(device)
            result = fit(
                signal,
                name,
                seconds=seconds,
                eval_every_seconds=plan.image_eval_every_seconds,
                stop_at={"psnr": 35.0},
                device=device,
                **options,
            )
            results[label] = (result.summary, peak_gib(device))
            config = result.config
        except Exception as exc:
            errors[label] = part.failed(exc)
        part.write(image_table(plan, results, caps, errors))
    caption = (
        f"{part.image.name}, centre crop {signal.width}x{signal.height} "
        f"({signal.n_points:,} pixels); SIREN 5x256, Adam 1e-4, B = 20 %, NINT paper variant; "
        f"device {device}, {chunk_text(config)}. Each fit stops at its first evaluation at or "
        f"above 35 dB or at its training-clock cap (cap s); evaluation (PSNR only) every "
        f"{plan.image_eval_every_seconds:g} s of training clock, off the clock: times to a "
        "target have that resolution. x Stand. = seconds to the target over Stand.'s. Per-part "
        "columns are training-clock seconds per iteration (NINT's NTK amortised over the fit). "
        "(compiled) = compile=True, compiled before the clock (compile s, off the clock); "
        "(residual every 4) = the approximate residual_every=4 (selection changed). "
        "— = not reached."
    )
    part.write(image_table(plan, results, caps, errors), caption)
    cut = sum(1 for e in errors.values() if e.startswith("not run"))
    return "finished" + (f", {cut} row(s) not run for time" if cut else "")


def image_table(plan: Plan, results: dict, caps: dict, errors: dict) -> str:
    from nint.report import markdown_table

    parts = used_parts([s for s, _ in results.values()])
    base = results.get("Stand.")
    header = ["Strategy", "cap s"]
    for target in (30, 35):
        header += [f"s to {target} dB", f"it to {target} dB", f"x Stand. {target} dB"]
    header += ["s / it", *(f"{p} s/it" for p in parts), "last PSNR", "iterations"]
    header += ["peak GiB", "compile s", "status"]
    rows: list[list[object]] = []
    for label, _, _ in plan.image_rows:
        if label not in results:
            if label in errors:
                rows.append([label, caps.get(label)] + [None] * (len(header) - 3) + [errors[label]])
            continue
        s, peak = results[label]
        row: list[object] = [label, caps[label]]
        for target in (30, 35):
            hit = s["reached"].get(f"psnr>={target}")
            base_hit = base and base[0]["reached"].get(f"psnr>={target}")
            row += [
                hit and hit["seconds"],
                hit and hit["iteration"],
                hit["seconds"] / base_hit["seconds"] if hit and base_hit else None,
            ]
        parts_per_it = per_part(s)
        row += [fmt_seconds(s["seconds_per_iteration"])]
        row += [fmt_seconds(parts_per_it[p]) for p in parts]
        row += [s["final"]["psnr"], s["iterations"], peak, s.get("compile_seconds"), "finished"]
        rows.append(row)
    return markdown_table(header, rows)


# ----------------------------------------------------------------------------------------------
# part: scale


def part_scale(part: Part) -> str:
    import numpy as np
    import torch

    from nint import fit, load_image

    plan = part.plan
    device = torch.device(plan.device)
    image = load_image(part.image, crop=plan.scale_base_crop).raster
    signal_class = psnr_only_image_class()
    warm_up(device)
    fits: list[tuple[int, str, dict[str, Any], float | None, float]] = []
    largest: int | None = None
    stop: str | None = None
    config = None
    last_wall: tuple[int, float] | None = None
    for side in plan.scale_sides:
        if last_wall:
            # the cost of an iteration grows with the pixel count; 1.3 for margin
            predicted = last_wall[1] * (side / last_wall[0]) ** 2 * 1.3
            if predicted > part.remaining():
                stop = (
                    f"{side}x{side} not tried: predicted {predicted:.0f} s, "
                    f"{part.remaining():.0f} s left"
                )
                break
        size_started = time.perf_counter()
        # nearest-neighbour enlargement: the content does not matter for seconds per iteration
        factor = -(-side // image.shape[0])
        big = np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)[:side, :side]
        signal = signal_class(np.ascontiguousarray(big), name=f"{side}x{side}")
        for name in ("standard", "nint"):
            print(f"scale: {side}x{side} {name}", flush=True)
            started = time.perf_counter()
            try:
                reset_peak(device)
                result = fit(
                    signal,
                    name,
                    iterations=plan.scale_iterations,
                    eval_every=plan.scale_iterations,
                    device=device,
                    **plan.scale_chunks,
                )
            except torch.cuda.OutOfMemoryError:
                stop = f"{side}x{side} {name}: out of CUDA memory"
                break
            except Exception as exc:
                stop = f"{side}x{side} {name}: " + part.failed(exc)
                break
            config = result.config
            wall = time.perf_counter() - started
            fits.append((side, name, result.summary, peak_gib(device), wall))
            del result  # its model and prediction would otherwise stay on the device
        part.write(scale_table(fits))
        if stop:
            break
        largest = side
        last_wall = (side, time.perf_counter() - size_started)
    caption = (
        f"{part.image.name}, centre crop {plan.scale_base_crop}x{plan.scale_base_crop} enlarged "
        f"(nearest neighbour) to each size; SIREN 5x256, B = 20 %, {plan.scale_iterations} "
        f"iterations per fit (NINT scores the NTK at iteration 0: its ntk column is one scoring "
        f"spread over {plan.scale_iterations} iterations); {chunk_text(config)}; device "
        f"{device}. Training-clock seconds per iteration by part; wall s includes set-up and "
        "evaluation (PSNR only, at iteration 0 and the last). A size is tried while it is "
        "predicted to fit in what is left of the part's cap."
    )
    verdict = (
        f"Largest size fitted within the cap: {largest}x{largest} ({largest * largest:,} pixels)."
        if largest
        else "No size fitted within the cap."
    )
    part.write(scale_table(fits), caption, verdict + (f" Stopped: {stop}." if stop else ""))
    return "finished" + (f" (stopped: {stop})" if stop else "")


def scale_table(fits: list[tuple[int, str, dict[str, Any], float | None, float]]) -> str:
    from nint.report import markdown_table

    parts = used_parts([s for _, _, s, _, _ in fits])
    header = ["size", "pixels", "strategy", "s / it", *(f"{p} s/it" for p in parts)]
    rows = []
    for side, name, s, peak, wall in fits:
        per_it = per_part(s)
        rows.append(
            [
                f"{side}x{side}",
                f"{side * side:,}",
                "Stand." if name == "standard" else "NINT",
                fmt_seconds(s["seconds_per_iteration"]),
                *(fmt_seconds(per_it[p]) for p in parts),
                peak,
                wall,
            ]
        )
    return markdown_table(header + ["peak GiB", "wall s"], rows)


# ----------------------------------------------------------------------------------------------
# the parent: runs each part in its own process, then writes and prints the report

PARTS: dict[str, Callable[[Part], str]] = {
    "tests": part_tests,
    "audio": part_audio,
    "image": part_image,
    "scale": part_scale,
}


def run_part(name: str, plan: Plan, args: argparse.Namespace) -> int:
    """The body of one part's process: do the part, leave its section and status in --out."""
    part = Part(name, plan, args.out, args.deadline, args.image, args.audio)
    status = PARTS[name](part)
    (args.out / f"{name}.json").write_text(
        json.dumps({"status": status, "failures": part.failures})
    )
    return 0


@dataclass
class Outcome:
    name: str
    cap: float
    wall: float
    status: str
    failures: int
    section: str


def launch(name: str, plan: Plan, args: argparse.Namespace, parts_dir: Path) -> Outcome:
    """Run one part in a process of its own and kill it (with anything it started) at the cap."""
    cap = plan.caps[name]
    started = time.time()
    command = [
        sys.executable, str(Path(__file__).resolve()), "--part", name, "--out", str(parts_dir),
        "--deadline", f"{started + cap - 1.0:.3f}", "--image", str(args.image),
        "--audio", str(args.audio),
    ] + (["--quick"] if args.quick else [])  # fmt: skip
    log = parts_dir / f"{name}.log"
    for stale in (".md", ".json", ".xml"):  # from an earlier run into the same folder
        (parts_dir / f"{name}{stale}").unlink(missing_ok=True)
    print(f"[gpu_check] {name}: cap {cap:g} s ...", flush=True)
    with log.open("w") as sink:
        process = subprocess.Popen(
            command, stdout=sink, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True
        )
        try:
            code: int | None = process.wait(timeout=cap)
        except subprocess.TimeoutExpired:
            # the part's own process group: pytest or torch.compile workers go with it
            os.killpg(process.pid, signals.SIGKILL)
            process.wait()
            code = None
    wall = time.time() - started
    md, js = parts_dir / f"{name}.md", parts_dir / f"{name}.json"
    section = md.read_text().strip() if md.exists() else ""
    failures = 0
    if code is None:
        status = f"cut: killed at its cap of {cap:g} s; rows finished before are kept"
    elif code != 0 or not js.exists():
        failures = 1
        tail = log.read_text().strip().splitlines()
        status = f"failed (exit {code}): {tail[-1] if tail else 'no output'}"
        section = "\n\n".join(s for s in (section, code_block(log.read_text())) if s)
    else:
        record = json.loads(js.read_text())
        status, failures = record["status"], record["failures"]
    print(f"[gpu_check] {name}: {status} ({wall:.1f} s)", flush=True)
    return Outcome(name, cap, wall, status, failures, section or "(nothing finished)")


def package_versions() -> str:
    found = []
    for package in ("soundfile", "pystoi", "pesq", "pytest", "numpy", "scipy", "scikit-image"):
        try:
            found.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            found.append(f"{package} missing")
    return ", ".join(found)


def commit() -> str:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        )
        return done.stdout.strip() or "unknown"
    except OSError:
        return "unknown (no git)"


def stamp(plan: Plan) -> list[str]:
    """The machine stamp: date, GPU, CUDA and torch, CPU, packages, nint."""
    import torch

    import nint
    from nint.report import environment, one_line

    env = environment(plan.device)
    if plan.device == "cuda":
        props = torch.cuda.get_device_properties(0)
        gpu = (
            f"{env['gpu']} ({props.total_memory / GIB:.0f} GiB), CUDA {env['cuda']}, "
            f"torch {torch.__version__}, {torch.cuda.device_count()} device(s)"
        )
    else:
        gpu = f"none used (CPU run), torch {torch.__version__}"
    return [
        f"- date: {env['date']}",
        f"- GPU: {gpu}",
        f"- CPU: {env['cpu_model']}, {os.cpu_count()} cores, {env['torch_threads']} torch threads",
        f"- Python {env['python']} on {env['platform']}",
        f"- packages: {package_versions()}",
        f"- nint {nint.__version__} from {Path(nint.__file__).parent}, commit {commit()}",
        f"- command: {' '.join(['benchmarks/gpu_check.py', *sys.argv[1:]])}",
        f"- stamp line: {one_line(env)}",
    ]


def report(plan: Plan, args: argparse.Namespace, outcomes: list[Outcome], total: float) -> str:
    from nint.report import markdown_table

    mode = (
        "quick: toy sizes on a CPU (checks that the script runs; these are not the claims' sizes)"
        if args.quick
        else "full: the claims' sizes on one GPU"
    )
    lines = ["# nint GPU check", "", f"Mode: {mode}.", "", *stamp(plan), ""]
    table = markdown_table(
        ["part", "cap s", "wall s", "status"],
        [[f"{o.name}: {PART_TITLES[o.name]}", o.cap, o.wall, o.status] for o in outcomes],
    )
    lines += [table, "", f"Whole check: {total:.1f} s of wall time.", ""]
    for outcome in outcomes:
        lines += [f"## {PART_TITLES[outcome.name]}", "", outcome.section, ""]
    return "\n".join(lines)


def existing(path: Path | None, name: str) -> Path:
    """The given file, else the bundle's copy (.gpu/data), else shared/data's; BadInput if none."""
    candidates = [path] if path else list(DATA[name])
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    if path:
        raise BadInput(f"missing data file {path}")
    where = " or ".join(str(c) for c in candidates)
    raise BadInput(f"missing data file {where}: run `bash benchmarks/gpu_bundle.sh gather` first")


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True, help="folder for gpu_report.md and parts/")
    ap.add_argument("--quick", action="store_true", help="toy sizes on the CPU, well under 90 s")
    ap.add_argument("--image", type=Path, help=f"image file (default: {IMAGE} from .gpu/data)")
    ap.add_argument("--audio", type=Path, help=f"audio file (default: {AUDIO} from .gpu/data)")
    ap.add_argument(
        "--caps", default="", help="override part caps in seconds, e.g. image=300,scale=90"
    )
    ap.add_argument("--parts", default=",".join(PARTS), help="comma-separated subset of parts")
    ap.add_argument("--part", choices=list(PARTS), help=argparse.SUPPRESS)  # a part's process
    ap.add_argument("--deadline", type=float, help=argparse.SUPPRESS)
    return ap.parse_args(argv)


def with_caps(plan: Plan, text: str) -> Plan:
    caps = dict(plan.caps)
    for item in filter(None, text.split(",")):
        name, _, value = item.partition("=")
        if name not in caps:
            raise BadInput(f"--caps: unknown part {name!r}; parts are {', '.join(caps)}")
        try:
            caps[name] = float(value)
        except ValueError:
            raise BadInput(f"--caps: {item!r} is not PART=SECONDS") from None
        if not caps[name] > 0:
            raise BadInput(f"--caps: {name} needs a positive number of seconds")
    return replace(plan, caps=caps)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    plan = QUICK if args.quick else FULL
    if args.part:
        return run_part(args.part, plan, args)
    try:
        args.image = existing(args.image, IMAGE)
        args.audio = existing(args.audio, AUDIO)
        plan = with_caps(plan, args.caps)
        names = [n for n in args.parts.split(",") if n]
        unknown = sorted(set(names) - set(PARTS))
        if unknown or not names:
            raise BadInput(f"--parts: unknown {', '.join(unknown)}; parts are {', '.join(PARTS)}")
        try:
            import torch

            from nint import NintError, load_audio, load_image
        except ImportError as exc:
            raise BadInput(f"cannot import {exc.name}: {exc}") from None
        if not args.quick and not torch.cuda.is_available():
            raise BadInput(
                f"no CUDA device visible to this PyTorch ({torch.__version__}): run this on a GPU "
                "machine, or add --quick for the CPU toy run"
            )
        try:  # a file that will not load is bad input, not a failed part
            load_image(args.image)
            load_audio(args.audio)
        except NintError as exc:
            raise BadInput(str(exc)) from None
    except BadInput as exc:
        print(f"gpu_check: {exc}", file=sys.stderr)
        return 2
    started = time.time()
    parts_dir = args.out / "parts"
    parts_dir.mkdir(parents=True, exist_ok=True)
    outcomes = [launch(name, plan, args, parts_dir) for name in PARTS if name in names]
    text = report(plan, args, outcomes, time.time() - started)
    (args.out / "gpu_report.md").write_text(text)
    print()
    print(text)
    failed = [o.name for o in outcomes if o.failures or o.status.startswith("failed")]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
