"""The paper's experiments (its sections 6-10), each as an ``Experiment``.

``paper`` uses the paper's settings; ``cpu`` scales them by the stated factors so that a 2-core
CPU finishes each experiment in under an hour. Where the paper is silent (image sizes of its
image tables), the choice is named in the preset's factors and in docs/experiments.md.
"""

from __future__ import annotations

from ..signals import load_superres
from .spec import Experiment, Metric, Preset, Threshold, Variant

STEP = (("scheduler", "step"),)


def _with_step(labels_and_names: tuple[tuple[str, str], ...]) -> tuple[Variant, ...]:
    """The paper's Tables 6 and 7: each strategy, then the sampling ones again with ``step``."""
    plain = tuple(Variant(label, name) for label, name in labels_and_names)
    stepped = tuple(
        Variant(label, name, STEP, underline=True)
        for label, name in labels_and_names
        if name != "standard"
    )
    return plain + stepped


IMAGE_METRICS = (
    Metric("psnr", "PSNR", True, 3),
    Metric("ssim", "SSIM", True, 3),
    Metric("lpips", "LPIPS", False, 3),
)

AUDIO = Experiment(
    name="audio",
    title="Audio fitting: SI-SNR / STOI / PESQ at fixed training times",
    paper_ref="Table 6 (Figure 6)",
    data="librispeech",
    variants=_with_step(
        (
            ("Stand.", "standard"),
            ("Unif.", "uniform"),
            ("INT", "int"),
            ("EVOS", "evos"),
            ("NINT", "nint"),
        )
    ),  # fmt: skip
    metrics=(
        Metric("si_snr", "SI-SNR", True, 3),
        Metric("stoi", "STOI", True, 3),
        Metric("pesq", "PESQ", True, 3),
    ),
    unit="seconds",
    layout="checkpoints",
    presets={
        "paper": Preset(checkpoints=(3, 10, 15)),
        "cpu": Preset(
            checkpoints=(30, 100, 150),
            limit=1,
            load=(("duration", 2.0),),
            factors=(
                "budgets x10 (the paper's 3 / 10 / 15 s on a GPU)",
                "first 2 s of each utterance",
            ),
        ),
    },
)

SDF = Experiment(
    name="sdf",
    title="3D shapes: IoU and Chamfer distance at fixed iterations",
    paper_ref="Table 7 (Figure 7)",
    data="meshes",
    variants=_with_step(
        (
            ("Stand.", "standard"),
            ("Unif.", "uniform"),
            ("INT", "int"),
            ("EVOS", "evos"),
            ("NINT", "nint"),
        )
    ),  # fmt: skip
    metrics=(
        Metric("iou", "IoU", True, 4),
        Metric("chamfer", "CHD (x1e-3)", False, 4, scale=1e3),
    ),
    unit="iterations",
    layout="checkpoints",
    presets={
        "paper": Preset(checkpoints=(500, 1000, 2000, 5000, 10000)),
        "cpu": Preset(
            checkpoints=(500, 1000),
            limit=1,
            load=(("points_per_iteration", 25000), ("pool_size", 500000)),
            factors=(
                "500 and 1000 iterations (the paper: 500 to 10k)",
                "25,000 points per iteration (the paper: 50,000) from a pool of 500k",
                "IoU on a 128^3 grid",
            ),
        ),
    },
)

ABLATION = Experiment(
    name="ablation",
    title="NINT ablation: iterations and seconds to PSNR / SSIM / LPIPS targets",
    paper_ref="Table 8",
    data="images",
    variants=(
        Variant("Stand.", "standard"),
        Variant("NINT (default)", "nint"),
        Variant("B = 40%", "nint", (("ratio", 0.4),)),
        Variant("B = 60%", "nint", (("ratio", 0.6),)),
        Variant("B = 80%", "nint", (("ratio", 0.8),)),
        Variant("dense2", "nint", (("interval", "dense2"),)),
        Variant("Incremental", "nint", (("interval", "incremental"),)),
        Variant("Decremental", "nint", (("interval", "decremental"),)),
        Variant("Step", "nint", (("scheduler", "step"),)),
        Variant("Linear", "nint", (("scheduler", "linear"),)),
    ),
    metrics=IMAGE_METRICS,
    unit="iterations",
    layout="thresholds",
    thresholds=(
        Threshold("psnr", 30, "PSNR 30"),
        Threshold("psnr", 35, "PSNR 35"),
        Threshold("ssim", 0.8, "SSIM 0.8"),
        Threshold("ssim", 0.9, "SSIM 0.9"),
        Threshold("lpips", 0.2, "LPIPS 0.2"),
        Threshold("lpips", 0.1, "LPIPS 0.1"),
    ),
    presets={
        "paper": Preset(
            cap=5000,
            eval_every=10,
            load=(("size", 512),),
            factors=("images resized to 512 px on the longer side (the paper does not say)",),
        ),
        "cpu": Preset(
            cap=1500,
            eval_every=10,
            limit=1,
            load=(("crop", 256), ("size", 128)),
            factors=(
                "centre crop 256 px resized to 128 x 128",
                "at most 1500 iterations per run",
            ),
        ),
    },
)

LARGE = Experiment(
    name="large",
    title="Large images: metrics at a fixed iteration and seconds to 30 dB",
    paper_ref="Table 10 (Figure 10)",
    data="images",
    variants=(
        Variant("Stand.", "standard"),
        Variant("INT", "int"),
        Variant("EVOS", "evos"),
        Variant("NINT", "nint"),
    ),
    metrics=IMAGE_METRICS,
    unit="iterations",
    layout="checkpoints",
    thresholds=(Threshold("psnr", 30, "s to PSNR 30"),),
    presets={
        "paper": Preset(
            checkpoints=(1000,),
            eval_every=10,
            load=(("crop", 1024),),
            factors=("1024 x 1024 centre crops",),
        ),
        "cpu": Preset(
            checkpoints=(200,),
            eval_every=20,
            limit=1,
            load=(("crop", 512),),
            factors=(
                "512 x 512 centre crop (a quarter of the paper's pixels)",
                "200 iterations instead of 1000",
            ),
        ),
    },
)

SUPERRES = Experiment(
    name="superres",
    title="Super-resolution x2: full-size metrics at a fixed iteration and seconds to 20 dB",
    paper_ref="Table 9 (Figure 9)",
    data="images",
    variants=(
        Variant("Stand.", "standard"),
        Variant("INT", "int"),
        Variant("EVOS", "evos"),
        Variant("NINT", "nint"),
    ),
    metrics=IMAGE_METRICS,
    unit="iterations",
    layout="checkpoints",
    thresholds=(Threshold("psnr", 20, "s to PSNR 20"),),
    loader=load_superres,
    presets={
        "paper": Preset(
            checkpoints=(1000,),
            eval_every=10,
            load=(("crop", 512),),
            factors=("512 x 512 centre crops, trained at 256 x 256",),
        ),
        "cpu": Preset(
            checkpoints=(1000,),
            eval_every=10,
            limit=2,
            load=(("crop", 256),),
            factors=("256 x 256 centre crops trained at 128 x 128 (the paper: 512 -> 256)",),
        ),
    },
)

IMAGE = Experiment(
    name="image",
    title="Image fitting: metrics after a fixed training time",
    paper_ref="Figure 8",
    data="images",
    variants=(
        Variant("Stand.", "standard"),
        Variant("Unif.", "uniform"),
        Variant("EVOS", "evos"),
        Variant("Expan.", "expansive"),
        Variant("NINT", "nint"),
    ),
    metrics=IMAGE_METRICS,
    unit="seconds",
    layout="checkpoints",
    presets={
        "paper": Preset(checkpoints=(60,)),
        "cpu": Preset(
            checkpoints=(60,),
            limit=3,
            load=(("crop", 256),),
            factors=("256 x 256 centre crops",),
        ),
    },
)

#: name -> experiment, in the paper's order
EXPERIMENTS: dict[str, Experiment] = {
    e.name: e for e in (AUDIO, SDF, ABLATION, SUPERRES, LARGE, IMAGE)
}
