"""Kernels without supervised training: patches, whitening, k-means and random filters."""

import pytest
import torch

from cnnkit.features import extract_patches, kmeans, kmeans_filters, random_filters_, zca_whitening
from cnnkit.functional import conv


def test_every_patch_is_a_window_of_some_image():
    g = torch.Generator().manual_seed(1)
    x = torch.rand(3, 2, 6, 7, generator=g)
    patches = extract_patches(x, (3, 2), 40, generator=g)
    windows = x.unfold(2, 3, 1).unfold(3, 2, 1)  # (N, C, 4, 6, 3, 2)
    windows = windows.permute(0, 2, 3, 1, 4, 5).reshape(-1, 2 * 3 * 2)
    for patch in patches:
        assert (windows - patch).abs().sum(dim=1).min() < 1e-6


def test_patches_in_1d_and_3d():
    g = torch.Generator().manual_seed(0)
    assert extract_patches(torch.rand(2, 3, 20), 5, 7, generator=g).shape == (7, 15)
    assert extract_patches(torch.rand(2, 1, 5, 5, 5), 2, 4, generator=g).shape == (4, 8)


@pytest.mark.parametrize("spherical", [True, False])
def test_kmeans_recovers_planted_clusters(spherical):
    g = torch.Generator().manual_seed(0)
    directions = torch.nn.functional.normalize(torch.randn(4, 6, generator=g), dim=1) * 5
    points = torch.cat([d + 0.05 * torch.randn(100, 6, generator=g) for d in directions])
    found = kmeans(points, 4, spherical=spherical, generator=g)
    target = torch.nn.functional.normalize(directions, dim=1) if spherical else directions
    distance = torch.cdist(found, target)
    assert distance.min(dim=0).values.max() < 0.1  # every planted centre has a centroid near it


def test_zca_whitening_gives_identity_covariance():
    g = torch.Generator().manual_seed(0)
    p = torch.randn(4000, 4, generator=g, dtype=torch.float64) @ torch.randn(4, 4, generator=g, dtype=torch.float64)
    mean, w = zca_whitening(p, epsilon=0.0)
    assert torch.allclose(torch.cov(((p - mean) @ w).T), torch.eye(4, dtype=torch.float64), atol=1e-8)
    assert torch.allclose(w, w.T)  # ZCA: the symmetric whitening, closest to the data


def stripes(n, vertical, generator):
    base = torch.zeros(8, 8)
    if vertical:
        base[:, ::2] = 1
    else:
        base[::2, :] = 1
    noise = 0.05 * torch.randn(n, 1, 8, 8, generator=generator)
    return base.expand(n, 1, 8, 8) + noise


def test_kmeans_filters_find_the_four_stripe_patterns():
    # 2x2 patches of stripes come in two orientations and two phases: four directions
    # after per-patch normalisation, so four clusters.
    g = torch.Generator().manual_seed(0)
    x = torch.cat([stripes(30, True, g), stripes(30, False, g)])
    weight, bias = kmeans_filters(x, 4, 2, patches=3000, whiten=False, seed=0)
    assert torch.equal(bias, torch.zeros(4))
    flat = torch.nn.functional.normalize(weight.flatten(1), dim=1)
    v = torch.nn.functional.normalize(torch.tensor([1.0, -1.0, 1.0, -1.0]), dim=0)
    h = torch.nn.functional.normalize(torch.tensor([1.0, 1.0, -1.0, -1.0]), dim=0)
    patterns = torch.stack([v, -v, h, -h])
    similarity = flat @ patterns.T
    assert similarity.max(dim=0).values.min() > 0.95  # every pattern has its kernel


def test_whitened_kernels_and_bias_act_on_raw_images():
    # conv(x, weight, bias) at a location must equal centroid . ((patch - mean) @ W):
    # recompute the same pipeline from the public pieces, with the same seed.
    from cnnkit.data import load_dataset

    x = load_dataset("digits").x[:300]
    weight, bias = kmeans_filters(x, 5, 3, patches=2000, seed=3)
    g = torch.Generator().manual_seed(3)
    raw = extract_patches(x, (3, 3), 2000, generator=g).double()
    learn = raw - raw.mean(dim=1, keepdim=True)
    learn = learn / (learn.var(dim=1, keepdim=True) + 0.01 * learn.var()).sqrt()
    mean, w = zca_whitening(learn, 0.1)
    centroids = kmeans((learn - mean) @ w, 5, iterations=20, generator=g)
    out = conv(x[:2].double(), weight.double(), bias.double())
    patch = x[1, 0, 2:5, 4:7].reshape(-1).double()
    expected = ((patch - mean) @ w) @ centroids.T
    assert torch.allclose(out[1, :, 2, 4], expected, atol=1e-4)


@pytest.mark.parametrize("kind", ["gaussian", "uniform", "sign"])
def test_random_filters_are_zero_mean_unit_norm(kind):
    w = random_filters_(torch.empty(16, 3, 5, 5), kind, generator=torch.Generator().manual_seed(0))
    flat = w.flatten(1)
    assert torch.allclose(flat.norm(dim=1), torch.ones(16), atol=1e-5)
    assert flat.mean(dim=1).abs().max() < 1e-6
    assert len({tuple(row.tolist()) for row in flat}) == 16  # all different


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match=r"kernel \(9, 9\) does not fit images of spatial size \(8, 8\)"):
        extract_patches(torch.rand(2, 1, 8, 8), 9, 10)
    with pytest.raises(ValueError, match=r"points must be \(P, D\) with at least k=5 rows\. Received: "
                                         r"points of shape \(3, 2\)"):
        kmeans(torch.rand(3, 2), 5)
    with pytest.raises(ValueError, match=r"kind must be one of 'gaussian', 'uniform', 'sign'\. "
                                         r"Received: kind='normal'"):
        random_filters_(torch.empty(2, 1, 3, 3), "normal")
    with pytest.raises(ValueError, match=r"epsilon must be non-negative\. Received: epsilon=-1"):
        zca_whitening(torch.rand(10, 2), -1)
