"""PSNR and MSE against NumPy and hand-computed values."""

import math

import numpy as np
import pytest
import torch

from cnnkit._validation import ArgumentError
from cnnkit.metrics import MAX_PSNR, ImageQualityMeter, psnr


def test_hand_computed():
    # every value off by 0.1: MSE 0.01, PSNR 10 log10(1 / 0.01) = 20 dB; 8-bit range: 255
    assert psnr(torch.zeros(1, 3, 4, 4), torch.full((1, 3, 4, 4), 0.1)).item() == pytest.approx(20.0)
    assert psnr(torch.zeros(1, 1, 2, 2), torch.full((1, 1, 2, 2), 25.5), 255.0).item() == pytest.approx(20.0)
    assert psnr(torch.ones(1, 1, 2), torch.ones(1, 1, 2)).item() == MAX_PSNR


def test_meter_matches_numpy():
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(9, 2, 5, 5, generator=gen)
    y = (x + 0.05 * torch.randn(x.shape, generator=gen)).clamp(0, 1)
    meter = ImageQualityMeter()
    meter.update(y[:4], x[:4])
    meter.update(y[4:], x[4:])
    result = meter.compute()
    a, b = y.double().numpy(), x.double().numpy()
    per_image = [10 * math.log10(1 / ((a[i] - b[i]) ** 2).mean()) for i in range(9)]
    assert result["psnr"] == pytest.approx(np.mean(per_image), rel=1e-10)
    assert result["mse"] == pytest.approx(((a - b) ** 2).mean(), rel=1e-10)
    assert result["psnr_of_mse"] == pytest.approx(10 * math.log10(1 / ((a - b) ** 2).mean()), rel=1e-10)
    with pytest.raises(ArgumentError, match="data_range must be positive"):
        psnr(x, y, 0.0)
