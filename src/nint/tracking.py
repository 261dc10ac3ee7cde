"""TensorBoard event files in a run folder (``nint fit --tensorboard``).

How: the rows are buffered and the event files written with the rest of the run folder, so they
share its all-or-nothing write (``nint.report.run_folder``): a killed or failed run leaves no
event files behind, and a run folder's ``tensorboard/`` always describes a finished run. The
price is that TensorBoard shows a run only once it has finished (the progress lines, or tqdm's
bar, show it while it trains).

What is written to ``<run>/tensorboard/``:

- every column of ``history.csv`` but ``iteration`` as a scalar of that name (``loss``,
  ``psnr``, ``train_seconds``, ``wall_seconds``, ...), at step = the iteration, so the values
  are history.csv's; each with the wall-clock time its evaluation was recorded at (captured by
  ``RowTimes``, a fit callback), so TensorBoard's "relative" axis is the fit's wall time;
- the final reconstruction: images as an image (``reconstruction``), audio as a clip at its
  sample rate (``reconstruction``). Meshes get none (no cheap picture of a surface).

``SummaryWriter`` is torch's (``torch.utils.tensorboard``); it needs the ``tensorboard``
package, an optional extra: ``pip install 'nint[tracking]'``.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import NintError

if TYPE_CHECKING:
    from .result import FitResult

#: the folder of the event files inside a run folder
TENSORBOARD = "tensorboard"


def check_tensorboard() -> None:
    """NintError unless the ``tensorboard`` package can be imported (checked before training)."""
    if importlib.util.find_spec("tensorboard") is None:
        raise NintError(
            "--tensorboard needs the tensorboard package: pip install 'nint[tracking]' "
            "(or pip install tensorboard)"
        )


class RowTimes:
    """A fit callback that notes when (``time.time()``) each iteration's row was recorded."""

    def __init__(self) -> None:
        self.times: dict[int, float] = {}

    def __call__(self, row: dict[str, Any]) -> None:
        self.times[int(row["iteration"])] = time.time()


def tensorboard_writer(result: FitResult, times: RowTimes) -> Callable[[Path], Path]:
    """``write_tensorboard`` of ``result`` as a run folder's ``extra`` writer
    (``nint.report.run_folder.write_contents``)."""
    return lambda folder: write_tensorboard(result, folder, times.times)


def write_tensorboard(result: FitResult, folder: Path, times: dict[int, float]) -> Path:
    """Write ``result``'s history and final reconstruction as event files in
    ``folder/tensorboard``; ``times`` maps iterations to wall-clock times (``RowTimes``), and a
    row without one gets the time of writing. Returns the event folder."""
    import numpy as np
    from torch.utils.tensorboard import SummaryWriter  # here: it imports tensorboard

    log_dir = folder / TENSORBOARD
    writer = SummaryWriter(log_dir=str(log_dir))
    try:
        step = 0
        for row in result.history:
            step = int(row["iteration"] or 0)
            walltime = times.get(step)
            for key, value in row.items():
                if key != "iteration" and value is not None:
                    writer.add_scalar(key, float(value), step, walltime=walltime)
        signal = result.signal
        if signal.modality == "image":
            image = np.clip(signal.reconstruction(result.prediction), 0.0, 1.0)
            if image.shape[2] == 1:  # grey: TensorBoard draws RGB
                image = np.repeat(image, 3, axis=2)
            writer.add_image("reconstruction", image, step, dataformats="HWC")
        elif signal.modality == "audio":
            clip = np.asarray(signal.reconstruction(result.prediction), dtype=np.float32)
            # add_audio wants samples in [-1, 1]; a clip louder than that is scaled down whole
            peak = float(np.abs(clip).max(initial=0.0))
            clip = clip / peak if peak > 1.0 else clip
            rate = int(signal.rate)  # type: ignore[attr-defined]
            writer.add_audio("reconstruction", clip[None, :], step, sample_rate=rate)
        writer.flush()
    finally:
        writer.close()
    return log_dir
