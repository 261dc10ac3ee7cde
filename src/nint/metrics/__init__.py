"""Quality metrics per modality."""

from .audio import pesq_wb, si_snr, stoi
from .image import psnr, ssim
from .missing import Missing

__all__ = ["Missing", "pesq_wb", "psnr", "si_snr", "ssim", "stoi"]
