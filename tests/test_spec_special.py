"""DropConnect and the special poolings in the spec: shapes, build, round trip, errors."""

import pytest
import torch

from cnnkit import layers as L
from cnnkit import spec as S
from cnnkit._validation import SpecError

NETWORK = {
    "name": "special", "input": [3, 24, 24],
    "layers": [
        {"dropconnect_conv": {"filters": 8, "kernel": 3, "padding": "same", "p": 0.3,
                              "activation": "relu"}},
        {"stochastic_pool": {"size": 3, "stride": 2}},
        {"conv": {"filters": 12, "kernel": 3, "padding": "same"}},
        {"maxout": 2},
        {"fractional_maxpool": {"ratio": 1.5, "overlapping": True}},
        {"channel_pool": {"k": 3, "mode": "lp", "p": 3}},
        {"spp": [1, 2]},
        {"dropconnect_dense": {"units": 10, "per": "batch", "inference": "gaussian",
                               "samples": 16, "inner_activation": "relu"}},
    ],
}


def test_shapes_build_and_forward():
    spec = S.load(NETWORK)
    # 24 -> stochastic 3/2: 11 -> fractional ceil(10 / 1.5) = 7; channels 8 -> 12 -> 6 -> 2.
    assert [row.output_shape for row in spec.rows] == [
        (8, 24, 24), (8, 24, 24), (8, 11, 11), (12, 11, 11), (6, 11, 11), (6, 7, 7),
        (2, 7, 7), (10,), (10,)]
    net = spec.build()
    assert isinstance(net.layers[0], L.DropConnectConv2d)
    assert isinstance(net.layers[2], L.StochasticPool)
    assert isinstance(net.layers[4], L.Maxout)
    assert isinstance(net.layers[7], L.SpatialPyramidPool)
    assert net.layers[8].activation == "relu" and net.layers[8].inference == "gaussian"
    assert net(torch.randn(2, 3, 24, 24)).shape == (2, 10)
    assert (net.eval()(torch.randn(2, 3, 24, 24)) >= 0).all()  # the inner ReLU
    assert sum(r.params for r in spec.rows) == sum(p.numel() for p in net.parameters())


def test_round_trip_through_the_built_modules():
    net = S.build(NETWORK)
    assert S.build(net.spec()).spec() == net.spec() == S.load(NETWORK).to_dict()


def test_pyramid_network_takes_inputs_of_different_sizes():
    net = S.build({"input": [1, 16, 16], "layers": [
        {"conv": {"filters": 4, "kernel": 3, "activation": "relu"}},
        {"spatial_pyramid_pool": {"levels": [1, 2, 4], "mode": "avg"}},
        {"dense": 3}]})
    for size in [(16, 16), (40, 23), (9, 30)]:
        assert net(torch.randn(2, 1, *size)).shape == (2, 3)


def test_one_dimensional_network():
    net = S.build({"input": [2, 30], "layers": [
        {"dropconnect_conv": {"filters": 6, "kernel": 3}}, "relu",
        {"stochastic_pool": 2}, {"channel_pool": 3}, {"fractional_maxpool": {"output_size": 9}},
        "flatten", {"dropconnect_dense": 4}]})
    assert net(torch.randn(3, 2, 30)).shape == (3, 4)


@pytest.mark.parametrize("layer,path,message", [
    ({"channel_pool": 5}, r"layers\[1\]\.channel_pool\.k", "does not divide the 8 input channels"),
    ({"maxout": 3}, r"layers\[1\]\.maxout\.k", "does not divide"),
    ({"fractional_maxpool": 2}, r"layers\[1\]\.fractional_maxpool\.ratio", "strictly between 1 and 2"),
    ({"fractional_maxpool": {"output_size": 3}}, r"layers\[1\]\.fractional_maxpool\.output_size",
     "cannot map size 8 onto size 3"),
    ("fractional_maxpool", r"layers\[1\]\.fractional_maxpool\.ratio", "exactly one of ratio"),
    ({"dropconnect_dense": {"units": 4, "p": 1}}, r"layers\[1\]\.dropconnect_dense\.p", r"in \[0, 1\)"),
    ({"dropconnect_conv": {"filters": 4, "kernel": 3, "per": "sample"}},
     r"layers\[1\]\.dropconnect_conv\.per", "must be one of 'example', 'batch'"),
    ({"dropconnect_conv": {"filters": 4, "kernel": 3, "inner_activation": "rleu"}},
     r"layers\[1\]\.dropconnect_conv\.inner_activation", "Did you mean 'relu'"),
    ({"spp": [1, 0]}, r"layers\[1\]\.spatial_pyramid_pool\.levels|layers\[1\]\.spp\.levels",
     "levels must be positive"),
])
def test_errors_name_the_spec_path(layer, path, message):
    raw = {"input": [2, 8, 8], "layers": [{"conv": {"filters": 8, "kernel": 1}}, layer]}
    if "dropconnect_dense" in str(layer):
        raw["layers"].insert(1, "flatten")
        path = path.replace(r"layers\[1\]", r"layers\[2\]")
    with pytest.raises(SpecError, match=rf"{path}: .*{message}"):
        S.build(raw)
