"""Locally connected, tiled, FFT and separable-kernel convolutions in the spec: shapes,
parameter counts, build, round trip, 1-D and 3-D, errors at their paths."""

import pytest
import torch

from cnnkit import layers as L
from cnnkit import spec as S
from cnnkit._validation import ShapeError, SpecError

NETWORK = {
    "name": "blocks", "input": [3, 16, 16],
    "layers": [
        {"fft_conv": {"filters": 8, "kernel": 5, "padding": "same", "algorithm": "auto",
                      "activation": "relu"}},
        {"separable_kernel_conv": {"filters": 8, "kernel": 5, "rank": 2, "padding": "same"}},
        {"tiled_conv": {"filters": 8, "kernel": 3, "tiles": [2, 3], "stride": 2}},
        {"local": {"filters": 4, "kernel": 3, "activation": "tanh"}},
        {"locally_connected_transpose": {"filters": 2, "kernel": 3, "stride": 2,
                                         "output_padding": 1}},
        "flatten",
        {"dense": 10},
    ],
}


def test_shapes_params_build_and_forward():
    spec = S.load(NETWORK)
    # 16 -> tiled 3/2: 7 -> local 3: 5 -> transpose (5 - 1) * 2 + 3 + 1 = 12
    assert [row.output_shape for row in spec.rows] == [
        (8, 16, 16), (8, 16, 16), (8, 16, 16), (8, 7, 7), (4, 5, 5), (4, 5, 5), (2, 12, 12),
        (288,), (10,)]
    net = spec.build()
    types = [L.FFTConv2d, L.ReLU, L.SeparableKernelConv2d, L.TiledConv2d, L.LocallyConnected2d,
             L.Tanh, L.LocallyConnectedTranspose2d, L.Flatten, L.Dense]
    assert [type(m).__name__ for m in net.layers] == [t.__name__ for t in types]
    assert net.layers[0].algorithm == "auto" and net.layers[3].tiles == (2, 3)
    assert net(torch.randn(2, 3, 16, 16)).shape == (2, 10)
    assert [r.params for r in spec.rows] == [
        sum(p.numel() for p in m.parameters()) for m in net.layers]
    # Multiply-adds: the separable layer does r * sum(K) per (filter, channel) and location.
    assert spec.rows[2].flops == 2 * 8 * 8 * (5 + 5) * 16 * 16
    assert spec.rows[4].flops == 4 * 5 * 5 * 8 * 9


def test_round_trip_through_the_built_modules():
    net = S.build(NETWORK)
    assert S.build(net.spec()).spec() == net.spec() == S.load(NETWORK).to_dict()


def test_locally_connected_network_is_built_for_one_input_size():
    net = S.build({"input": [1, 10, 10], "layers": [{"locally_connected": {"filters": 2, "kernel": 3}}]})
    assert net(torch.randn(1, 1, 10, 10)).shape == (1, 2, 8, 8)
    with pytest.raises((ShapeError, SpecError), match=r"built for an input of 1x10x10.*12x12"):
        net(torch.randn(1, 1, 12, 12))


@pytest.mark.parametrize("input_shape,x_shape", [([2, 20], (3, 2, 20)), ([1, 8, 8, 8], (2, 1, 8, 8, 8))])
def test_one_and_three_dimensional_networks(input_shape, x_shape):
    net = S.build({"input": input_shape, "layers": [
        {"tiled_conv": {"filters": 4, "kernel": 3, "tiles": 2, "padding": "same"}},
        {"fft_conv": {"filters": 4, "kernel": 3, "flip": True}},
        {"separable_kernel_conv": {"filters": 2, "kernel": 3}},
        {"locally_connected": {"filters": 2, "kernel": 2, "stride": 2}},
        "flatten", {"dense": 3}]})
    assert net(torch.randn(*x_shape)).shape == (x_shape[0], 3)
    assert S.build(net.spec()).spec() == net.spec()


@pytest.mark.parametrize("layer,path,message", [
    ({"tiled_conv": {"filters": 4, "kernel": 3, "tiles": 7}}, r"layers\[0\]\.tiled_conv\.tiles",
     "tiles 7 along spatial dimension 0 exceeds the output size 6"),
    ({"tiled_conv": {"filters": 4, "kernel": 3, "tiles": 0}}, r"layers\[0\]\.tiled_conv\.tiles",
     "tiles must be positive"),
    ({"fft_conv": {"filters": 4, "kernel": 3, "algorithm": "fast"}},
     r"layers\[0\]\.fft_conv\.algorithm", "must be one of 'auto', 'direct', 'fft'"),
    ({"local": {"filters": 4, "kernel": 9}}, r"layers\[0\]\.local\.kernel", "does not fit"),
    ({"locally_connected": {"filters": 3, "kernel": 3, "groups": 2}},
     r"layers\[0\]\.locally_connected\.groups", "filters must be divisible by groups"),
    ({"separable_kernel_conv": {"filters": 4, "kernel": 3, "rank": 0}},
     r"layers\[0\]\.separable_kernel_conv\.rank", "rank must be positive"),
    ({"locally_connected_transpose": {"filters": 2, "kernel": 3, "stride": 2,
                                      "output_padding": 2}},
     r"layers\[0\]\.locally_connected_transpose\.output_padding", "smaller than the stride"),
])
def test_errors_name_the_place(layer, path, message):
    with pytest.raises(SpecError, match=path + ".*" + message):
        S.load({"input": [2, 8, 8], "layers": [layer]})
