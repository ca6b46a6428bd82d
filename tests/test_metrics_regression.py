"""Regression metrics against NumPy written here (and scikit-learn where installed), the
documented example of R^2, and streaming over uneven batches."""

import numpy as np
import pytest
import torch

from cnnkit._validation import ShapeError
from cnnkit.metrics import RegressionMeter, r2_score


def _numpy_metrics(p, t):
    err = p - t
    mae = np.abs(err).mean(0)
    rmse = np.sqrt((err ** 2).mean(0))
    r2 = 1 - (err ** 2).sum(0) / ((t - t.mean(0)) ** 2).sum(0)
    return mae, rmse, r2


def test_hand_computed_r2():
    # y = [3, -0.5, 2, 7], yhat = [2.5, 0, 2, 8]: SS_res = 1.5, mean 2.875, SS_tot = 29.1875
    r2 = r2_score(torch.tensor([2.5, 0.0, 2.0, 8.0]), torch.tensor([3.0, -0.5, 2.0, 7.0]))
    assert float(r2) == pytest.approx(1 - 1.5 / 29.1875)
    # a constant target: 1 for a perfect fit, 0 otherwise
    assert r2_score(torch.ones(3, 1), torch.ones(3, 1)).tolist() == [1.0]
    assert r2_score(torch.zeros(3, 1), torch.ones(3, 1)).tolist() == [0.0]


@pytest.mark.parametrize("seed", range(3))
def test_meter_over_batches_equals_numpy_on_the_whole_set(seed):
    gen = torch.Generator().manual_seed(seed)
    # large offsets: a naive sum of squares in float32 would lose R^2
    t = torch.randn(301, 3, generator=gen) * torch.tensor([1.0, 10.0, 0.1]) + 1000.0
    p = t + torch.randn(301, 3, generator=gen) * 0.5
    meter = RegressionMeter()
    for part in torch.split(torch.arange(301), [1, 2, 100, 198]):
        meter.update(p[part], t[part])
    result = meter.compute()
    mae, rmse, r2 = _numpy_metrics(p.double().numpy(), t.double().numpy())
    np.testing.assert_allclose(result["mae_per_output"], mae, rtol=1e-10)
    np.testing.assert_allclose(result["rmse_per_output"], rmse, rtol=1e-10)
    np.testing.assert_allclose(result["r2_per_output"], r2, rtol=1e-9)
    assert result["r2"] == pytest.approx(r2.mean(), rel=1e-9)
    assert result["count"] == 301


def test_dense_targets_are_per_channel():
    gen = torch.Generator().manual_seed(4)
    t = torch.randn(5, 2, 4, 4, generator=gen)
    p = t + 0.1 * torch.randn(5, 2, 4, 4, generator=gen)
    meter = RegressionMeter()
    meter.update(p, t)
    flat_p = p.permute(0, 2, 3, 1).reshape(-1, 2).double().numpy()
    flat_t = t.permute(0, 2, 3, 1).reshape(-1, 2).double().numpy()
    np.testing.assert_allclose(meter.compute()["r2_per_output"], _numpy_metrics(flat_p, flat_t)[2], rtol=1e-10)
    with pytest.raises(ShapeError, match=r"one shape. Received: \(5, 2\) and \(5, 3\)"):
        meter.update(torch.zeros(5, 2), torch.zeros(5, 3))


def test_against_scikit_learn():
    metrics = pytest.importorskip("sklearn.metrics")
    gen = torch.Generator().manual_seed(5)
    t = torch.randn(50, 3, generator=gen, dtype=torch.float64)
    p = t + torch.randn(50, 3, generator=gen, dtype=torch.float64)
    meter = RegressionMeter()
    meter.update(p, t)
    assert meter.compute()["r2_per_output"] == pytest.approx(
        metrics.r2_score(t, p, multioutput="raw_values").tolist())
