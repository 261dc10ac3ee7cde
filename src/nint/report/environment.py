"""What machine and software a run or a benchmark table came from."""

from __future__ import annotations

import datetime as _dt
import os
import platform
from importlib import metadata
from typing import Any

import torch


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def cpu_model() -> str:
    """The processor's model name (Linux ``/proc/cpuinfo``), else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment(device: str | torch.device = "cpu") -> dict[str, Any]:
    """Versions, processor, thread count and device of this process."""
    dev = torch.device(device)
    info: dict[str, Any] = {
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "device": str(dev),
        "versions": {
            pkg: _version(pkg)
            for pkg in ("nint", "torch", "numpy", "scikit-image", "pillow", "matplotlib")
        },
    }
    if dev.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(dev)
        info["cuda"] = torch.version.cuda
    return info


def one_line(env: dict[str, Any]) -> str:
    """A caption line: date, machine, device and main versions."""
    v = env["versions"]
    device = env.get("gpu") or f"{env['cpu_count']}-core CPU, {env['torch_threads']} torch threads"
    return (
        f"{env['date']} | {env['machine']} {env['platform']} | {device} | "
        f"python {env['python']}, torch {v['torch']}, nint {v['nint']}"
    )
