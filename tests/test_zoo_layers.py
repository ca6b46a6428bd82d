"""The building blocks of the zoo's historic networks, against their loop oracles forward
and backward (float64), with gradcheck and the pinned errors: causal padding (WaveNet),
the scaled tanh, trainable subsampling, the connection-table convolution and the RBF
output units (LeNet-5), the gated convolution (WaveNet) and the S-cells (neocognitron).
What tests/test_layer_faces.py checks for every type (spec, round trips, shapes, summary,
ONNX) is not repeated here."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cnnkit import layers as L
from cnnkit import spec as S
from cnnkit._validation import ArgumentError, ArgumentTypeError, ShapeError, SpecError
from cnnkit.functional import shapes
from cnnkit.functional.gated_conv import gated_conv
from cnnkit.functional.rbf import bitmap_codes, rbf
from cnnkit.functional.s_cell import s_cell
from cnnkit.functional.scaled_tanh import scaled_tanh
from cnnkit.functional.subsample import subsample
from cnnkit.functional.table_conv import TABLES, check_table, table_conv
from cnnkit.reference import conv as ref_conv
from cnnkit.reference import gated_conv as ref_gated
from cnnkit.reference import rbf as ref_rbf
from cnnkit.reference import s_cell as ref_s_cell
from cnnkit.reference import scaled_tanh as ref_scaled_tanh
from cnnkit.reference import subsample as ref_subsample
from cnnkit.reference import table_conv as ref_table
from cnnkit.reference.gradcheck import numeric_vjp

TOL = dict(rtol=1e-9, atol=1e-10)


def rand(*shape, seed=0, low=-1.0, high=1.0):
    rng = np.random.default_rng(seed)
    return torch.tensor(rng.uniform(low, high, shape), dtype=torch.float64, requires_grad=True)


def check_against(fast, oracle, inputs, seed=0):
    """Forward equal, and each input's gradient equal to the oracle's numeric VJP."""
    out = fast(*inputs)
    np.testing.assert_allclose(out.detach().numpy(),
                               oracle(*[i.detach().numpy() for i in inputs]), **TOL)
    upstream = np.random.default_rng(seed + 1).normal(size=out.shape)
    grads = torch.autograd.grad(out, inputs, torch.tensor(upstream))
    for k, grad in enumerate(grads):
        def at(value, k=k):
            args = [i.detach().numpy() for i in inputs]
            args[k] = value
            return oracle(*args)
        np.testing.assert_allclose(grad.numpy(), numeric_vjp(at, inputs[k].detach().numpy(),
                                                             upstream), rtol=1e-5, atol=1e-6)


# ---- causal padding --------------------------------------------------------------------

@pytest.mark.parametrize("kernel, dilation, stride, size", [
    (2, 1, 1, 9), (3, 2, 1, 10), (2, 4, 1, 12), (3, 1, 2, 9), (4, 3, 3, 13)])
def test_causal_padding_pads_before_only_and_matches_the_oracle(kernel, dilation, stride, size):
    assert shapes.padding_pairs("causal", (kernel,), (stride,), (dilation,)) == (
        (dilation * (kernel - 1), 0),)
    x, w = rand(1, 2, size), rand(3, 2, kernel, seed=1)
    fast = L.Conv1d(2, 3, kernel, stride=stride, padding="causal", dilation=dilation,
                    bias=False).double()
    with torch.no_grad():
        fast.weight.copy_(w)
    out = fast(x)
    assert out.shape[-1] == -(-size // stride)                    # ceil(W / S)
    np.testing.assert_allclose(out.detach().numpy(), ref_conv.conv(
        x.detach().numpy(), w.detach().numpy(), stride=stride, padding="causal",
        dilation=dilation), **TOL)


def test_causal_output_never_sees_a_later_input():
    layer = L.Conv1d(1, 2, 3, padding="causal", dilation=2).double()
    x = rand(1, 1, 20)
    before = layer(x).detach()
    later = x.detach().clone()
    later[..., 12:] += 5.0
    after = layer(later).detach()
    assert torch.equal(before[..., :12], after[..., :12])
    assert not torch.equal(before[..., 12:], after[..., 12:])


def test_causal_padding_in_a_spec_in_2d_and_for_pooling():
    net = S.build({"input": [1, 6, 6], "layers": [
        {"conv": {"filters": 2, "kernel": [2, 3], "padding": "causal"}},
        {"maxpool": {"size": 2, "stride": 1, "padding": "causal"}}]})
    assert net.output_shape == (2, 6, 6)
    assert net.spec()["layers"][0]["conv"]["padding"] == "causal"
    assert S.load(net.to_yaml()) == S.load(net.spec())
    with pytest.raises(SpecError, match=r"padding must be one of 'valid', 'same', 'full', "
                                        r"'causal'\. Received: padding='casual'\. Did you mean "
                                        r"'causal'\?"):
        S.load({"input": [1, 8], "layers": [{"conv": {"filters": 1, "kernel": 2,
                                                      "padding": "casual"}}]})


# ---- scaled tanh -----------------------------------------------------------------------

def test_scaled_tanh_maps_plus_minus_one_to_plus_minus_one_and_matches_the_oracle():
    values = scaled_tanh(torch.tensor([-1.0, 1.0], dtype=torch.float64))
    np.testing.assert_allclose(values.numpy(), [-1.0, 1.0], atol=1e-4)
    x = rand(3, 5)
    np.testing.assert_allclose(L.ScaledTanh()(x).detach().numpy(),
                               ref_scaled_tanh.scaled_tanh(x.detach().numpy()), **TOL)
    assert torch.autograd.gradcheck(scaled_tanh, (x,))
    net = S.build({"input": [1, 4], "layers": ["flatten", {"dense": {"units": 3, "activation": "scaled_tanh"}}]})
    assert isinstance(net.layers[2], L.ScaledTanh)


# ---- subsampling -----------------------------------------------------------------------

@pytest.mark.parametrize("shape, kernel, stride", [
    ((2, 3, 8), (2,), None), ((1, 2, 5, 7), (2, 3), (2, 2)), ((1, 1, 4, 4, 3), (2, 2, 2), None)])
def test_subsample_matches_the_oracle_forward_and_backward(shape, kernel, stride):
    x, w, b = rand(*shape), rand(shape[1], seed=2), rand(shape[1], seed=3)
    check_against(lambda x, w, b: subsample(x, w, b, kernel, stride),
                  lambda x, w, b: ref_subsample.subsample(x, w, b, kernel, stride), [x, w, b])
    assert torch.autograd.gradcheck(lambda x, w, b: subsample(x, w, b, kernel, stride), (x, w, b))


def test_subsample_layer_has_two_parameters_per_map_and_starts_as_average_pooling():
    layer = L.Subsample(6, 2).double()
    assert sum(p.numel() for p in layer.parameters()) == 12
    x = rand(2, 6, 8, 8)
    np.testing.assert_allclose(layer(x).detach().numpy(),
                               torch.nn.functional.avg_pool2d(x, 2).detach().numpy(), **TOL)
    with pytest.raises(ShapeError, match=r"subsample takes one weight value per channel: shape "
                                         r"\(3,\) for an input of 3 channels\. Received: "
                                         r"weight\.shape=\(2,\)"):
        subsample(torch.zeros(1, 3, 4, 4), torch.ones(2), None, 2)
    with pytest.raises(SpecError, match=r"layers\[0\]\.subsample\.size: size 4 does not fit the "
                                        r"3x3 input coming from the input\. Received: size=4\. Use "
                                        r"a size of at most 3, or a larger input\."):
        S.load({"input": [1, 3, 3], "layers": [{"subsample": 4}]})


# ---- connection table ------------------------------------------------------------------

def test_lenet5_c3_table_is_table_one_of_the_paper():
    rows = TABLES["lenet5_c3"]
    assert len(rows) == 16 and sum(len(r) for r in rows) == 60
    assert [len(r) for r in rows] == [3] * 6 + [4] * 9 + [6]
    # every S2 map feeds 10 of the 16 C3 maps
    assert [sum(m in r for r in rows) for m in range(6)] == [10] * 6
    c3 = L.TableConv2d(6, "lenet5_c3", 5)
    assert sum(p.numel() for p in c3.parameters()) == 1516


@pytest.mark.parametrize("table, shape, kernel, stride, padding, dilation", [
    ([[0], [0, 1], [1]], (2, 2, 9), 3, 1, "valid", 1),
    ([[1, 2], [0]], (1, 3, 10), 2, 2, "causal", 2),
    ([[0, 2], [1], [0, 1, 2]], (1, 3, 5, 6), (2, 3), 1, "same", 1),
    ([[1], [0, 1]], (1, 2, 3, 4, 3), 2, (1, 2, 1), 1, 1)])
def test_table_conv_matches_the_oracle_forward_and_backward(table, shape, kernel, stride,
                                                            padding, dilation):
    n = len(shape) - 2
    k = (kernel,) * n if isinstance(kernel, int) else kernel
    x = rand(*shape)
    w = rand(sum(len(r) for r in table), *k, seed=4)
    b = rand(len(table), seed=5)
    args = dict(stride=stride, padding=padding, dilation=dilation)
    check_against(lambda x, w, b: table_conv(x, w, table, b, **args),
                  lambda x, w, b: ref_table.table_conv(x, w, table, b, **args), [x, w, b])
    assert torch.autograd.gradcheck(lambda x, w: table_conv(x, w, table, None, **args), (x, w))


def test_an_output_map_ignores_the_input_maps_its_row_leaves_out():
    layer = L.TableConv2d(3, [[0], [1, 2]], 3).double()
    x = rand(1, 3, 6, 6)
    moved = x.detach().clone()
    moved[:, 1:] += 3.0
    out, changed = layer(x).detach(), layer(moved).detach()
    assert torch.equal(out[:, 0], changed[:, 0])
    assert not torch.equal(out[:, 1], changed[:, 1])
    assert (layer.full_kernel()[0, 1:] == 0).all() and (layer.full_kernel()[1, 0] == 0).all()


def test_connection_table_errors():
    with pytest.raises(ArgumentError, match=r"connection_table reads input map 3, but the input "
                                            r"has 3 channels\. Received: connection_table="
                                            r"\[\[0\], \[3\]\]\. Use maps 0 to 2"):
        L.TableConv2d(3, [[0], [3]], 3)
    with pytest.raises(SpecError, match=r"layers\[0\]\.table_conv\.connection_table: "
                                        r"connection_table reads input map 5, but the input has 1 "
                                        r"channels coming from the input"):
        S.load({"input": [1, 8, 8], "layers": [{"table_conv": {"connection_table": "lenet5_c3",
                                                               "kernel": 5}}]})
    with pytest.raises(ArgumentError, match=r"connection_table\[1\] must list distinct input "
                                            r"maps, each at least 0\. Received: "
                                            r"connection_table\[1\]=\[1, 1\]"):
        check_table([[0], [1, 1]])
    with pytest.raises(ArgumentTypeError, match=r"connection_table must be a non-empty list with "
                                                r"one list of input maps per output map"):
        check_table([])
    with pytest.raises(ArgumentError, match=r"connection_table must be one of 'lenet5_c3'"):
        check_table("lenet5")


# ---- RBF output units ------------------------------------------------------------------

def test_rbf_matches_the_oracle_forward_and_backward():
    x, centres = rand(4, 6), rand(3, 6, seed=6)
    check_against(rbf, ref_rbf.rbf, [x, centres])
    assert torch.autograd.gradcheck(rbf, (x, centres))


def test_rbf_with_the_bitmap_codes_predicts_the_nearest_code_and_learns_nothing():
    layer = L.RBF(84, 10, codes="bitmap")
    assert sum(p.numel() for p in layer.parameters()) == 0
    codes = bitmap_codes(10)
    # the ten bitmaps differ from each other, so each is its own class
    assert torch.cdist(codes, codes).add(torch.eye(10)).min() > 0
    noisy = codes + 0.3 * torch.randn(10, 84, generator=torch.Generator().manual_seed(0))
    assert layer(noisy).argmax(dim=1).tolist() == list(range(10))
    assert layer(codes).max(dim=1).values.abs().max() == 0


def test_rbf_errors():
    with pytest.raises(ArgumentError, match=r"codes='bitmap' compares the input with 7x12 "
                                            r"bitmaps, so it needs 84 input features\. Received: "
                                            r"in_features=80"):
        L.RBF(80, 10, codes="bitmap")
    with pytest.raises(ArgumentError, match=r"codes='bitmap' holds the bitmaps of the ten digits, "
                                            r"so it serves at most 10 units\. Received: units=26\. "
                                            r"Use codes='learned'"):
        L.RBF(84, 26, codes="bitmap")
    with pytest.raises(SpecError, match=r"layers\[1\]\.rbf\.codes: codes='bitmap' .* needs 84 "
                                        r"input features\. Received: in_features=16 coming from "
                                        r"layers\[0\]"):
        S.load({"input": [1, 4, 4], "layers": ["flatten", {"rbf": {"units": 3, "codes": "bitmap"}}]})


# ---- gated convolution -----------------------------------------------------------------

@pytest.mark.parametrize("shape, kernel, padding, dilation", [
    ((2, 2, 12), 2, "causal", 4), ((1, 2, 9), 3, "same", 1), ((1, 2, 3, 4), (2, 2), "causal", 1)])
def test_gated_conv_matches_the_oracle_forward_and_backward(shape, kernel, padding, dilation):
    n = len(shape) - 2
    k = (kernel,) * n if isinstance(kernel, int) else kernel
    x, w, b = rand(*shape), rand(6, shape[1], *k, seed=7), rand(6, seed=8)
    args = dict(padding=padding, dilation=dilation)
    check_against(lambda x, w, b: gated_conv(x, w, b, **args),
                  lambda x, w, b: ref_gated.gated_conv(x, w[:3], w[3:], b[:3], b[3:], **args),
                  [x, w, b])
    assert torch.autograd.gradcheck(lambda x, w, b: gated_conv(x, w, b, **args), (x, w, b))


def test_gated_conv_output_is_bounded_and_the_layer_holds_two_kernel_sets():
    layer = L.GatedConv1d(4, 8, 2, padding="causal")
    assert layer.weight.shape == (16, 4, 2) and layer.bias.shape == (16,)
    out = layer.double()(torch.randn(3, 4, 30, dtype=torch.float64))
    assert out.abs().max() < 1
    with pytest.raises(ShapeError, match=r"gated_conv takes the filter and the gate kernels "
                                         r"stacked, 2 \* C_out of them\. Received: "
                                         r"weight\.shape=\(3, 1, 2\)"):
        gated_conv(torch.zeros(1, 1, 5), torch.zeros(3, 1, 2))


# ---- S-cells ---------------------------------------------------------------------------

@pytest.mark.parametrize("shape, kernel, threshold, stride, padding", [
    ((2, 2, 9), 3, 0.3, 1, "valid"), ((1, 2, 6, 7), (3, 2), 0.6, 2, "same"),
    ((1, 1, 3, 3, 3), 2, 0.0, 1, 1)])
def test_s_cell_matches_the_oracle_forward_and_backward(shape, kernel, threshold, stride,
                                                        padding):
    n = len(shape) - 2
    k = (kernel,) * n if isinstance(kernel, int) else kernel
    x, w = rand(*shape, low=0.1), rand(3, shape[1], *k, seed=9)
    args = dict(stride=stride, padding=padding)
    check_against(lambda x, w: s_cell(x, w, threshold, **args),
                  lambda x, w: ref_s_cell.s_cell(x, w, threshold, **args), [x, w])
    assert torch.autograd.gradcheck(lambda x, w: s_cell(x, w, threshold, **args), (x, w))


def test_s_cell_fires_on_shape_not_brightness():
    layer = L.SCell2d(1, 4, 3, threshold=0.8).double()
    x = rand(2, 1, 7, 7, low=0.0)
    # brighter by a factor: the same cells fire, in proportion
    np.testing.assert_allclose(layer(5 * x).detach().numpy(), 5 * layer(x).detach().numpy(),
                               **TOL)
    # a window equal to a kernel fires; its opposite pattern cannot
    kernel = layer.weight[0, 0].detach()
    assert layer(kernel.view(1, 1, 3, 3))[0, 0, 0, 0] > 0
    # an all-zero window: no response and a finite gradient
    zero = torch.zeros(1, 1, 5, 5, dtype=torch.float64, requires_grad=True)
    layer(zero).sum().backward()
    assert torch.isfinite(zero.grad).all()
    with pytest.raises(ArgumentError, match=r"threshold must be in \[0, 1\) \(the smallest cosine "
                                            r"that fires\)\. Received: threshold=1"):
        L.SCell2d(1, 4, 3, threshold=1)
