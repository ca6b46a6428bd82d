"""Image quality: mean squared error and peak signal-to-noise ratio, per image and over a
data set; and their accumulator."""

from __future__ import annotations

import math

import torch

from .._validation import ArgumentError, ShapeError
from ._meter import Meter

__all__ = ["MAX_PSNR", "ImageQualityMeter", "psnr"]

MAX_PSNR = 100.0  # dB: an exact reconstruction (MSE 0) would be infinite


def psnr(prediction: torch.Tensor, target: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Peak signal-to-noise ratio of each image: ``10 log10(MAX^2 / MSE)`` dB, with MSE the
    mean over the image's channels and positions and ``MAX`` the range of the values (1
    for images in [0, 1], 255 for 8-bit values); at most :data:`MAX_PSNR`.

    Shape:
        ``(N, *)`` and ``(N, *)`` -> float64 ``(N,)``.

    Example:
        >>> psnr(torch.full((1, 1, 2, 2), 0.5), torch.full((1, 1, 2, 2), 0.6))
        tensor([20.0000], dtype=torch.float64)
    """
    if prediction.shape != target.shape or prediction.dim() < 2:
        raise ShapeError(f"psnr takes a batch of images and their targets of one shape (N, ...). "
                         f"Received: {tuple(prediction.shape)} and {tuple(target.shape)}.")
    if not data_range > 0:
        raise ArgumentError(f"data_range must be positive (the largest value minus the smallest). "
                            f"Received: data_range={data_range!r}.", argument="data_range")
    mse = (prediction.detach().double() - target.detach().double()).square().flatten(1).mean(1)
    floor = data_range ** 2 * 10 ** (-MAX_PSNR / 10)
    return 10 * torch.log10(data_range ** 2 / mse.clamp_min(floor))


class ImageQualityMeter(Meter):
    """Reconstruction quality over a whole data set: ``mse`` (mean over every value),
    ``psnr`` (mean of per-image PSNR, dB) and ``psnr_of_mse`` (PSNR of the overall MSE).

    Example:
        >>> meter = ImageQualityMeter()
        >>> meter.update(torch.full((2, 1, 2, 2), 0.5), torch.full((2, 1, 2, 2), 0.6))
        >>> {k: round(v, 4) for k, v in meter.compute().items()}
        {'mse': 0.01, 'psnr': 20.0, 'psnr_of_mse': 20.0, 'count': 2}
    """

    def __init__(self, data_range: float = 1.0):
        self.data_range = data_range
        self.reset()

    def reset(self) -> None:
        self.sq_error = torch.zeros((), dtype=torch.float64)
        self.values = 0
        self.psnr_sum = torch.zeros((), dtype=torch.float64)
        self.count = 0

    def update(self, prediction: torch.Tensor, target: torch.Tensor) -> None:
        """Add a batch of reconstructions and their targets ``(N, C, *spatial)``."""
        per_image = psnr(prediction, target, self.data_range)
        if self.sq_error.device != prediction.device:
            self.sq_error = self.sq_error.to(prediction.device)
            self.psnr_sum = self.psnr_sum.to(prediction.device)
        self.sq_error += (prediction.detach().double() - target.detach().double()).square().sum()
        self.psnr_sum += per_image.sum()
        self.values += prediction.numel()
        self.count += prediction.shape[0]

    def compute(self) -> dict:
        if not self.count:
            return {"mse": None, "psnr": None, "psnr_of_mse": None, "count": 0}
        mse = float(self.sq_error) / self.values
        floor = self.data_range ** 2 * 10 ** (-MAX_PSNR / 10)
        return {"mse": mse, "psnr": float(self.psnr_sum) / self.count,
                "psnr_of_mse": 10 * math.log10(self.data_range ** 2 / max(mse, floor)),
                "count": self.count}
