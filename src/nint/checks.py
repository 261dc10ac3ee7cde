"""Checks of values a user gives, shared by the command line (argparse ``type=``) and the API.

Each check raises ``NintError`` with one line naming the value and what is expected, so that a
bad value stops a run before anything is computed or written.
"""

from __future__ import annotations

import math
import numbers
import os
from dataclasses import dataclass

from .errors import NintError

#: seeds go to torch generators (which take [-2^63, 2^64)) and NumPy's default_rng (which
#: refuses negative ones), and the fit adds a small offset to one of them: [0, 2^63) fits all
SEED_LIMIT = 2**63
#: the largest finite float32 (``torch.finfo(torch.float32).max``), written out because the
#: command line parses its arguments before it imports torch
FLOAT32_MAX = 3.4028234663852886e38


@dataclass(frozen=True)
class Range:
    """An interval of finite numbers; None leaves an end unbounded, ``*_open`` excludes it."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def admits(self, value: float) -> bool:
        """True for a finite ``value`` inside the interval (NaN and +-inf never are)."""
        if not math.isfinite(value):
            return False
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return self.high is None or (value < self.high if self.high_open else value <= self.high)

    @property
    def expected(self) -> str:
        """What a value must be, for messages: 'a finite number in (0, 1]'."""
        return f"a finite number {self}".rstrip()

    def __str__(self) -> str:
        if self.high is None:
            return "" if self.low is None else f"{'>' if self.low_open else '>='} {self.low:g}"
        if self.low is None:
            return f"{'<' if self.high_open else '<='} {self.high:g}"
        left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
        return f"in {left}{self.low:g}, {self.high:g}{right}"


POSITIVE = Range(0.0, low_open=True)
NON_NEGATIVE = Range(0.0)
UNIT = Range(0.0, 1.0)  # a share: [0, 1]
RATIO = Range(0.0, 1.0, low_open=True)  # a batch ratio: (0, 1]
OPEN_UNIT = Range(0.0, 1.0, low_open=True, high_open=True)  # a share strictly inside (0, 1)
#: a positive factor the model multiplies float32 tensors by (omega_0): larger ones become inf
#: in float32, and sin(inf) is NaN
FLOAT32_POSITIVE = Range(0.0, FLOAT32_MAX, low_open=True)
#: a half-width R of float32 coordinates spanning [-R, R]: the span 2R must be finite too
HALF_SPAN = Range(0.0, FLOAT32_MAX / 2, low_open=True)


def check_float(value: object, name: str, allowed: Range) -> float:
    """``value`` as a float; NintError unless it is a finite number ``allowed`` admits."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise NintError(f"{name} must be a number, got {value!r}") from None
    if isinstance(value, bool) or not allowed.admits(number):
        raise NintError(f"{name} must be {allowed.expected}, got {value!r}")
    return number


def check_int(value: object, name: str, minimum: int | None = 1) -> int:
    """``value`` as an int; NintError unless it is an integer >= ``minimum`` (None: any).

    Floats are refused even when whole (``2.5`` would be truncated silently, and ``1e4`` is
    one ``int()`` away), and so are bools: ``True`` is an int to Python but never a count.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise NintError(f"{name} must be an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise NintError(f"{name} must be at least {minimum}, got {value}")
    return int(value)


def check_bool(value: object, name: str) -> bool:
    """``value`` if it is True or False; NintError for anything else (1, "no", None)."""
    if not isinstance(value, bool):
        raise NintError(f"{name} must be True or False, got {value!r}")
    return value


def check_seed(seed: object, name: str = "seed") -> int:
    """``seed`` as an int; NintError unless it is an integer in [0, 2^63)."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise NintError(f"{name} must be an integer in [0, 2^63 - 1], got {seed!r}")
    value = int(seed)
    if not 0 <= value < SEED_LIMIT:
        raise NintError(f"{name} must be an integer in [0, 2^63 - 1], got {seed}")
    return value


def check_device(device: str) -> str:
    """``device`` if it names a device this process can use: auto, cpu, cuda or cuda:N.

    Other PyTorch device types (mps, meta, xpu, ...) are refused: the trainer, the metrics and the
    timing are written for CPUs and CUDA devices only.
    """
    import torch  # here: the command line parses its arguments before it needs torch otherwise

    if device == "auto":
        return device
    try:
        dev = torch.device(device)
    except (RuntimeError, ValueError, TypeError):
        raise NintError(f"unknown device {device!r}; use cpu, cuda, cuda:N or auto") from None
    if dev.type not in ("cpu", "cuda"):
        raise NintError(f"device {device!r} is not supported; use cpu, cuda, cuda:N or auto")
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise NintError(f"device {device!r}: this PyTorch build sees no CUDA device")
        count = torch.cuda.device_count()
        if dev.index is not None and dev.index >= count:
            raise NintError(f"device {device!r} does not exist: {count} CUDA device(s) visible")
    return device


def available_memory() -> int | None:
    """Bytes of memory this process can still allocate without swapping (Linux MemAvailable,
    else the free physical pages), or None where neither is known."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def format_bytes(count: float) -> str:
    """1.5e9 -> '1.5 GB' (powers of 1000, as memory is usually quoted)."""
    for unit in ("bytes", "kB", "MB", "GB", "TB", "PB"):
        if count < 1000:
            return f"{count:.0f} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1000
    return f"{count:.3g} EB"


def check_memory(needed: float, what: str) -> None:
    """NintError when ``needed`` bytes exceed the memory available now.

    ``what`` names the setting that asks for them, e.g. "--grid-resolution 2048 (the 2048^3
    evaluation grid)". Called before the allocation, so a size that cannot fit stops at once
    instead of failing (or swapping) part-way through a run.
    """
    available = available_memory()
    if available is not None and needed > available:
        raise NintError(
            f"{what} needs about {format_bytes(needed)} of memory; "
            f"{format_bytes(available)} is available"
        )
