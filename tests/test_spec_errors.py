"""Every way a spec can be wrong: one test per error case, each pinning its message.

Spec errors are raised by ``load`` (so by ``build`` before any Module exists); call-time
errors by the built network before any computation.
"""

import re

import pytest
import torch
import torch.nn as nn

import cnnkit
from cnnkit import spec as S
from cnnkit._validation import ArgumentError, ShapeError, SpecError


def load(layers, input=(1, 16, 16), **top):
    return S.load({"input": list(input), "layers": layers, **top})


def conv(**settings):
    return {"conv": {"filters": 4, "kernel": 3, **settings}}


# ---- layer types and keys ----------------------------------------------------------------

def test_unknown_layer_type_lists_valid_types():
    with pytest.raises(SpecError, match=r"layers\[1\]: unknown layer type 'cnv'\. Did you mean "
                                        r"'conv'\? Valid layer types: .*avgpool.*maxpool.*"):
        load([conv(), {"cnv": {"filters": 4}}])


def test_unknown_key_suggests_closest():
    with pytest.raises(SpecError, match=r"layers\[0\]\.conv\.strde: unknown key 'strde' for "
                                        r"conv\. Did you mean 'stride'\? Valid keys: filters, kernel"):
        load([conv(strde=2)])


def test_activation_key_on_a_layer_without_activation():
    with pytest.raises(SpecError, match=r"layers\[0\]\.maxpool\.activation: unknown key "
                                        r"'activation' for maxpool"):
        load([{"maxpool": {"size": 2, "activation": "relu"}}])


def test_missing_required_key():
    with pytest.raises(SpecError, match=r"layers\[0\]\.conv\.kernel: conv needs kernel \(no "
                                        r"default\)\. Received: conv: \{filters: 8\}\. Add kernel"):
        load([{"conv": 8}])


def test_key_and_its_alias_both_given():
    with pytest.raises(SpecError, match=r"layers\[0\]\.maxpool\.kernel: kernel and size name the "
                                        r"same setting; give only one"):
        load([{"maxpool": {"size": 2, "kernel": 2}}])


def test_layer_mapping_with_two_types():
    with pytest.raises(SpecError, match=r"layers\[0\]: a layer is a mapping with exactly one key, "
                                        r"its type\. Received: keys \['conv', 'maxpool'\]\. Put each"):
        load([{"conv": {"filters": 4, "kernel": 3}, "maxpool": 2}])


def test_layer_neither_name_nor_mapping():
    with pytest.raises(SpecError, match=r"layers\[0\]: a layer is a type name .* Received: 5 \(int\)"):
        load([5])


def test_bare_value_for_a_type_without_shorthand():
    with pytest.raises(SpecError, match=r"layers\[0\]\.flatten: flatten takes its settings as a "
                                        r"mapping \(keys: none\), not a bare value\. Received: 3"):
        load([{"flatten": 3}])


# ---- values ------------------------------------------------------------------------------

@pytest.mark.parametrize("key, value, what", [
    ("kernel", 0, "kernel must be positive in every dimension. Received: kernel=0."),
    ("kernel", [3, -1], r"kernel must be positive in every dimension. Received: kernel=\[3, -1\]."),
])
def test_kernel_zero_or_negative(key, value, what):
    with pytest.raises(SpecError, match=rf"layers\[0\]\.conv\.{key}: {what}"):
        load([conv(**{key: value})])


def test_stride_zero():
    with pytest.raises(SpecError, match=r"layers\[0\]\.conv\.stride: stride must be positive in "
                                        r"every dimension\. Received: stride=0\."):
        load([conv(stride=0)])


def test_dilation_negative():
    with pytest.raises(SpecError, match=r"layers\[0\]\.conv\.dilation: dilation must be positive "
                                        r"in every dimension\. Received: dilation=-1\."):
        load([conv(dilation=-1)])


def test_per_dimension_list_of_wrong_length():
    with pytest.raises(SpecError, match=r"layers\[0\]\.conv\.kernel: kernel must be an int or a "
                                        r"sequence of 2 ints \(one per spatial dimension\)\. "
                                        r"Received: kernel=\[3, 3, 3\] with 3 values\."):
        load([conv(kernel=[3, 3, 3])])


def test_string_where_int_expected():
    with pytest.raises(SpecError, match=r"layers\[0\]\.conv\.filters: filters must be an int\. "
                                        r"Received: filters='four' \(str\)\."):
        load([{"conv": {"filters": "four", "kernel": 3}}])


def test_string_where_number_expected():
    with pytest.raises(SpecError, match=r"layers\[0\]\.batchnorm\.eps: eps must be a number\. "
                                        r"Received: eps='small' \(str\)\."):
        load([{"batchnorm": {"eps": "small"}}])


def test_bool_expected():
    with pytest.raises(SpecError, match=r"layers\[0\]\.conv\.flip: flip must be true or false\. "
                                        r"Received: flip='yes please' \(str\)\."):
        load([conv(flip="yes please")])


def test_dropout_rate_out_of_range():
    with pytest.raises(SpecError, match=r"layers\[0\]\.dropout\.rate: rate must be in \[0, 1\) "
                                        r"\(the probability of dropping a unit\)\. Received: rate=1\.5\."):
        load([{"dropout": 1.5}])


def test_lrn_beta_negative():
    with pytest.raises(SpecError, match=r"layers\[0\]\.lrn\.beta: beta must be non-negative\. Received: beta=-1\."):
        load([{"lrn": {"beta": -1}}])


def test_unknown_padding_name():
    with pytest.raises(SpecError, match=r"layers\[0\]\.conv\.padding: padding must be one of "
                                        r"'valid', 'same', 'full', 'causal'\. Received: padding='sme'\. "
                                        r"Did you mean 'same'\?"):
        load([conv(padding="sme")])


def test_unknown_padding_mode():
    with pytest.raises(SpecError, match=r"layers\[0\]\.conv\.padding_mode: padding_mode must be "
                                        r"one of 'zeros', 'reflect', 'replicate', 'circular'\. "
                                        r"Received: padding_mode='mirror'\."):
        load([conv(padding_mode="mirror")])


def test_unknown_bias_mode():
    with pytest.raises(SpecError, match=r"layers\[0\]\.conv\.bias: bias must be one of 'shared', "
                                        r"'untied', 'none'\. Received: bias='tied'\. "
                                        r"Did you mean 'untied'\?"):
        load([conv(bias="tied")])


def test_untied_bias_on_transposed_conv():
    with pytest.raises(SpecError, match=r"layers\[0\]\.conv_transpose\.bias: bias must be one "
                                        r"of 'shared', 'none'\. Received: bias='untied'"):
        load([{"conv_transpose": {"filters": 2, "kernel": 3, "bias": "untied"}}])


def test_bad_activation_name():
    with pytest.raises(SpecError, match=r"layers\[0\]\.conv\.activation: unknown activation "
                                        r"'rleu'\. Did you mean 'relu'\? Valid activations: "
                                        r"abs_tanh, gelu, leaky_relu, relu, scaled_tanh, sigmoid, tanh"):
        load([conv(activation="rleu")])


def test_filters_not_divisible_by_groups():
    with pytest.raises(SpecError, match=r"layers\[0\]\.conv\.groups: filters must be divisible "
                                        r"by groups\. Received: filters=4, groups=3\."):
        load([conv(groups=3)], input=(3, 8, 8))


def test_output_padding_not_below_stride():
    with pytest.raises(SpecError, match=r"layers\[0\]\.conv_transpose\.output_padding: "
                                        r"output_padding must be smaller than the stride .* "
                                        r"Received: output_padding=2, stride=2\. Use "
                                        r"output_padding of at most 1\."):
        load([{"conv_transpose": {"filters": 2, "kernel": 3, "stride": 2, "output_padding": 2}}])


def test_same_padding_for_transposed_conv_that_cannot_give_input_times_stride():
    with pytest.raises(SpecError, match=r"layers\[0\]\.deconv\.padding: padding: same for a "
                                        r"transposed convolution .* a kernel of 1 with stride 2 "
                                        r"leaves gaps\. .* Use a kernel of at least 2"):
        load([{"deconv": {"filters": 2, "kernel": 1, "stride": 2, "padding": "same"}}])


def test_parallel_branches_not_lists_of_layers():
    with pytest.raises(SpecError, match=r"layers\[0\]\.parallel\.branches: branches must be a "
                                        r"non-empty list of branches, each a list of layers"):
        load([{"parallel": {"branches": [conv()]}}])


# ---- shapes ------------------------------------------------------------------------------

def test_kernel_larger_than_its_input_names_the_pooling_before():
    layers = [conv(padding="same"), "relu", {"maxpool": 2}, {"conv": {"filters": 16, "kernel": 5}}]
    message = ("layers[3].conv.kernel: kernel 5 does not fit the 4x4 input volume coming from "
               "layers[2] (maxpool 2 of 8x8). Received: kernel=5. Use padding: same, a kernel of "
               "at most 4, or remove the pooling.")
    with pytest.raises(SpecError, match=re.escape(message)):
        load(layers, input=(1, 8, 8))


def test_kernel_larger_than_padded_input_after_strided_conv():
    with pytest.raises(SpecError, match=r"layers\[1\]\.conv\.kernel: kernel 6 does not fit the 3x3 "
                                        r"input volume padded to 5x5 coming from layers\[0\] \(conv "
                                        r"3 stride 2 of 8x8\)\. Received: kernel=6\. Use padding: "
                                        r"same, a kernel of at most 5, or less downsampling in "
                                        r"layers\[0\]\.") as info:
        load([conv(stride=2), conv(kernel=6, padding=1, filters=2)], input=(1, 8, 8))
    assert info.value.path == "layers[1].conv.kernel"


def test_dilated_kernel_does_not_fit():
    with pytest.raises(SpecError, match=r"layers\[0\]\.conv\.kernel: kernel 3 \(dilation 8 spreads "
                                        r"it over 17x17\) does not fit the 16x16 input volume "
                                        r"coming from the input\. .* a kernel of at most 2, or a "
                                        r"larger input\."):
        load([conv(dilation=8)])


def test_pool_window_larger_than_1d_input():
    with pytest.raises(SpecError, match=r"layers\[0\]\.maxpool\.size: size 9 does not fit the "
                                        r"input sequence of length 8 coming from the input"):
        load([{"maxpool": 9}], input=(2, 8))


def test_input_channels_not_divisible_by_groups():
    with pytest.raises(SpecError, match=r"layers\[1\]\.conv\.groups: the 6 input channels \(from "
                                        r"the input\) are not divisible by groups\. Received: "
                                        r"groups=4\. Use groups that divides 6"):
        load(["relu", {"conv": {"filters": 8, "kernel": 1, "groups": 4}}], input=(6, 4, 4))


def test_conv_in_channels_written_and_wrong():
    with pytest.raises(SpecError, match=r"layers\[0\]\.conv\.in_channels: in_channels 3 does not "
                                        r"match the 1 channels coming from the input"):
        load([conv(in_channels=3)])


def test_reflect_padding_not_smaller_than_the_input():
    with pytest.raises(SpecError, match=r"layers\[1\]\.conv\.padding_mode: padding_mode reflect "
                                        r"needs padding smaller than the input size, but padding "
                                        r"'same' pads 2\+2 along spatial dimension 0 of the 2x2 "
                                        r"input coming from layers\[0\] \(maxpool 8 of 16x16\)"):
        load([{"maxpool": 8}, conv(kernel=5, padding="same", padding_mode="reflect")])


def test_transposed_padding_that_removes_the_whole_output():
    with pytest.raises(SpecError, match=r"layers\[0\]\.conv_transpose\.padding: padding 3 "
                                        r"removes 3\+3 from an output of only 3 along spatial "
                                        r"dimension 0"):
        load([{"conv_transpose": {"filters": 1, "kernel": 3, "padding": [3, 3]}}], input=(1, 1, 1))


def test_dense_in_features_written_and_wrong():
    with pytest.raises(SpecError, match=r"layers\[3\]\.dense\.in_features: in_features 256 does "
                                        r"not match the 196 features coming from layers\[2\] "
                                        r"\(flatten of 7x7\)\. Received: in_features=256\. Leave "
                                        r"in_features out"):
        load([conv(), {"maxpool": 2}, "flatten", {"dense": {"units": 10, "in_features": 256}}])


def test_dense_on_a_volume_says_add_flatten():
    with pytest.raises(SpecError, match=r"layers\[2\]\.dense: dense needs a flat input \(a vector "
                                        r"of features\), but layers\[1\] \(maxpool 2 of 14x14\) "
                                        r"gives a 4x7x7 volume\. Add `- flatten` before this layer "
                                        r"\(giving 196 features\)"):
        load([conv(), {"maxpool": 2}, {"dense": 10}])


def test_conv_after_flatten():
    with pytest.raises(SpecError, match=r"layers\[1\]\.conv: conv needs a volume \(channels x 2-D "
                                        r"spatial\), but layers\[0\] \(flatten of 16x16\) gives 256 "
                                        r"flat features\. Move this layer before the flatten"):
        load(["flatten", conv()])


def test_residual_branches_disagree_names_both_shapes():
    with pytest.raises(SpecError, match=r"layers\[0\]\.residual: residual branches disagree: "
                                        r"layers give 4x14x14, the identity shortcut gives 1x16x16"):
        load([{"residual": {"layers": [conv()]}}])


def test_residual_error_inside_the_body_names_the_nested_path():
    with pytest.raises(SpecError, match=r"layers\[0\]\.residual\.layers\[1\]\.conv\.kernel: "
                                        r"kernel must be positive"):
        load([{"residual": {"layers": ["relu", conv(kernel=0)]}}])


def test_parallel_concat_spatial_mismatch():
    with pytest.raises(SpecError, match=r"layers\[0\]\.parallel\.branches: parallel branches to "
                                        r"concatenate disagree in spatial size: branches\[0\] gives "
                                        r"4x14x14, branches\[1\] gives 4x16x16\. Use padding: same"):
        load([{"parallel": {"branches": [[conv()], [conv(kernel=1)]]}}])


def test_parallel_add_shape_mismatch():
    with pytest.raises(SpecError, match=r"layers\[0\]\.parallel\.merge: parallel branches to add "
                                        r"disagree in shape: branches\[0\] gives 4x14x14, "
                                        r"branches\[1\] gives 2x14x14"):
        load([{"parallel": {"branches": [[conv()], [conv(filters=2)]], "merge": "add"}}])


# ---- top level ---------------------------------------------------------------------------

def test_spec_of_the_wrong_type():
    with pytest.raises(SpecError, match=r"a spec is a path, YAML text, a dict or a Spec\. "
                                        r"Received: \[1, 2\] \(list\)\."):
        S.load([1, 2])


def test_spec_not_a_mapping():
    with pytest.raises(SpecError, match=r"a spec must be a mapping with keys name, input, layers, "
                                        r"model, loss, task, standardize\. Received: \['relu'\] \(list\)\."):
        S.load("- relu\n")


def test_unknown_top_level_key():
    with pytest.raises(SpecError, match=r"lyers: unknown top-level key 'lyers'\. Did you mean "
                                        r"'layers'\? Valid top-level keys: name, input, layers, model, loss, "
                                        r"task, standardize\."):
        S.load({"input": [1, 4, 4], "layers": ["relu"], "lyers": []})


def test_missing_input():
    with pytest.raises(SpecError, match=r"input: missing\. The spec must give the shape of one "
                                        r"input sample, channels first\. Add e\.g\. input: \[1, 28, 28\]"):
        S.load({"layers": ["relu"]})


def test_input_of_wrong_length():
    with pytest.raises(SpecError, match=r"input: input must hold the channels, then 1, 2 or 3 "
                                        r"spatial sizes: 2 to 4 numbers .* Received: "
                                        r"input=\[1, 2, 3, 4, 5\] with 5 numbers\."):
        load(["relu"], input=(1, 2, 3, 4, 5))


def test_input_not_a_list():
    with pytest.raises(SpecError, match=r"input: input must be a list: channels, then 1, 2 or 3 "
                                        r"spatial sizes .* Received: input='28x28' \(str\)\."):
        S.load({"input": "28x28", "layers": ["relu"]})


def test_input_sizes_not_ints():
    with pytest.raises(SpecError, match=r"input: input sizes must be ints\. Received: input=\[1, "
                                        r"28\.0\], whose item 1 is 28\.0 \(float\)\."):
        S.load({"input": [1, 28.0], "layers": ["relu"]})


def test_input_non_positive_sizes():
    with pytest.raises(SpecError, match=r"input: input sizes must be positive; spatial size 0 is "
                                        r"0\. Received: input=\[1, 0, 5\]\."):
        load(["relu"], input=(1, 0, 5))
    with pytest.raises(SpecError, match=r"the channel count is -1"):
        load(["relu"], input=(-1, 5, 5))


def test_missing_layers():
    with pytest.raises(SpecError, match=r"layers: missing\. Add a list of layers"):
        S.load({"input": [1, 4, 4]})


def test_layers_not_a_list():
    with pytest.raises(SpecError, match=r"layers: must be a list of layers .* Received: 'conv' "
                                        r"\(str\)\."):
        S.load({"input": [1, 4, 4], "layers": "conv"})


def test_layers_empty():
    with pytest.raises(SpecError, match=r"layers: is empty; it needs at least one layer\. "
                                        r"Received: \[\]\."):
        load([])


def test_unknown_loss():
    with pytest.raises(SpecError, match=r"loss: unknown loss 'softmax'\. Did you mean "
                                        r"'softmax_cross_entropy'\? Valid losses: "
                                        r"softmax_cross_entropy, sigmoid_cross_entropy, euclidean"):
        load(["relu"], loss="softmax")


def test_name_not_a_string():
    with pytest.raises(SpecError, match=r"name: name must be a non-empty string\. Received: name=5\."):
        load(["relu"], name=5)


# ---- files and YAML ----------------------------------------------------------------------

def test_spec_file_not_found(tmp_path):
    missing = tmp_path / "nets" / "lenet.yaml"
    with pytest.raises(SpecError, match=r"spec file '.*lenet\.yaml' not found \(looked in .*\)\. "
                                        r"Check the path"):
        S.load(str(missing))


def test_invalid_yaml_in_a_file_gives_file_line_and_column(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("input: [1, 8, 8]\nlayers:\n  - conv: {filters: 4, kernel: 3\n  - relu\n")
    with pytest.raises(SpecError, match=rf"{re.escape(str(path))}:5:1: invalid YAML: expected ',' "
                                        r"or '\}', but got '<stream end>' \(while parsing a flow "
                                        r"mapping that starts at line 3, column 11\)\."):
        S.load(path)


def test_invalid_yaml_text_gives_line_and_column():
    with pytest.raises(SpecError, match=r"line 2, column 13: invalid YAML: mapping values are not "
                                        r"allowed here"):
        S.load("input: [1, 8, 8]\nlayers: conv: 3\n")


def test_duplicate_yaml_key():
    with pytest.raises(SpecError, match=r"line 2, column 1: key 'input' appears twice in the same "
                                        r"mapping \(first on line 1\)"):
        S.load("input: [1, 8, 8]\ninput: [1, 9, 9]\nlayers: [relu]\n")


def test_spec_error_in_a_yaml_file_gives_its_line(tmp_path):
    path = tmp_path / "net.yaml"
    path.write_text("input: [1, 5, 5]\nlayers:\n  - relu\n  - conv: {filters: 4, kernel: 7}\n")
    with pytest.raises(SpecError, match=rf"^{re.escape(str(path))}:4:24: layers\[1\]\.conv\.kernel: "
                                        r"kernel 7 does not fit") as info:
        S.load(path)
    assert (info.value.line, info.value.column, info.value.path) == (4, 24, "layers[1].conv.kernel")


# ---- call time ---------------------------------------------------------------------------

@pytest.fixture
def lenet():
    return cnnkit.create_model("lenet5")


def test_call_with_a_missing_batch_dimension(lenet):
    with pytest.raises(ShapeError, match=r"lenet5 expects a 4-D input \(N, C, H, W\) of shape "
                                         r"\(N, 1, 28, 28\)\. Received: input of shape \(1, 28, 28\)\. "
                                         r"Add a batch dimension with x\.unsqueeze\(0\)\."):
        lenet(torch.zeros(1, 28, 28))


def test_call_with_the_wrong_channel_count_names_the_first_layer(lenet):
    with pytest.raises(ShapeError, match=r"lenet5 expects 1 input channel; layers\[0\] \(conv\) was "
                                         r"built for 1\. Received: input of shape \(2, 3, 28, 28\) "
                                         r"with 3 channels\. .* input: \[3, 28, 28\]"):
        lenet(torch.zeros(2, 3, 28, 28))


def test_call_with_a_spatial_size_that_the_dense_layer_was_not_built_for(lenet):
    with pytest.raises(ShapeError, match=r"layers\[7\] \(dense\) was built for an input of 400 "
                                         r"\(from 28x28 network inputs\); a 32x32 input gives it "
                                         r"576\. Resize the inputs to 28x28"):
        lenet(torch.zeros(2, 1, 32, 32))


def test_call_with_a_spatial_size_too_small_for_a_kernel(lenet):
    with pytest.raises(ShapeError, match=r"lenet5 was built for 28x28 inputs; a 6x6 input does not "
                                         r"fit: layers\[2\]\.conv\.kernel: kernel 5 does not fit the "
                                         r"3x3 input volume"):
        lenet(torch.zeros(2, 1, 6, 6))


def test_call_error_inside_a_hand_built_sequence_names_the_layer():
    net = S.build({"input": [2, 8], "layers": [conv(), "relu"]})
    # Swap in a layer expecting other channels: Sequence names layers[i] at call time.
    net.layers[1] = cnnkit.layers.Conv1d(3, 2, 1)
    with pytest.raises(ShapeError, match=r"layers\[1\] \(Conv1d\): Conv1d expects 3 input channels"):
        net(torch.zeros(1, 2, 8))


# ---- library faces -----------------------------------------------------------------------

def test_register_layer_name_taken():
    with pytest.raises(ArgumentError, match=r"layer type 'conv' is already registered \(as "
                                            r"'conv'\)\. .* pass replace=True"):
        S.register_layer(name="conv", layer=cnnkit.layers.ReLU)


def test_register_layer_unknown_part():
    with pytest.raises(ArgumentError, match=r"register_layer got unknown parts \['shape'\]"):
        S.register_layer(name="mine", shape=lambda *a: a)


def test_spec_of_a_module_with_no_layer_type():
    with pytest.raises(SpecError, match=r"LSTM has no layer type in the spec catalogue, so it "
                                        r"cannot be written as a spec\. Known modules: .*Conv.* Register one with "
                                        r"cnnkit\.spec\.register_layer"):
        S.from_module(nn.Sequential(nn.LSTM(4, 4)), (1, 4))


def test_python_face_too_many_positional_values():
    with pytest.raises(ArgumentError, match=r"conv\(\) takes at most 2 positional values "
                                            r"\(filters, kernel\)\. Received: 3 values"):
        S.conv(4, 3, 1)


def test_create_model_unknown_name():
    with pytest.raises(ArgumentError, match=r"unknown model 'lenet'\. Did you mean 'lenet5'\? "
                                            r"Registered models: .*lenet5"):
        cnnkit.create_model("lenet")


def test_create_model_unknown_setting():
    with pytest.raises(ArgumentError, match=r"model 'lenet5' does not take 'num_class'\. Did you "
                                            r"mean 'num_classes'\? Settings it takes: num_classes, "
                                            r"activation, input_shape, pool\."):
        cnnkit.create_model("lenet5", num_class=3)


def test_create_model_bad_setting_value_is_a_spec_error():
    with pytest.raises(SpecError, match=r"layers\[7\]\.dense\.units: units must be positive\. "
                                        r"Received: units=0\."):
        cnnkit.create_model("lenet5", num_classes=0)


def test_summary_of_a_plain_module_needs_an_input_shape():
    with pytest.raises(ArgumentError, match=r"summary of a Sequential \(not built from a spec\) "
                                            r"needs the shape of one input sample\. Received: "
                                            r"input_shape=None\."):
        cnnkit.summary(nn.Sequential(nn.Conv2d(1, 2, 3)))


def test_output_padding_with_same_padding_on_a_transposed_conv():
    with pytest.raises(SpecError, match=r"layers\[0\]\.conv_transpose\.output_padding: "
                                        r"output_padding cannot be combined with padding: same"):
        load([{"conv_transpose": {"filters": 2, "kernel": 3, "stride": 2, "padding": "same",
                                  "output_padding": 1}}])
