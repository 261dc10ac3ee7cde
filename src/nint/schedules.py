"""Batch-ratio schedulers and sampling intervals shared by every sampler (docs/method.md section 4).

Both are pure functions of training progress p = t / T in [0, 1]: with an iteration budget t and T
count iterations, with a wall-clock budget they are seconds of the training clock.
"""

from __future__ import annotations

import math

from .errors import NintError

SCHEDULERS = ("constant", "linear", "step")
INTERVALS = ("dense", "dense2", "incremental", "decremental")

# A stage boundary such as p = 0.3 must not fall into the previous stage through rounding
# (0.3 * 10 is 3.0000000000000004, but 0.7 * 10 could as well have been 6.999...).
_EPS = 1e-9


def check_scheduler(name: str) -> str:
    if name not in SCHEDULERS:
        raise NintError(
            f"unknown batch-ratio scheduler {name!r}; choose from {', '.join(SCHEDULERS)}"
        )
    return name


def check_interval(name: str) -> str:
    if name not in INTERVALS:
        raise NintError(f"unknown sampling interval {name!r}; choose from {', '.join(INTERVALS)}")
    return name


def batch_ratio(name: str, r0: float, progress: float, stages: int = 10) -> float:
    """Batch ratio r_t at training progress p.

    - constant: r0
    - linear:   r0 + p (1 - r0)
    - step:     r0 + floor(stages * p) (1 - r0) / stages, capped at 1 (INT's ``mt_step``)
    """
    p = min(max(progress, 0.0), 1.0)
    if name == "constant":
        return r0
    if name == "linear":
        return r0 + p * (1.0 - r0)
    if name == "step":
        stage = math.floor(stages * p + _EPS)
        return min(r0 + stage * (1.0 - r0) / stages, 1.0)
    check_scheduler(name)
    raise AssertionError("unreachable")


def sampling_interval(
    name: str,
    progress: float,
    dense2_every: int = 2,
    max_interval: int = 50,
    stages: int = 5,
    dense_share: float = 0.25,
) -> int:
    """How many iterations a selected subset is kept at progress p.

    - dense: 1 (select every iteration)
    - dense2: ``dense2_every`` (2 in the paper's definition; the released code used 5)
    - incremental: 1 during the first 25 % of training, then ``stages`` equal stages with
      intervals max_interval/stages * (1, 2, ..., stages) = 10, 20, 30, 40, 50
    - decremental: the mirror image, 50, 40, 30, 20, 10 over the first 75 %, then 1.
      Deviation: the released code's decremental runs 40, 30, 20, 10, 1 before its dense quarter;
      we follow docs/method.md's "mirror image" so that both schedules span the same intervals.
    """
    p = min(max(progress, 0.0), 1.0)
    unit = max_interval // stages
    if name == "dense":
        return 1
    if name == "dense2":
        return dense2_every
    if name == "incremental":
        if p < dense_share:
            return 1
        stage = min(math.floor((p - dense_share) / (1.0 - dense_share) * stages + _EPS), stages - 1)
        return unit * (stage + 1)
    if name == "decremental":
        if p >= 1.0 - dense_share:
            return 1
        stage = min(math.floor(p / (1.0 - dense_share) * stages + _EPS), stages - 1)
        return unit * (stages - stage)
    check_interval(name)
    raise AssertionError("unreachable")
