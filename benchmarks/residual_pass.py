"""Seconds of one no-grad residual pass over all coordinates: plain ``model(x)`` vs the fast pass.

The residual pass is ``nint.models.predict`` (what INT and NINT run over all N coordinates every
iteration). "plain" runs ``model(x)`` under ``torch.no_grad`` (``fast_inference(False)``); "fast"
runs ``Siren.forward_inference`` (in-place sine layers in two reused buffers). Both give
bitwise the same prediction, which is checked here on every size. With ``--compiled`` the pass
through ``torch.compile`` of ``siren_apply`` (compiled before timing; not bitwise equal) is timed
too: it is why ``fit(compile=True)`` keeps the eager fast pass for the residual.
The fast pass is also timed under ``torch.inference_mode`` (``predict`` runs it under no_grad).
The passes are timed alternately, ``--repeats`` times each after an untimed warm-up, and the
median is reported.

    OMP_NUM_THREADS=1 python benchmarks/residual_pass.py     # ~2 minutes on a 2-core CPU
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from nint.compare import publish
from nint.models import Siren, fast_inference, predict
from nint.models.compiled import compiled, siren_apply


def compiled_pass(model: Siren, coords: torch.Tensor, chunk: int) -> torch.Tensor:
    """The residual pass through ``torch.compile`` of ``siren_apply``, chunk by chunk."""
    params = list(model.parameters())
    omegas = tuple(layer.omega_0 for layer in model.net[:-1])
    with torch.no_grad():
        parts = [compiled(siren_apply)(params, omegas, x) for x in coords.split(chunk)]
        return torch.cat(parts)


def seconds(model: Siren, coords: torch.Tensor, chunk: int, how: str) -> float:
    """One timed pass: "plain" or "fast" through ``predict``; "fast, inference_mode" (the fast
    pass under ``torch.inference_mode`` instead of ``predict``'s no_grad); "compiled"."""
    start = time.perf_counter()
    if how == "compiled":
        compiled_pass(model, coords, chunk)
    elif how == "fast, inference_mode":
        with torch.inference_mode():
            model.forward_inference(coords, chunk)
    else:
        with fast_inference(how != "plain"):
            predict(model, coords, chunk)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="65536,262144", help="coordinate counts N")
    ap.add_argument("--threads", default="1,2", help="torch.set_num_threads values")
    ap.add_argument("--chunk", type=int, default=8192)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument(
        "--compiled", action="store_true", help="also time the compiled pass (CompiledSiren)"
    )
    args = ap.parse_args()

    torch.manual_seed(0)
    model = Siren(2, 3, width=256, depth=5)
    rows = []
    for threads in (int(t) for t in args.threads.split(",")):
        torch.set_num_threads(threads)
        for n in (int(s) for s in args.sizes.split(",")):
            coords = torch.rand(n, 2) * 2 - 1
            # untimed warm-up; it also absorbs the inaccurate first sine call that 2-thread
            # processes sometimes make on this CPU (docs/speed.md)
            predict(model, coords[: args.chunk], args.chunk)
            with fast_inference(False):
                plain_pred = predict(model, coords, args.chunk)
            identical = torch.equal(plain_pred, predict(model, coords, args.chunk))
            passes = ["plain", "fast", "fast, inference_mode"]
            if args.compiled:
                passes.append("compiled")
                compiled_pass(model, coords, args.chunk)  # compiles, untimed
            times: dict[str, list[float]] = {name: [] for name in passes}
            for _ in range(args.repeats):
                for name in passes:
                    times[name].append(seconds(model, coords, args.chunk, name))
            median = {name: statistics.median(t) for name, t in times.items()}
            row = [threads, n, median["plain"], median["fast"], median["plain"] / median["fast"]]
            row.append(median["fast, inference_mode"])
            if args.compiled:
                row += [median["compiled"], median["plain"] / median["compiled"]]
            rows.append(row + ["yes" if identical else "NO"])
            print(rows[-1], flush=True)
    header = ["threads", "N", "plain s", "fast s", "speed-up", "fast under inference_mode s"]
    if args.compiled:
        header += ["compiled s", "speed-up (compiled)"]
    caption = (
        f"SIREN 5x256, 2-D inputs, 3 channels, chunk {args.chunk}; median of {args.repeats} "
        "alternating repeats."
    )
    publish([*header, "fast bitwise equal"], rows, caption)


if __name__ == "__main__":
    main()
