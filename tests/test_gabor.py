"""Gabor filters (Goodfellow et al. 2016, eq. 9.15-9.18): the vectorised function against
the per-pixel loop oracle, the 1-D and 3-D generalisations, the bank, the initialiser and
the PNG."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from cnnkit import features
from cnnkit import layers as L
from cnnkit._validation import ArgumentError, ShapeError
from cnnkit.reference import gabor as ref


@pytest.mark.parametrize("size,f,tau,phi,bx,by,alpha,center", [
    ((7, 7), math.pi / 2, 0.0, 0.0, 0.1, 0.05, 1.0, (0.0, 0.0)),
    ((9, 6), 1.3, 0.7, math.pi / 2, 0.2, 0.02, 2.5, (1.0, -0.5)),
    ((5, 11), 0.4, 2.9, -1.0, 0.05, 0.3, 0.5, (-2.0, 1.0)),
])
def test_matches_eq_9_16_pixel_by_pixel(size, f, tau, phi, bx, by, alpha, center):
    got = features.gabor(size, f, tau, phi, beta_x=bx, beta_y=by, alpha=alpha, center=center,
                         dtype=torch.float64)
    np.testing.assert_allclose(got.numpy(), ref.gabor_2d(size, alpha, bx, by, f, phi, *center, tau),
                               rtol=1e-12, atol=1e-12)


def test_sigma_and_aspect_set_the_precisions():
    a = features.gabor((7, 7), 1.0, 0.3, sigma=2.0, aspect=0.5, dtype=torch.float64)
    b = features.gabor((7, 7), 1.0, 0.3, beta_x=1 / 8, beta_y=0.25 / 8, dtype=torch.float64)
    assert torch.equal(a, b)


def test_generalisations_reduce_to_the_2d_formula():
    # 3-D with elevation 0: the centre slice (z = 0) is the 2-D filter of the same azimuth.
    g3 = features.gabor((5, 7, 7), 1.1, (0.6, 0.0), 0.4, sigma=2.0, dtype=torch.float64)
    g2 = features.gabor((7, 7), 1.1, 0.6, 0.4, sigma=2.0, dtype=torch.float64)
    torch.testing.assert_close(g3[2], g2)
    # Pointing straight up (elevation pi/2), the carrier runs along z: every z-slice is a
    # radial envelope times cos(f z + phi).
    up = features.gabor((5, 7, 7), 1.1, (0.0, math.pi / 2), 0.0, beta_x=0.0, beta_y=0.0,
                        dtype=torch.float64)
    z = torch.arange(5, dtype=torch.float64) - 2
    torch.testing.assert_close(up[:, 3, 3], torch.cos(1.1 * z))
    # 1-D: the 2-D filter's centre row with tau = 0 (y' = 0 there).
    g1 = features.gabor(9, 0.8, 0.0, 0.3, sigma=2.5, dims=1, dtype=torch.float64)
    torch.testing.assert_close(g1, features.gabor((9, 9), 0.8, 0.0, 0.3, sigma=2.5,
                                                  dtype=torch.float64)[4])


def test_bank_order_covers_orientations_first():
    params = features.gabor_parameters((7, 7), orientations=4, frequencies=(1.0, 2.0), phases=(0.0,),
                                       scales=(2.0,))
    assert [p["orientation"] for p in params[:4]] == [0.0, math.pi / 4, math.pi / 2, 3 * math.pi / 4]
    assert [p["frequency"] for p in params] == [1.0] * 4 + [2.0] * 4
    bank = features.gabor_bank((7, 7), orientations=4, frequencies=(1.0, 2.0), phases=(0.0,),
                               scales=(2.0,))
    assert bank.shape == (8, 7, 7)
    torch.testing.assert_close(bank[5], features.gabor((7, 7), **params[5]))
    assert len(features.gabor_parameters((5, 5, 5), orientations=6)) == 6 * 2 * 2 * 2
    assert len(features.gabor_parameters((9,), orientations=6)) == 2 * 2 * 2  # one axis in 1-D


def test_three_d_directions_are_distinct_unit_vectors_on_a_hemisphere():
    params = features.gabor_parameters((5, 5, 5), orientations=10, frequencies=(1.0,), phases=(0.0,),
                                       scales=(1.0,))
    dirs = []
    for p in params:
        az, el = p["orientation"]
        assert 0 <= el <= math.pi / 2
        dirs.append((math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el)))
    d = torch.tensor(dirs)
    cos = (d @ d.T).abs() - torch.eye(len(dirs))
    assert float(cos.max()) < 0.99


@pytest.mark.parametrize("shape", [(16, 3, 7, 7), (5, 2, 9), (12, 1, 5, 5, 5), (70, 4, 3, 3)])
def test_initialiser_fills_any_conv_weight(shape):
    w = torch.full(shape, float("nan"))
    out = features.gabor_(w, gain=2.0)
    assert out is w and torch.isfinite(w).all()
    flat = w.reshape(shape[0], -1)
    torch.testing.assert_close(flat.norm(dim=1), torch.full((shape[0],), 2.0), rtol=1e-5, atol=1e-5)
    per_channel = w.reshape(shape[0], shape[1], -1)
    torch.testing.assert_close(per_channel.mean(-1), torch.zeros(shape[:2]), rtol=0, atol=1e-6)
    # Every input channel of a filter carries the same Gabor function.
    assert torch.equal(w[:, :1].expand_as(w), w)


def test_initialiser_cycles_the_bank_and_works_on_a_layer():
    layer = L.Conv2d(1, 20, 7)
    features.gabor_(layer.weight, orientations=4, frequencies=(1.0,), phases=(0.0, 1.5), scales=(2.0,))
    w = layer.weight.detach()
    assert torch.equal(w[0], w[8]) and not torch.equal(w[0], w[1])  # bank of 8, cycled
    assert layer.weight.requires_grad


def test_render_writes_a_png_and_returns_its_pixels(tmp_path):
    from PIL import Image

    bank = features.gabor_bank((11, 11), orientations=4, scales=(2.5,))
    path = tmp_path / "bank.png"
    pixels = features.render_gabor_bank(bank, path)
    assert pixels.dtype == np.uint8 and pixels.ndim == 3 and pixels.shape[2] == 4
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size == (pixels.shape[1], pixels.shape[0])
        np.testing.assert_array_equal(np.asarray(image.convert("RGBA")), pixels)
    assert pixels[..., :3].std() > 10  # really drawn: not a blank canvas
    weight = features.gabor_(torch.empty(8, 3, 5, 5, 5))
    assert features.render_gabor_bank(weight, dims=3).shape[2] == 4
    assert features.render_gabor_bank(features.gabor_bank((15,)), dims=1).ndim == 3


def test_errors():
    with pytest.raises(ShapeError, match=r"gabor_ needs a convolution weight.*Received: weight.shape=\(3, 3\)"):
        features.gabor_(torch.empty(3, 3))
    with pytest.raises(ArgumentError, match=r"orientation of a 3-D Gabor filter must be \(azimuth, elevation\)"):
        features.gabor((3, 3, 3), 1.0, (0.1, 0.2, 0.3))
    with pytest.raises(ArgumentError, match=r"center must have 2 values"):
        features.gabor((5, 5), 1.0, center=(1.0,))
    with pytest.raises(ShapeError, match=r"render_gabor_bank with dims=2 needs a bank"):
        features.render_gabor_bank(torch.randn(2, 5), dims=2)
    with pytest.raises(ArgumentError, match=r"dims must be 1, 2 or 3. Received: dims=4"):
        features.gabor(5, 1.0, dims=4)
