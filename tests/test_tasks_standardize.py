"""The standardize layer: oracle, gradients, channel checks at shape inference with the
spec path, round trips carrying the statistics, buffers, summary and ONNX export."""

import numpy as np
import pytest
import torch

import cnnkit
from cnnkit import layers as L
from cnnkit import spec as S
from cnnkit._validation import ArgumentError, ArgumentTypeError, SpecError
from cnnkit.functional.standardize import channel_statistics, standardize
from cnnkit.reference import standardize as ref

SPEC = {"name": "normed", "input": [3, 8, 8], "layers": [
    {"standardize": {"mean": [0.5, 0.4, 0.3], "std": [0.25, 0.2, 0.1]}},
    {"conv": {"filters": 4, "kernel": 3}}, "flatten", {"dense": 2}]}


@pytest.mark.parametrize("shape", [(2, 3), (2, 3, 5), (2, 3, 4, 4), (1, 3, 2, 3, 2)])
def test_matches_oracle_and_gradcheck(shape):
    gen = torch.Generator().manual_seed(len(shape))
    x = torch.randn(shape, generator=gen, dtype=torch.float64, requires_grad=True)
    mean = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64)
    std = torch.tensor([0.5, 2.0, 0.1], dtype=torch.float64)
    y = standardize(x, mean, std)
    np.testing.assert_allclose(y.detach().numpy(), ref.standardize(x.detach().numpy(), mean.tolist(),
                                                                   std.tolist()), rtol=1e-12)
    y.backward(torch.ones_like(y))
    expected = np.broadcast_to((1 / std).view((1, 3) + (1,) * (len(shape) - 2)).numpy(), shape)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12)
    assert torch.autograd.gradcheck(lambda v: standardize(v, mean, std), x.detach().requires_grad_())
    one = standardize(x.detach(), torch.tensor([1.0], dtype=torch.float64), torch.tensor([2.0], dtype=torch.float64))
    torch.testing.assert_close(one, (x.detach() - 1) / 2)


def test_statistics_fitted_on_data():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(50, 3, 4, 4, generator=gen) * torch.tensor([1.0, 2.0, 0.5]).view(1, 3, 1, 1) + 3
    layer = L.Standardize.from_data(x)
    out = layer(x).double()
    torch.testing.assert_close(out.mean((0, 2, 3)), torch.zeros(3, dtype=torch.float64), atol=1e-5, rtol=0)
    torch.testing.assert_close(out.std((0, 2, 3), unbiased=False), torch.ones(3, dtype=torch.float64), atol=1e-5, rtol=0)
    mean, std = channel_statistics(x)
    np.testing.assert_allclose(mean.numpy(), x.double().mean((0, 2, 3)).numpy(), rtol=1e-12)
    with pytest.raises(ArgumentError, match="channel 1 of the data has standard deviation 0"):
        channel_statistics(torch.ones(4, 2, 3) * torch.tensor([[[1.0], [0.0]]]) + torch.tensor([[[0.0], [1.0]]]) * 0
                           + torch.arange(3.0) * torch.tensor([[[1.0], [0.0]]]))


def test_spec_round_trip_keeps_the_statistics():
    spec = S.load(SPEC)
    net = spec.build()
    assert S.build(net.spec()).spec() == net.spec()
    assert S.load(net.to_yaml()) == spec
    assert "mean: [0.5, 0.4, 0.3]" in net.to_yaml() and "std: [0.25, 0.2, 0.1]" in net.to_yaml()
    layer = net.layers[0]
    assert isinstance(layer, L.Standardize)
    state = net.state_dict()
    torch.testing.assert_close(state["layers.0.channel_mean"], torch.tensor([0.5, 0.4, 0.3]))
    torch.testing.assert_close(state["layers.0.channel_std"], torch.tensor([0.25, 0.2, 0.1]))
    assert cnnkit.summary(spec).rows[0]["type"] == "standardize"
    assert repr(layer) == "Standardize(mean=[0.5, 0.4, 0.3], std=[0.25, 0.2, 0.1])"


def test_errors_name_the_spec_path():
    bad = {**SPEC, "layers": [{"standardize": {"mean": [0.5, 0.4], "std": 0.2}}]}
    with pytest.raises(SpecError, match=r"^layers\[0\].standardize.mean: mean has 2 values but the input "
                                        r"gives 3 channels. Received: mean=\[0.5, 0.4\]. Give one value per "
                                        r"channel"):
        S.load(bad)
    with pytest.raises(SpecError, match=r"layers\[0\].standardize.std: std must hold finite positive "
                                        r"numbers. Received: std=\[0.2, 0.0, 0.1\]"):
        S.load({**SPEC, "layers": [{"standardize": {"mean": 0.5, "std": [0.2, 0.0, 0.1]}}]})
    with pytest.raises(ArgumentTypeError, match="mean must be a number or a list of numbers"):
        L.Standardize("a", 1.0)
    with pytest.raises(ArgumentError, match="mean and std must have the same number of values"):
        L.Standardize([0.0, 1.0], [1.0, 2.0, 3.0])


def test_exports_to_onnx(tmp_path):
    pytest.importorskip("onnxruntime")
    from cnnkit.export import to_onnx
    net = S.build(SPEC).eval()
    report = to_onnx(net, tmp_path / "net.onnx")
    assert report.max_abs_diff < 1e-4


TOP = {"name": "front", "input": [2, 8, 8], "standardize": {"mean": [0.5, 1.0], "std": [2.0, 0.5]},
       "layers": [{"conv": {"filters": 3, "kernel": 3}}, "flatten", {"dense": 4}]}


def test_top_level_key_standardises_before_the_layers():
    net = S.build(TOP)
    x = torch.randn(3, 2, 8, 8)
    plain = S.build({k: v for k, v in TOP.items() if k != "standardize"})
    plain.load_state_dict({k: v for k, v in net.state_dict().items() if k.startswith("layers.")})
    mean, std = torch.tensor([0.5, 1.0]).view(1, 2, 1, 1), torch.tensor([2.0, 0.5]).view(1, 2, 1, 1)
    torch.testing.assert_close(net(x), plain((x - mean) / std))
    # the layers keep their paths; the statistics travel in the spec, its YAML and the state
    assert S.load(net.to_yaml()) == S.load(TOP)
    assert net.spec()["standardize"] == {"mean": [0.5, 1.0], "std": [2.0, 0.5]}
    assert list(net.state_dict())[:2] == ["standardize.channel_mean", "standardize.channel_std"]
    rows = cnnkit.summary(TOP).rows
    assert [r["type"] for r in rows[:2]] == ["standardize", "conv"]


def test_top_level_key_errors():
    with pytest.raises(SpecError, match=r"^standardize.mean: mean has 3 values but the input gives 2 "
                                        r"channels. Received: mean=\[1.0, 2.0, 3.0\]"):
        S.load({**TOP, "standardize": {"mean": [1, 2, 3], "std": 1}})
    with pytest.raises(SpecError, match=r"^standardize.std: std must hold finite positive numbers"):
        S.load({**TOP, "standardize": {"mean": [1, 2], "std": 0}})
    with pytest.raises(SpecError, match=r"^standardize: must be a mapping \{mean: \[...\], std: \[...\]\}"):
        S.load({**TOP, "standardize": [1]})
