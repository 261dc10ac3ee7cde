"""Seconds of one no-grad residual pass over all coordinates: plain ``model(x)`` vs the fast pass.

The residual pass is ``nint.models.predict`` (what INT and NINT run over all N coordinates every
iteration). "plain" runs ``model(x)`` under ``torch.no_grad`` (``fast_inference(False)``); "fast"
runs ``Siren.forward_inference`` under ``torch.inference_mode`` (in-place sine layers). Both give
bitwise the same prediction, which is checked here on every size. The two are timed alternately,
``--repeats`` times each after an untimed warm-up, and the median is reported.

    OMP_NUM_THREADS=1 python benchmarks/residual_pass.py     # ~2 minutes on a 2-core CPU
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from nint.models import Siren, fast_inference, predict
from nint.report import environment, markdown_table, one_line


def seconds(model: Siren, coords: torch.Tensor, chunk: int, fast: bool) -> float:
    with fast_inference(fast):
        start = time.perf_counter()
        predict(model, coords, chunk)
        return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="65536,262144", help="coordinate counts N")
    ap.add_argument("--threads", default="1,2", help="torch.set_num_threads values")
    ap.add_argument("--chunk", type=int, default=8192)
    ap.add_argument("--repeats", type=int, default=7)
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
            times: dict[bool, list[float]] = {False: [], True: []}
            for _ in range(args.repeats):
                for fast in (False, True):
                    times[fast].append(seconds(model, coords, args.chunk, fast))
            plain, fast = (statistics.median(times[f]) for f in (False, True))
            rows.append([threads, n, plain, fast, plain / fast, "yes" if identical else "NO"])
            print(rows[-1], flush=True)
    table = markdown_table(["threads", "N", "plain s", "fast s", "speed-up", "bitwise equal"], rows)
    print()
    print(table)
    print()
    print(
        f"SIREN 5x256, 2-D inputs, 3 channels, chunk {args.chunk}; median of {args.repeats} "
        f"alternating repeats.\n{one_line(environment('cpu'))}"
    )


if __name__ == "__main__":
    main()
