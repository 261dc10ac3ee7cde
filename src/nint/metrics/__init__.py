"""Quality metrics per modality."""

from .image import psnr, ssim

__all__ = ["psnr", "ssim"]
