"""Activation capture against the summary's shapes, layer names, and receptive fields of
single units against the support of their gradient."""

import pytest
import torch
import torch.nn as nn

from cnnkit import ArgumentError
from cnnkit.inspect import (capture, default_layers, gradient, layer_geometry, receptive_field,
                            resolve_layer, summary)
from cnnkit.inspect.activations import spec_path_to_module
from cnnkit.spec import build

BRANCHY = {
    "name": "branchy", "input": [3, 17, 15],
    "layers": [
        {"conv": {"filters": 4, "kernel": 3, "padding": "same", "activation": "tanh"}},
        {"residual": {"layers": [{"conv": {"filters": 4, "kernel": 3, "padding": "same"}}],
                      "activation": "tanh"}},
        {"avgpool": 2},
        {"parallel": {"branches": [[{"conv": {"filters": 2, "kernel": 1}}],
                                   [{"conv": {"filters": 3, "kernel": 3, "padding": "same"}}]]}},
        {"conv": {"filters": 5, "kernel": 3, "stride": 2, "dilation": 1}},
        "flatten", {"dense": 6},
    ],
}

LENET = {
    "name": "lenet", "input": [1, 28, 28],
    "layers": [
        {"conv": {"filters": 6, "kernel": 5, "padding": "same", "activation": "tanh"}},
        {"avgpool": 2},
        {"conv": {"filters": 16, "kernel": 5, "activation": "tanh"}},
        {"avgpool": 2},
        {"conv": {"filters": 8, "kernel": 3, "stride": 2, "padding": 1, "dilation": 1}},
        "flatten", {"dense": 10},
    ],
}

@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Small tensors: one thread is faster than two fighting over shared cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)



def test_captured_shapes_are_the_summary_shapes_for_every_layer():
    net = build(BRANCHY)
    table = summary(net)
    names = [spec_path_to_module(row["name"]) for row in table.rows]
    acts = capture(net, torch.rand(3, 3, 17, 15), names)
    assert set(acts) == set(names)
    # forward order: a block's inner layers finish before the block itself
    assert list(acts).index("layers.2.body.0") < list(acts).index("layers.2")
    for row, name in zip(table.rows, names):
        assert tuple(acts[name].shape) == (3, *row["output_shape"]), name
    last = f"layers.{len(net.layers) - 1}"
    assert torch.equal(acts[last], acts.output)  # the last layer is the output


def test_default_layers_of_a_network_are_its_top_level_layers():
    net = build(BRANCHY)
    acts = capture(net, torch.rand(2, 3, 17, 15))
    assert list(acts) == [f"layers.{i}" for i in range(len(net.layers))]
    assert not acts["layers.0"].requires_grad  # detached unless grad=True


def test_plain_torch_models_use_module_names():
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
            self.head = nn.Linear(4 * 4 * 4, 2)

        def forward(self, x):
            return self.head(self.features(x).flatten(1))

    model = Model()
    assert default_layers(model) == ["features.0", "features.1", "features.2", "head"]
    acts = capture(model, torch.rand(5, 3, 8, 8))
    assert {k: tuple(v.shape) for k, v in acts.items()} == {
        "features.0": (5, 4, 8, 8), "features.1": (5, 4, 8, 8), "features.2": (5, 4, 4, 4),
        "head": (5, 2)}
    table = summary(model, (3, 8, 8))
    for row in table.rows:
        assert tuple(acts[row["name"]].shape[1:]) == tuple(row["output_shape"])


def test_names_are_accepted_in_summary_form_and_by_index():
    net = build(LENET)
    assert resolve_layer(net, "layers[2]") == "layers.2"
    assert resolve_layer(net, 2) == "layers.2"
    assert resolve_layer(net, -1) == "layers.8"
    assert list(capture(net, torch.rand(1, 1, 28, 28), "layers[4]")) == ["layers.4"]


def test_an_unknown_layer_lists_the_layers_that_exist():
    net = build(LENET)
    with pytest.raises(ArgumentError, match=r"layer 'layers\.12' is not a layer of Network\. "
                                            r"Received: layer='layers\.12'\..*Layers: layers\.0, "
                                            r"layers\.1, .*layers\.8"):
        capture(net, torch.rand(1, 1, 28, 28), ["layers.0", "layers.12"])
    with pytest.raises(ArgumentError, match=r"layers index 9 is out of range: Network has 9 "
                                            r"layers\. Received: layers=9"):
        capture(net, torch.rand(1, 1, 28, 28), 9)


def _support_box(mask):
    rows = mask.any(dim=1).nonzero().reshape(-1)
    cols = mask.any(dim=0).nonzero().reshape(-1)
    return (int(rows.min()), int(cols.min())), (int(rows.max()), int(cols.max()))


@pytest.mark.parametrize("layer,unit", [
    ("layers.0", (3, 0, 0)), ("layers.0", (1, 13, 20)),
    ("layers.2", (0, 5, 5)), ("layers.3", (4, 4, 0)),
    ("layers.4", (0, 0, 0)), ("layers.4", (2, 9, 9)),
    ("layers.6", (7, 2, 1)), ("layers.6", (0, 0, 0)),
])
def test_drawn_receptive_field_is_the_gradient_support(layer, unit):
    torch.manual_seed(1)
    net = build(LENET).double()
    # Positive inputs and tanh / average pooling: no unit has an exactly zero gradient
    # inside its field, so the support is the whole field.
    x = torch.rand(1, 1, 28, 28, dtype=torch.float64) + 0.1
    g = gradient(net, x, layer=layer, unit=unit, reduce="none")[0, 0]
    field = receptive_field(net, layer, unit)
    assert _support_box(g != 0) == field.clipped((28, 28))
    # and nothing outside the box
    (top, left), (bottom, right) = field.clipped((28, 28))
    outside = g.clone()
    outside[top:bottom + 1, left:right + 1] = 0
    assert outside.abs().sum() == 0


def test_receptive_field_of_a_plain_torch_model_and_padding():
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.Tanh(), nn.AvgPool2d(2),
                          nn.Conv2d(2, 2, 3, stride=2), nn.Tanh())
    geometry = layer_geometry(model, (1, 20, 20))
    assert geometry["3"]["field"] == (8, 8) and geometry["3"]["jump"] == (4, 4)
    f = receptive_field(model, "4", (1, 0, 0), (1, 20, 20), geometry=geometry)
    assert (f.lo, f.hi) == ((-1, -1), (6, 6))  # reaches one pixel into the zero padding
    x = torch.rand(1, 1, 20, 20) + 0.1
    g = gradient(model, x, layer="4", unit=(1, 3, 2), reduce="none")[0, 0]
    box = receptive_field(model, "4", (1, 3, 2), (1, 20, 20), geometry=geometry)
    assert _support_box(g != 0) == box.clipped((20, 20))


def test_receptive_field_errors_name_the_unit_and_the_shape():
    net = build(LENET)
    with pytest.raises(ArgumentError, match=r"unit \(0, 14, 3\) is outside layer 'layers\.2'"
                                            r"'s output of shape \(6, 14, 14\)"):
        receptive_field(net, "layers.2", (0, 14, 3))
    with pytest.raises(ArgumentError, match=r"unit must index layer 'layers\.2'"):
        receptive_field(net, "layers.2", (0, 1, 2, 3))
    # a dense unit sees the whole input (its field is the flatten's)
    f = receptive_field(net, "layers.8", (4,))
    assert f.clipped((28, 28)) == ((0, 0), (27, 27))
