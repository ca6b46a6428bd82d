"""The summary table, and its receptive fields checked against the empirical ones: the
input region where the gradient of one output unit is non-zero."""

import itertools
import math
from fractions import Fraction

import pytest
import torch
import torch.nn as nn

import cnnkit
from cnnkit import layers as L
from cnnkit.inspect import Summary, summary

# Average / Lp pooling, positive weights and inputs: no gradient cancels or vanishes by
# accident (max pooling would route it to one position only).
NET_2D = {"name": "net2d", "input": [1, 40, 40], "layers": [
    {"conv": {"filters": 2, "kernel": 3, "padding": 1}},
    {"avgpool": 2},
    {"conv": {"filters": 2, "kernel": 3, "dilation": 2, "padding": "same"}},
    {"conv": {"filters": 2, "kernel": 3, "stride": 2}},
    {"avgpool": {"size": 3, "stride": 2, "padding": 1}},
]}
NET_1D = {"name": "net1d", "input": [2, 100], "layers": [
    {"conv": {"filters": 3, "kernel": 5, "dilation": 3}},
    {"avgpool": 2},
    {"conv": {"filters": 2, "kernel": 3, "stride": 2, "padding": [[2, 0]]}},
    {"lppool": {"size": 2, "stride": 1}},
    {"separable_conv": {"filters": 2, "kernel": 3, "dilation": 2, "padding": "same"}},
]}
NET_3D = {"name": "net3d", "input": [1, 14, 16, 12], "layers": [
    {"conv": {"filters": 2, "kernel": [3, 1, 2], "stride": [1, 2, 1], "padding": "same"}},
    {"avgpool": 2},
    {"conv": {"filters": 1, "kernel": 2, "dilation": 2, "padding": "full"}},
]}
NET_BRANCHES = {"name": "branches", "input": [1, 30, 30], "layers": [
    {"conv": {"filters": 2, "kernel": 3, "stride": 2}},
    {"residual": {"layers": [{"conv": {"filters": 2, "kernel": 3, "padding": "same"}},
                             {"conv": {"filters": 2, "kernel": 3, "padding": "same"}}]}},
    {"parallel": {"branches": [[{"conv": {"filters": 1, "kernel": 1}}],
                               [{"conv": {"filters": 1, "kernel": 5, "padding": "same"}}]]}},
    {"avgpool": {"size": 2, "stride": 1}},
]}
NET_CLASSIFIER = {"name": "classifier", "input": [1, 12, 12], "layers": [
    {"conv": {"filters": 2, "kernel": 3, "padding": "same", "activation": "tanh"}},
    {"avgpool": 2}, "flatten", {"dense": {"units": 3, "activation": "sigmoid"}}]}

NETWORKS = [NET_2D, NET_1D, NET_3D, NET_BRANCHES, NET_CLASSIFIER]


def positive(net):
    """Positive weights scaled by 1 / fan-in, so that tanh and sigmoid never saturate into
    an exactly zero gradient."""
    net = net.double().eval()
    with torch.no_grad():
        for p in net.parameters():
            fan_in = p[0].numel() if p.dim() > 1 else 1
            p.uniform_(0.1, 1.0).div_(fan_in)
    return net


def empirical_box(net, input_shape, unit):
    """Per spatial axis, (first, last) input position with a non-zero gradient of the
    output position ``unit`` (all channels: after a concatenation they differ in field)."""
    x = torch.rand(1, *input_shape, dtype=torch.float64).add_(0.5).requires_grad_(True)
    out = net(x)
    out[(0, slice(None), *unit)].sum().backward()
    nonzero = (x.grad[0].abs().sum(0) > 0).nonzero()
    return [(int(nonzero[:, a].min()), int(nonzero[:, a].max())) for a in range(nonzero.shape[1])]


def units_to_check(out_spatial, limit=40):
    per_axis = [sorted({0, 1, s // 2, s - 2, s - 1} & set(range(s))) for s in out_spatial]
    return list(itertools.product(*per_axis))[:limit]


def check_fields(net, input_shape, row):
    """Compare the row's field / jump / start with gradients for several output units;
    exact where the field lies inside the input, contained where it is clipped."""
    spatial = input_shape[1:]
    out_spatial = row["output_shape"][1:]
    exact = 0
    for unit in units_to_check(out_spatial) if out_spatial else [()]:
        box = empirical_box(net, input_shape, unit)
        index = unit if unit else (0,) * len(spatial)
        for axis, (first, last) in enumerate(box):
            lo = row["start"][axis] + index[axis] * row["jump"][axis]
            hi = lo + row["field"][axis] - 1
            if lo >= 0 and hi <= spatial[axis] - 1:
                assert (first, last) == (lo, hi), (row["name"], unit, axis)
                exact += 1
            else:
                assert max(lo, 0) <= first and last <= min(hi, spatial[axis] - 1), (unit, axis)
    return exact


@pytest.mark.parametrize("raw", NETWORKS, ids=lambda raw: raw["name"])
def test_reported_receptive_field_matches_the_gradient(raw):
    torch.manual_seed(0)
    net = positive(cnnkit.build(raw))
    table = summary(net)
    last = [row for row in table.rows if row["depth"] == 0][-1]
    exact = check_fields(net, tuple(raw["input"]), last)
    if raw["name"] == "classifier":
        # A dense unit sees every input pixel; its reported field reaches into the padding.
        assert empirical_box(net, (1, 12, 12), ()) == [(0, 11), (0, 11)]
        assert last["start"] == (-1, -1) and last["field"] == (14, 14)
    else:
        assert exact > 0


def test_every_layer_of_the_2d_net_matches_the_gradient():
    for depth in range(1, len(NET_2D["layers"]) + 1):
        raw = {**NET_2D, "layers": NET_2D["layers"][:depth]}
        net = positive(cnnkit.build(raw))
        assert check_fields(net, (1, 40, 40), summary(net).rows[-1]) > 0


def test_known_values_of_the_2d_net():
    rows = summary(NET_2D).rows
    assert [(r["field"], r["jump"], r["start"]) for r in rows] == [
        ((3, 3), (1, 1), (-1, -1)),    # conv 3, padding 1
        ((4, 4), (2, 2), (-1, -1)),    # avgpool 2
        ((12, 12), (2, 2), (-5, -5)),  # conv 3 dilation 2 (span 5), same: pads 2 x jump 2
        ((16, 16), (4, 4), (-5, -5)),  # conv 3 stride 2
        ((24, 24), (8, 8), (-9, -9)),  # avgpool 3 stride 2 padding 1
    ]


def test_transposed_convolution_field_contains_the_gradient():
    raw = {"input": [1, 12], "layers": [{"conv": {"filters": 1, "kernel": 3}},
                                        {"conv_transpose": {"filters": 1, "kernel": 3, "stride": 2}}]}
    net = positive(cnnkit.build(raw))
    row = summary(net).rows[-1]
    assert row["jump"] == (Fraction(1, 2),) and row["field"] == (4,) and row["start"] == (-1,)
    for unit in range(row["output_shape"][1]):
        (first, last), = empirical_box(net, (1, 12), (unit,))
        lo = row["start"][0] + unit * row["jump"][0]
        assert math.floor(lo) <= first and last <= math.ceil(lo + row["field"][0] - 1)
        if unit % 2 == 0 and 2 <= unit <= 18:  # even units read two existing positions: exact
            assert (first, last) == (lo, lo + row["field"][0] - 1)


# ---- hooks: plain torch.nn modules -----------------------------------------------------

def torch_2d():
    return nn.Sequential(
        nn.Conv2d(1, 2, 3, padding=1), nn.AvgPool2d(2),
        nn.Conv2d(2, 2, 3, dilation=2, padding="same"), nn.Conv2d(2, 2, 3, stride=2),
        nn.AvgPool2d(3, stride=2, padding=1))


def test_plain_torch_module_summary_matches_the_spec_and_the_gradient():
    torch.manual_seed(0)
    model = positive(torch_2d())
    table = summary(model, (1, 40, 40))
    assert table.source == "hooks"
    spec_rows = summary(NET_2D).rows
    for hooked, inferred in zip(table.rows, spec_rows):
        for key in ("output_shape", "field", "jump", "start", "params", "flops"):
            assert hooked[key] == inferred[key], (hooked["name"], key)
    assert [r["type"] for r in table.rows] == ["Conv2d", "AvgPool2d", "Conv2d", "Conv2d", "AvgPool2d"]
    assert check_fields(model, (1, 40, 40), table.rows[-1]) > 0


def test_hooks_know_linear_flatten_and_unknown_layers():
    model = nn.Sequential(nn.Conv1d(2, 4, 3), nn.ReLU(), nn.Upsample(scale_factor=2),
                          nn.Flatten(), nn.Linear(32, 5))
    table = summary(model, (2, 6))
    assert [r["output_shape"] for r in table.rows] == [(4, 4), (4, 4), (4, 8), (32,), (5,)]
    assert table.rows[1]["field"] == (3,)          # element-wise: unchanged
    assert table.rows[2]["field"] is None          # unknown resampling: not a regular grid
    assert table.rows[4]["flops"] == 32 * 5 and table.rows[0]["flops"] == 4 * 4 * 2 * 3
    assert table.total_params == sum(p.numel() for p in model.parameters())


def test_hooks_leave_training_mode_and_batchnorm_statistics_alone():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Dropout(0.5))
    model.train()
    before = model[1].running_mean.clone()
    summary(model, (1, 8, 8))
    assert model.training and torch.equal(model[1].running_mean, before)


def test_module_made_of_cnnkit_layers_is_summarised_by_inference():
    hand = L.Sequential(L.Conv2d(1, 2, 3), L.ReLU(), L.MaxPool(2))
    table = summary(hand, (1, 10, 10))
    assert table.source == "spec"
    assert [r["name"] for r in table.rows] == ["layers[0]", "layers[1]", "layers[2]"]


# ---- the table -------------------------------------------------------------------------

def test_lenet_table_rows_totals_and_text():
    table = cnnkit.summary(cnnkit.create_model("lenet5"))
    assert isinstance(table, Summary) and table.source == "spec"
    assert table.total_params == 61706
    assert table.total_params == sum(p.numel() for p in cnnkit.create_model("lenet5").parameters())
    conv0 = table.rows[0]
    assert conv0 == {"name": "layers[0]", "type": "conv", "output_shape": (6, 28, 28),
                     "field": (5, 5), "jump": (1, 1), "start": (-2, -2), "params": 156,
                     "flops": 6 * 28 * 28 * 25, "depth": 0}
    text = str(table).splitlines()
    assert text[0] == "lenet5: input 1x28x28 -> output 10"
    assert text[2].split() == ["layer", "type", "output", "field", "jump", "start", "params",
                               "mult-adds"]
    assert text[4].split() == ["layers[0]", "conv", "6x28x28", "5", "1", "-2", "156", "117,600"]
    assert text[-1].split() == ["total", "10", "61,706", "416,520"]
    # Columns are aligned: every data line has the same length as the header line or less.
    assert len({line.index("conv") for line in text if " conv " in line}) == 1


def test_nested_rows_are_indented_and_counted_once():
    table = summary(NET_BRANCHES)
    names = [r["name"] for r in table.rows]
    assert names[:4] == ["layers[0]", "layers[1]", "layers[1].residual.layers[0]",
                         "layers[1].residual.layers[1]"]
    residual = table.rows[1]
    assert residual["params"] == table.rows[2]["params"] + table.rows[3]["params"]
    assert table.total_params == sum(r["params"] for r in table.rows if r["depth"] == 0)
    assert "\n    layers[1].residual.layers[0]" not in str(table)
    assert "\n  layers[1].residual.layers[0]" in str(table)


def test_summary_of_a_spec_with_another_input_shape():
    table = summary(NET_CLASSIFIER, input_shape=(1, 16, 16))
    assert table.input_shape == (1, 16, 16) and table.rows[3]["output_shape"] == (128,)


def test_summary_of_a_yaml_file(tmp_path):
    path = tmp_path / "n.yaml"
    path.write_text("name: n\ninput: [3, 8]\nlayers: [{conv: {filters: 2, kernel: 3}}]\n")
    assert summary(path).rows[0]["output_shape"] == (2, 6)
    assert summary(str(path)).total_params == 2 * 3 * 3 + 2


def test_fraction_jumps_print_as_fractions():
    table = summary({"input": [1, 5], "layers": [{"conv_transpose": {"filters": 1, "kernel": 2, "stride": 2}},
                                                 {"conv_transpose": {"filters": 1, "kernel": 2, "stride": 2}}]})
    assert table.rows[1]["jump"] == (Fraction(1, 4),)
    assert " 1/4 " in str(table)


def test_summary_rejects_other_things():
    with pytest.raises(cnnkit.ArgumentTypeError, match=r"summary takes a Network, a spec .* "
                                                        r"Received: int\."):
        summary(3)
    with pytest.raises(cnnkit.ArgumentError, match=r"input_shape must hold positive ints: "
                                                    r"channels, then spatial sizes\. Received: "
                                                    r"input_shape=\(1, 0\)\."):
        summary(nn.Conv1d(1, 1, 1), (1, 0))
    with pytest.raises(cnnkit.ArgumentTypeError, match=r"input_shape must be a tuple"):
        summary(nn.Conv1d(1, 1, 1), "1,8")


# ---- what a plain module hides ---------------------------------------------------------

class _PoolsBetweenModules(nn.Module):
    """A functional max pool between two modules: no module explains the size change."""

    def __init__(self):
        super().__init__()
        self.c1, self.c2 = nn.Conv2d(1, 4, 5), nn.Conv2d(4, 8, 3)
        self.gap = nn.AdaptiveAvgPool2d(2)

    def forward(self, x):
        x = torch.relu(self.c1(x))                  # same size: the field still holds
        x = nn.functional.max_pool2d(x, 2)          # a size change no module explains
        return self.gap(self.c2(x))


def test_a_function_call_that_resizes_between_modules_makes_the_fields_unknown():
    table = cnnkit.summary(_PoolsBetweenModules(), (1, 28, 28))
    by_name = {row["name"]: row for row in table.rows}
    assert by_name["c1"]["field"] == (5, 5) and by_name["c1"]["jump"] == (1, 1)
    assert by_name["c2"]["field"] is None and by_name["gap"]["field"] is None
    (note,) = table.notes
    assert note[0] == "c2" and "comes from a function call that changed the last layer's " \
                               "output (4x24x24)" in note[1]


def test_relu_as_a_function_keeps_the_field():
    class ReluBetween(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1, self.c2 = nn.Conv2d(1, 2, 3), nn.Conv2d(2, 2, 3)

        def forward(self, x):
            return self.c2(torch.relu(self.c1(x)))

    table = cnnkit.summary(ReluBetween(), (1, 10, 10))
    assert [row["field"] for row in table.rows] == [(3, 3), (5, 5)] and not table.notes


def test_adaptive_pooling_of_a_torch_module_has_a_field_when_the_grid_is_regular():
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.AdaptiveMaxPool2d(4))
    row = cnnkit.summary(model, (1, 8, 8)).rows[1]
    assert (row["field"], row["jump"]) == ((4, 4), (2, 2))
    row = cnnkit.summary(model, (1, 9, 9)).rows[1]
    assert row["field"] is None  # 9 is not a multiple of 4: windows of 2 and 3


def test_a_formula_that_is_not_a_whole_number_names_the_rows_never_seen():
    spec = {"input": [1, 28, 28], "layers": [{"conv": {"filters": 2, "kernel": 3, "stride": 2}},
                                             {"maxpool": {"size": 2}}]}
    table = cnnkit.summary(spec)
    assert table.notes[0] == (
        "layers[0]", "(W - K + 2P) / S + 1 is not a whole number ((28 - 3 + 0) / 2 + 1 = 13.5): "
        "row 27 and column 27 of its 28x28 input are never seen. Pad by 1 more, or change the "
        "stride or the window, to use them.")
    assert "note: layers[1]:" in str(table)  # 13 rows pooled by 2: row 12 never seen
    class Plain(nn.Module):  # not a spec: the rows come from hooks
        def __init__(self):
            super().__init__()
            self.conv = L.Conv2d(1, 2, 3, stride=2)
            self.lstm = nn.LSTM(2, 2)

        def forward(self, x):
            return self.conv(x)

    hooks = cnnkit.summary(Plain(), (1, 28, 28))
    assert hooks.source == "hooks" and [name for name, _ in hooks.notes] == ["conv"]
