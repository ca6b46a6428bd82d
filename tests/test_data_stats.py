"""fit_channel_stats against NumPy's mean and std, on real and constructed data."""

import numpy as np
import pytest
import torch

from cnnkit import ArgumentError, ArgumentTypeError
from cnnkit.data import as_dataset, fit_channel_stats, load_dataset


@pytest.mark.parametrize("shape", [(7, 3, 5), (6, 2, 4, 5), (3, 4, 2, 3, 3)])
def test_matches_numpy_per_channel(shape):
    x = np.random.default_rng(1).normal(3.0, 2.5, size=shape)
    mean, std = fit_channel_stats(torch.from_numpy(x).float(), chunk_size=2)
    axes = (0,) + tuple(range(2, len(shape)))
    x32 = x.astype(np.float32).astype(np.float64)
    np.testing.assert_allclose(mean.numpy(), x32.mean(axis=axes), rtol=1e-6)
    np.testing.assert_allclose(std.numpy(), x32.std(axis=axes), rtol=1e-6)
    assert mean.shape == std.shape == (shape[1],) and mean.dtype == torch.float32


def test_far_from_zero_keeps_precision():
    # A large offset: one-pass E[x^2] - E[x]^2 in float32 would lose the small spread.
    x = torch.full((1000, 1, 10), 1e4) + torch.arange(10.0) * 1e-2
    mean, std = fit_channel_stats(x)
    expected = np.float64(np.float32(1e4) + np.arange(10.0, dtype=np.float32) * np.float32(1e-2))
    assert float(std[0]) == pytest.approx(expected.std(), rel=1e-4)


def test_constant_channel_gets_unit_std():
    x = torch.zeros(4, 2, 3)
    x[:, 1] = torch.arange(12.0).reshape(4, 3)
    mean, std = fit_channel_stats(x)
    assert std[0] == 1.0 and mean[0] == 0.0
    assert float(std[1]) == pytest.approx(np.arange(12.0).std())


def test_on_a_training_split():
    train = load_dataset("mnist1d", "train")
    mean, std = fit_channel_stats(train)
    assert float(mean[0]) == pytest.approx(float(train.x.double().mean()), abs=1e-6)
    assert float(std[0]) == pytest.approx(float(train.x.double().std(unbiased=False)), rel=1e-6)
    normalised = (train.x - mean.reshape(1, -1, 1)) / std.reshape(1, -1, 1)
    assert abs(float(normalised.mean())) < 1e-5
    assert float(normalised.std()) == pytest.approx(1, abs=1e-3)


def test_errors():
    tokens = as_dataset(np.array([[1, 2], [3, 4]]), [0, 1], scale="tokens")
    with pytest.raises(ArgumentTypeError, match=r"channel statistics need float samples .* "
                                                r"Received: x of dtype torch.int64"):
        fit_channel_stats(tokens)
    with pytest.raises(ArgumentError, match=r"at least one sample of shape \(C, \*spatial\). "
                                            r"Received: x of shape \(0, 1, 4\)"):
        fit_channel_stats(torch.zeros(0, 1, 4))
    with pytest.raises(ArgumentTypeError, match=r"data must be a Dataset or a tensor"):
        fit_channel_stats(np.zeros((2, 1, 3)))
