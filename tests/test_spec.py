"""The spec: three faces (YAML, dict, Python) give one canonical spec, shape inference
agrees with the built network, round trips, desugaring, and plugging in a new layer type."""

import math
import re

import pytest
import torch
import torch.nn as nn

import cnnkit
from cnnkit import layers as L
from cnnkit import spec as S
from cnnkit._validation import ShapeError, SpecError
from cnnkit.functional import shapes
from cnnkit.layers import FROM_INPUT
from cnnkit.layers.kinds import Count

LENET_YAML = """
name: lenet5
input: [1, 28, 28]
layers:
  - conv: {filters: 6, kernel: 5, padding: same, activation: tanh}
  - avgpool: 2
  - conv: {filters: 16, kernel: 5, activation: tanh}
  - avgpool: 2
  - flatten
  - dense: {units: 120, activation: tanh}
  - dense: {units: 84, activation: tanh}
  - dense: 10
loss: softmax_cross_entropy
"""

LENET_DICT = {
    "name": "lenet5", "input": [1, 28, 28],
    "layers": [{"conv": {"filters": 6, "kernel": 5, "padding": "same", "activation": "tanh"}},
               {"avgpool": 2}, {"conv": {"filters": 16, "kernel": 5, "activation": "tanh"}},
               {"avgpool": 2}, "flatten", {"dense": {"units": 120, "activation": "tanh"}},
               {"dense": {"units": 84, "activation": "tanh"}}, {"dense": 10}],
    "loss": "softmax_cross_entropy",
}

# Every built-in layer type, most settings off their defaults (2-D).
EVERYTHING = {
    "name": "everything", "input": [4, 20, 20],
    "layers": [
        {"conv": {"filters": 8, "kernel": 3, "padding": "same", "activation": "relu"}},
        {"conv": {"filters": 8, "kernel": [3, 1], "stride": 2, "dilation": [1, 2], "groups": 2,
                  "padding": [[0, 1], 1], "padding_mode": "replicate", "flip": True,
                  "bias": "untied"}},
        {"conv": {"filters": 8, "kernel": 3, "padding": "full", "bias": "none",
                  "padding_mode": "circular"}},
        {"separable_conv": {"filters": 6, "kernel": 3, "padding": "same", "depth_multiplier": 2}},
        {"deconv": {"filters": 4, "kernel": 3, "stride": 2, "padding": 1, "output_padding": 1,
                    "activation": {"leaky_relu": 0.2}}},
        "batchnorm", "tanh", "abs_tanh", "sigmoid", {"gelu": "tanh"},
        {"lrn": 3},
        {"maxpool": {"size": 3, "stride": 2, "padding": 1}},
        {"avgpool": {"kernel": 2, "ceil_mode": True, "count_include_pad": True}},
        {"lppool": {"size": 2, "p": 3, "stride": 1}},
        {"residual": {"layers": [{"conv": {"filters": 4, "kernel": 3, "padding": "same"}}],
                      "activation": "relu"}},
        {"residual": {"layers": [{"conv": {"filters": 6, "kernel": 1}}],
                      "shortcut": [{"conv": {"filters": 6, "kernel": 1, "bias": False}}]}},
        {"parallel": {"branches": [[{"adaptive_maxpool": 2}], [{"adaptive_avgpool": [2, 2]}]]}},
        {"parallel": {"branches": [["global_maxpool"], [{"global_avgpool": {"keepdim": False}}],
                                   [{"global_lppool": 2}]], "merge": "add"}},
        "flatten",
        {"dropout": 0.1},
        {"dense": {"units": 5, "bias": False, "activation": "sigmoid"}},
    ],
    "loss": "sigmoid_cross_entropy",
}

SEQUENCE_1D = {
    "name": "seq1d", "input": [3, 50],
    "layers": [{"conv": {"filters": 6, "kernel": 5, "dilation": 2, "padding": "same",
                         "activation": "relu"}},
               {"maxpool": {"size": 3, "stride": 2}},
               {"conv_transpose": {"filters": 4, "kernel": 4, "stride": 2, "padding": "same"}},
               {"separable_conv": {"filters": 8, "kernel": 3}},
               {"residual": [{"conv": {"filters": 8, "kernel": 3, "padding": "same"}}]},
               {"global_avgpool": {"keepdim": True}}, "flatten", {"dense": 3}],
}

VOLUME_3D = {
    "name": "vol3d", "input": [2, 9, 10, 11],
    "layers": [{"conv": {"filters": 4, "kernel": [3, 3, 1], "stride": [1, 2, 1],
                         "padding": "same", "activation": "gelu"}},
               {"avgpool": {"size": 2, "padding": 1}},
               {"parallel": {"branches": [[{"conv": {"filters": 2, "kernel": 1}}],
                                          [{"maxpool": {"size": 3, "stride": 1, "padding": "same"}}]]}},
               {"conv": {"filters": 3, "kernel": 2, "bias": "untied"}},
               "flatten", {"dense": 2}],
}

NETWORKS = [LENET_DICT, EVERYTHING, SEQUENCE_1D, VOLUME_3D]


def module_at(net, path):
    """The Module that a row path names: layers[16].residual.shortcut[0] -> .shortcut[0]."""
    path = (path.replace(".residual.layers", ".body").replace(".residual.shortcut", ".shortcut")
            .replace(".parallel.branches", ".branches"))
    module = net
    for name, index in re.findall(r"\.?(\w+)|\[(\d+)\]", path):
        module = getattr(module, name) if name else module[int(index)]
    return module


# ---- three faces ---------------------------------------------------------------------

def python_lenet():
    from cnnkit.spec import avgpool, conv, dense, flatten, net
    return net("lenet5", [1, 28, 28], [
        conv(6, 5, padding="same", activation="tanh"), avgpool(2),
        conv(16, 5, activation="tanh"), avgpool(2), flatten(),
        dense(120, activation="tanh"), dense(84, activation="tanh"), dense(10),
    ], loss="softmax_cross_entropy")


def test_yaml_dict_python_and_file_give_the_same_canonical_spec(tmp_path):
    path = tmp_path / "lenet.yaml"
    path.write_text(LENET_YAML)
    specs = [S.load(LENET_YAML), S.load(LENET_DICT), python_lenet(), S.load(path),
             S.load(str(path))]
    first = specs[0].to_dict()
    assert all(spec.to_dict() == first for spec in specs)
    assert [type(m) for m in S.build(LENET_YAML).modules()] == \
        [type(m) for m in S.build(python_lenet()).modules()]


def test_canonical_form_of_lenet():
    spec = S.load(LENET_YAML).to_dict()
    assert spec["layers"][0] == {"conv": {
        "filters": 6, "kernel": 5, "stride": 1, "padding": "same", "dilation": 1, "groups": 1,
        "bias": "shared", "padding_mode": "zeros", "flip": False}}
    assert spec["layers"][1] == "tanh"
    assert spec["layers"][2] == {"avgpool": {"size": 2, "stride": 2, "padding": "valid",
                                             "dilation": 1, "ceil_mode": False,
                                             "count_include_pad": False}}
    assert len(spec["layers"]) == 12 and spec["loss"] == "softmax_cross_entropy"


@pytest.mark.parametrize("written", [
    {"maxpool": 2}, {"maxpool": {"kernel": 2}}, {"maxpool": {"size": [2, 2], "stride": 2}},
    {"maxpool": {"size": 2, "padding": 0, "dilation": [1, 1]}},
])
def test_shorthands_and_aliases_give_one_canonical_node(written):
    spec = S.load({"input": [1, 8, 8], "layers": [written]})
    assert spec.to_dict()["layers"] == [{"maxpool": {"size": 2, "stride": 2, "padding": "valid",
                                                     "dilation": 1, "ceil_mode": False}}]


@pytest.mark.parametrize("written, canonical", [
    ({"padding": 0}, {"padding": "valid"}),
    ({"padding": [1, 1]}, {"padding": 1}),
    ({"padding": [[1, 1], [2, 2]]}, {"padding": [1, 2]}),
    ({"padding": [[0, 1], [0, 1]]}, {"padding": [[0, 1], [0, 1]]}),
    ({"bias": True}, {"bias": "shared"}),
    ({"bias": False}, {"bias": "none"}),
    ({"kernel": [3, 3]}, {"kernel": 3}),
])
def test_values_are_normalised(written, canonical):
    node = S.load({"input": [1, 8, 8], "layers": [
        {"conv": {"filters": 2, "kernel": 3, **written}}]}).to_dict()["layers"][0]["conv"]
    assert {key: node[key] for key in canonical} == canonical


def test_deconv_is_conv_transpose():
    a = S.load({"input": [2, 4], "layers": [{"deconv": {"filters": 1, "kernel": 2}}]})
    b = S.load({"input": [2, 4], "layers": [{"conv_transpose": {"filters": 1, "kernel": 2}}]})
    assert a == b and a.layers[0].type == "conv_transpose"


def test_activation_becomes_its_own_layer_and_none_adds_nothing():
    spec = S.load({"input": [1, 8, 8], "layers": [
        {"conv": {"filters": 2, "kernel": 3, "activation": {"leaky_relu": {"negative_slope": 0.3}}}},
        {"conv": {"filters": 2, "kernel": 3, "activation": "none"}},
        {"conv": {"filters": 2, "kernel": 3, "activation": None}}]})
    assert [node.type for node in spec.layers] == ["conv", "leaky_relu", "conv", "conv"]
    assert spec.layers[1].args == {"negative_slope": 0.3}
    assert spec.layers[1].source == "layers[0].conv.activation"


def test_float_written_as_yaml_exponent_is_accepted():
    # PyYAML reads 1e-3 (no dot) as a string.
    spec = S.load("input: [2, 4, 4]\nlayers:\n  - batchnorm: {eps: 1e-3}\n")
    assert spec.layers[0].args["eps"] == pytest.approx(1e-3)


# ---- inference agrees with the built network -----------------------------------------

@pytest.mark.parametrize("raw", NETWORKS, ids=lambda raw: raw["name"])
def test_inferred_shapes_and_params_match_the_built_modules(raw):
    spec = S.load(raw)
    net = spec.build().eval()
    seen = {}

    def record(path):
        def hook(module, inputs, output):
            seen.setdefault(path, tuple(output.shape[1:]))
        return hook

    handles = [module_at(net, row.path).register_forward_hook(record(row.path))
               for row in spec.rows]
    out = net(torch.randn(2, *spec.input))
    for handle in handles:
        handle.remove()
    assert tuple(out.shape[1:]) == spec.output_shape
    for row in spec.rows:
        assert seen[row.path] == row.output_shape, row.path
        module = module_at(net, row.path)
        assert row.params == sum(p.numel() for p in module.parameters()), row.path
    assert sum(r.params for r in spec.rows if r.depth == 0) == sum(p.numel() for p in net.parameters())


def test_multiply_adds_of_conv_dense_transpose_and_separable():
    spec = S.load({"input": [4, 10, 10], "layers": [
        {"conv": {"filters": 6, "kernel": 3, "groups": 2}},               # 6x8x8
        {"conv_transpose": {"filters": 2, "kernel": 3, "stride": 2}},     # 2x17x17
        {"separable_conv": {"filters": 5, "kernel": 3, "depth_multiplier": 2}},  # 5x15x15
        "flatten", {"dense": 7}]})
    flops = [row.flops for row in spec.rows]
    assert flops[0] == 6 * 8 * 8 * (4 // 2) * 9
    assert flops[1] == (6 * 8 * 8) * 2 * 9          # each input value meets each tap of each filter
    assert flops[2] == 15 * 15 * (2 * 2) * 9 + 15 * 15 * (2 * 2) * 5
    assert flops[4] == 5 * 15 * 15 * 7


def test_untied_bias_gets_the_inferred_input_size():
    net = S.build({"input": [1, 7, 9], "layers": [{"maxpool": 1},
                  {"conv": {"filters": 3, "kernel": 3, "stride": 2, "bias": "untied"}}]})
    assert net.layers[1].input_size == (7, 9)
    assert tuple(net.layers[1].bias.shape) == (3, 3, 4)


def test_in_channels_and_in_features_are_inferred_and_checked_when_written():
    net = S.build({"input": [3, 6, 6], "layers": [
        {"conv": {"filters": 4, "kernel": 3, "in_channels": 3}}, "flatten",
        {"dense": {"units": 2, "in_features": 64}}]})
    assert net.layers[0].in_channels == 3 and net.layers[2].in_features == 64
    assert "in_features" not in net.spec()["layers"][2]["dense"]


def test_rank_comes_from_the_input():
    for input, conv in (([1, 9], L.Conv1d), ([1, 9, 9], L.Conv2d), ([1, 9, 9, 9], L.Conv3d)):
        net = S.build({"input": input, "layers": [{"conv": {"filters": 1, "kernel": 3}}]})
        assert type(net.layers[0]) is conv


def test_load_with_another_input_shape():
    spec = S.load(LENET_YAML, input=[1, 32, 32])
    assert spec.input == (1, 32, 32) and spec.rows[7].input_shape == (576,)


# ---- Network and round trips ----------------------------------------------------------

def test_network_attributes_and_forward():
    net = S.build(LENET_YAML)
    assert (net.name, net.input_shape, net.loss, net.output_shape) == \
        ("lenet5", (1, 28, 28), "softmax_cross_entropy", (10,))
    assert isinstance(net.layers, L.Sequential) and len(net.layers) == 12
    assert isinstance(net.layers[7], L.Dense) and net.layers[7].in_features == 400
    assert net(torch.randn(3, 1, 28, 28)).shape == (3, 10)


@pytest.mark.parametrize("raw", NETWORKS, ids=lambda raw: raw["name"])
def test_round_trip_through_the_built_modules(raw):
    net = S.build(raw)
    again = S.build(net.spec())
    assert again.spec() == net.spec() == S.load(raw).to_dict()
    assert repr(again) == repr(net)
    assert {k: v.shape for k, v in again.state_dict().items()} == \
        {k: v.shape for k, v in net.state_dict().items()}


@pytest.mark.parametrize("raw", NETWORKS, ids=lambda raw: raw["name"])
def test_round_trip_through_yaml(raw, tmp_path):
    net = S.build(raw)
    for defaults in (False, True):
        path = tmp_path / f"net{defaults}.yaml"
        path.write_text(net.to_yaml(defaults=defaults))
        assert S.build(path).spec() == net.spec()


def test_hand_built_sequence_gives_the_same_spec_as_yaml():
    hand = L.Sequential(L.Conv2d(1, 6, 5, padding="same"), L.Tanh(), L.AvgPool(2),
                      L.Conv2d(6, 16, 5), L.Tanh(), L.AvgPool(2), L.Flatten(),
                      L.Dense(400, 120), L.Tanh(), L.Dense(120, 84), L.Tanh(), L.Dense(84, 10))
    spec = S.from_module(hand, (1, 28, 28), name="lenet5", loss="softmax_cross_entropy")
    assert spec == S.load(LENET_YAML)


def test_generic_activation_module_unbuilds_by_name():
    spec = S.from_module(nn.Sequential(L.Activation("sigmoid"), L.LeakyReLU(0.5)), (1, 4))
    assert spec.to_dict()["layers"] == ["sigmoid", {"leaky_relu": {"negative_slope": 0.5}}]


def test_fully_convolutional_network_takes_other_sizes():
    net = S.build({"input": [1, 16, 16], "layers": [{"conv": {"filters": 2, "kernel": 3}},
                                                    "global_maxpool"]})
    assert net(torch.randn(1, 1, 40, 23)).shape == (1, 2)


# ---- register_layer -------------------------------------------------------------------

class SpaceToDepth(L.Layer):
    """Moves ``block x block`` patches into channels: (C, H, W) -> (C b^2, H/b, W/b).

    A layer type written the way every built-in one is: settings in the signature, their
    kinds, the geometry as class methods; the spec needs only its vocabulary.
    """

    kinds = {"block": Count()}
    takes = "volume"

    def __init__(self, block=2):
        L.Layer.__init__(self, locals())

    @classmethod
    def output_shape(cls, settings, shape, source=FROM_INPUT):
        b = settings["block"]
        if any(size % b for size in shape[1:]):
            raise ShapeError(f"block {b} does not divide the {shape[1:]} input.",
                             argument="block")
        return (shape[0] * b * b, *(size // b for size in shape[1:]))

    @classmethod
    def receptive_field(cls, settings, shape, geometry):
        b = (settings["block"],) * (len(shape) - 1)
        return shapes.compose_geometry(geometry, b, b, (1,) * len(b), (0,) * len(b))

    def forward(self, x):
        return nn.functional.pixel_unshuffle(x, self.block)


@pytest.fixture
def space_to_depth():
    rule = S.register_layer(S.LayerRule("space_to_depth", SpaceToDepth, aliases=("s2d",),
                                        shorthand="block",
                                        description="move block x block patches into channels"))
    yield rule
    S.unregister_layer("space_to_depth")


def test_registered_layer_type_works_in_every_face(space_to_depth):
    raw = {"name": "s2d", "input": [2, 8, 8],
           "layers": [{"s2d": 2}, {"conv": {"filters": 3, "kernel": 1}}, "flatten", {"dense": 4}]}
    spec = S.load(raw)
    assert spec.rows[0].output_shape == (8, 4, 4)
    assert spec.rows[0].geometry == shapes.Geometry((2, 2), (2, 2), (0, 0))
    net = spec.build()
    assert net(torch.randn(5, 2, 8, 8)).shape == (5, 4)
    assert S.build(net.spec()).spec() == net.spec() == spec.to_dict()
    assert S.layer("space_to_depth", 4) == {"space_to_depth": {"block": 4}}
    assert "s2d" in str(cnnkit.summary(spec)) or "space_to_depth" in str(cnnkit.summary(spec))
    with pytest.raises(SpecError, match=r"layers\[0\]\.s2d\.block: block 3 does not divide"):
        S.load({**raw, "layers": [{"s2d": 3}]})
    with pytest.raises(SpecError, match=r"layers\[0\]\.s2d\.block: block must be positive"):
        S.load({**raw, "layers": [{"s2d": 0}]})


def test_register_layer_keyword_form_and_located_module_errors():
    rule = S.register_layer(name="example_drop", layer=L.Dropout, shorthand="rate")
    try:
        assert S.layer_rule("example_drop") is rule
        net = S.build({"input": [1, 4], "layers": [{"example_drop": 0.25}]})
        assert net.layers[0].rate == 0.25
        with pytest.raises(SpecError, match=r"layers\[0\]\.example_drop\.rate: rate must be in "
                                            r"\[0, 1\)"):
            S.build({"input": [1, 4], "layers": [{"example_drop": 2}]})
    finally:
        S.unregister_layer("example_drop")
    assert "example_drop" not in S.layer_types()


def test_catalogue_has_every_required_layer_type():
    required = {"conv", "conv_transpose", "separable_conv", "maxpool", "avgpool", "lppool",
                "global_maxpool", "global_avgpool", "global_lppool", "adaptive_maxpool",
                "adaptive_avgpool", "relu", "tanh", "abs_tanh", "sigmoid", "leaky_relu", "gelu",
                "dense", "flatten", "batchnorm", "lrn", "dropout", "residual", "parallel"}
    assert required <= set(S.layer_types())
    assert S.layer_rule("deconv").name == "conv_transpose"


def test_spec_errors_are_raised_before_any_module_is_built():
    built = []

    class Watch(L.Layer):
        def __init__(self):
            L.Layer.__init__(self, locals())

        def create(self):
            built.append(self)

    S.register_layer(name="example_watch", layer=Watch)
    try:
        with pytest.raises(SpecError, match=r"layers\[1\]\.conv\.kernel"):
            S.build({"input": [1, 4, 4], "layers": ["example_watch", {"conv": {"filters": 1, "kernel": 9}}]})
        assert built == []
    finally:
        S.unregister_layer("example_watch")


def test_call_time_size_check_is_cached_and_passes_fitting_sizes():
    net = S.build({"input": [1, 8, 8], "layers": [{"conv": {"filters": 1, "kernel": 3}},
                                                  "global_avgpool", {"dense": 1}]})
    assert net(torch.zeros(1, 1, 12, 12)).shape == (1, 1)
    assert (12, 12) in net._checked_sizes
    with pytest.raises(ShapeError, match=r"a 2x2 input does not fit"):
        net(torch.zeros(1, 1, 2, 2))
    assert math.isfinite(net(torch.ones(1, 1, 8, 8)).item())
