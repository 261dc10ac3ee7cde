"""Quality metrics per modality."""

from .audio import Missing, pesq_wb, si_snr, stoi
from .image import psnr, ssim

__all__ = ["Missing", "pesq_wb", "psnr", "si_snr", "ssim", "stoi"]
