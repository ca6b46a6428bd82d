"""Every registered layer type has every face: it builds from a minimal spec in each rank
it supports, round trips, its inferred shape equals the built module's output, it has a
summary row, its fast path equals its reference oracle, and it exports to ONNX or is refused
by name. A new layer type fails here until all of that exists."""

import numpy as np
import pytest
import torch

import cnnkit
from cnnkit import layers as L
from cnnkit import spec as S
from cnnkit.export import ExportError, to_onnx
from layer_oracles import oracle

TYPES = S.layer_types()


def _ranks(rule):
    layer = rule.layer
    return (1, 2, 3) if layer is None or "dims" in layer.signature() else (2,)


def _spec(name, rank):
    rule = S.layer_rule(name)
    spatial = {1: [10], 2: [8, 8], 3: [6, 6, 6]}[rank]
    if rule.layer is not None and rule.layer.index_input:
        return {"name": f"face_{name}", "input": [1, *spatial], "layers": [{name: rule.example}]}
    example = rule.rank_examples.get(rank, rule.example)
    layers = [{name: example} if example else name]
    if rule.takes == "flat":
        layers.insert(0, "flatten")
    return {"name": f"face_{name}", "input": [4, *spatial], "layers": layers}


CASES = [(name, rank) for name in TYPES for rank in _ranks(S.layer_rule(name))]


@pytest.mark.parametrize("name, rank", CASES, ids=[f"{n}-{r}d" for n, r in CASES])
def test_every_face(name, rank):
    spec = S.load(_spec(name, rank))
    net = spec.build().double().eval()
    # round trips: through the built modules and through YAML
    assert S.build(net.spec()).spec() == net.spec() == spec.to_dict()
    assert S.load(net.to_yaml()) == spec
    # inferred shapes are the built module's
    torch.manual_seed(0)
    x = torch.rand(2, *spec.input, dtype=torch.float64)  # non-negative: stochastic pooling
    if S.layer_rule(name).layer is not None and S.layer_rule(name).layer.index_input:
        x = torch.randint(0, S.layer_rule(name).example["vocab"], (2, *spec.input))
    with torch.no_grad():
        torch.manual_seed(0)
        y = net(x)
    assert tuple(y.shape[1:]) == spec.output_shape
    # a summary row of this type
    assert any(row["type"] == name for row in cnnkit.summary(spec).rows)
    # the fast path equals the loop oracle
    np.testing.assert_allclose(y.numpy(), oracle(net.layers, x.numpy()), rtol=1e-9, atol=1e-10)


ONNX = [name for name in TYPES if 2 in _ranks(S.layer_rule(name))]


@pytest.mark.parametrize("name", ONNX)
def test_exports_to_onnx_or_is_refused_by_name(name, tmp_path):
    pytest.importorskip("onnxruntime")
    net = S.build(_spec(name, 2)).eval()
    refused = [m for m in net.modules() if isinstance(m, L.Layer) and type(m).onnx is not True]
    if refused:
        reason = type(refused[0]).onnx
        with pytest.raises(ExportError, match=type(refused[0]).__name__):
            to_onnx(net, tmp_path / "net.onnx")
        assert reason and isinstance(reason, str)
    else:
        report = to_onnx(net, tmp_path / "net.onnx")
        assert report.max_abs_diff < 1e-4


def test_every_public_layer_class_is_a_spec_type_or_named_here():
    spec_classes = {rule.layer for rule in map(S.layer_rule, TYPES) if rule.layer is not None}
    # Not in a sequential spec: the base of the named activations, and RoI pooling with
    # boxes per image, a second input (`roi_pool` builds FixedRoIMaxPool).
    outside = {L.Activation, L.RoIMaxPool}
    public = {getattr(L, name) for name in L.__all__ if isinstance(getattr(L, name), type)}
    layer_classes = {cls for cls in public if issubclass(cls, L.Layer) and cls.fixed_dims is None
                     and cls is not L.Layer}
    assert layer_classes - spec_classes - outside == set()


@pytest.mark.parametrize("name", [n for n in TYPES if S.layer_rule(n).layer is not None])
def test_settings_rebuild_the_same_layer(name):
    net = S.build(_spec(name, 2))
    layer = next(m for m in net.layers if type(m).__mro__[0] is not L.Flatten or name == "flatten")
    again = type(layer)(**layer.settings())
    assert again.settings() == layer.settings()
    assert repr(again) == repr(layer)
