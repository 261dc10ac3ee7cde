"""nint: NTK-guided coordinate sampling for fast implicit neural representation training.

>>> import nint
>>> signal = nint.load_image("photo.png", size=256)            # doctest: +SKIP
>>> result = nint.fit(signal, "nint", seconds=60, progress=True)  # doctest: +SKIP
>>> result.summary["final"]["psnr"]                            # doctest: +SKIP
"""

from .errors import NintError
from .models import Siren
from .ntk import error_scores, kernel_residual_product, ntk_scores
from .result import FitResult
from .samplers import SAMPLERS, Sampler, SelectionContext, make_sampler
from .schedules import INTERVALS, SCHEDULERS, batch_ratio, sampling_interval
from .settings import FitSettings
from .signals import (
    AudioSignal,
    ImageSignal,
    SdfSignal,
    Signal,
    list_utterances,
    load_audio,
    load_image,
    load_mesh,
    load_signal,
    load_utterances,
)
from .train import fit

__version__ = "0.1.0"

__all__ = [
    "AudioSignal",
    "FitResult",
    "FitSettings",
    "INTERVALS",
    "ImageSignal",
    "NintError",
    "SAMPLERS",
    "SCHEDULERS",
    "Sampler",
    "SdfSignal",
    "SelectionContext",
    "Signal",
    "Siren",
    "batch_ratio",
    "error_scores",
    "fit",
    "kernel_residual_product",
    "list_utterances",
    "load_audio",
    "load_image",
    "load_mesh",
    "load_signal",
    "load_utterances",
    "make_sampler",
    "ntk_scores",
    "sampling_interval",
]
