"""The reference oracle of every layer class: a function (module, x) -> the oracle's output.

Each entry runs the slow loop implementation in :mod:`cnnkit.reference` with the module's
own weights and settings, in the module's evaluation behaviour. ``tests/test_layer_faces.py``
fails for a registered layer type whose class has no entry here.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn

from cnnkit import layers as L
from cnnkit.functional.fractional_pool import fractional_max_pool
from cnnkit.reference import activation as ref_activation
from cnnkit.reference import channel_pool as ref_channel
from cnnkit.reference import conv as ref_conv
from cnnkit.reference import dense as ref_dense
from cnnkit.reference import dropconnect as ref_dropconnect
from cnnkit.reference import embedding as ref_embedding
from cnnkit.reference import fractional_pool as ref_fractional
from cnnkit.reference import gated_conv as ref_gated
from cnnkit.reference import local as ref_local
from cnnkit.reference import norm as ref_norm
from cnnkit.reference import pool as ref_pool
from cnnkit.reference import pyramid_pool as ref_pyramid
from cnnkit.reference import rbf as ref_rbf
from cnnkit.reference import roi_pool as ref_roi
from cnnkit.reference import s_cell as ref_s_cell
from cnnkit.reference import scaled_tanh as ref_scaled_tanh
from cnnkit.reference import separable_kernel as ref_separable
from cnnkit.reference import standardize as ref_standardize
from cnnkit.reference import stochastic_pool as ref_stochastic
from cnnkit.reference import subsample as ref_subsample
from cnnkit.reference import table_conv as ref_table
from cnnkit.reference import tiled as ref_tiled

__all__ = ["ORACLES", "oracle"]


def _np(t):
    return None if t is None else t.detach().double().numpy()


def _conv_args(m):
    return dict(stride=m.stride, padding=m.padding, dilation=m.dilation, groups=m.groups,
                padding_mode=m.padding_mode)


def _conv(m, x):
    return ref_conv.conv(x, _np(m.weight), _np(m.bias), flip=m.flip, **_conv_args(m))


def _conv_transpose(m, x):
    size = m.spatial_output(x.shape[2:])
    return ref_conv.conv_transpose(x, _np(m.weight), _np(m.bias), m.stride, m.padding,
                                   m.dilation, m.groups, output_size=size)


def _separable_conv(m, x):
    return ref_conv.depthwise_separable_conv(
        x, _np(m.depthwise.weight), _np(m.pointwise.weight), _np(m.pointwise.bias), m.stride,
        m.padding, m.dilation, m.padding_mode)


def _separable_kernel(m, x):
    kernel = ref_separable.separable_kernel([_np(f) for f in m.factors])
    return ref_conv.conv(x, kernel, _np(m.bias), flip=m.flip, **_conv_args(m))


def _dropconnect_conv(m, x):
    # Evaluation, the "mean" rule: the expected kernel (1 - p) W, then the inner activation.
    args = {**_conv_args(m), "flip": m.flip}
    mu, _ = ref_dropconnect.conv_moments(x, _np(m.weight), _np(m.bias), m.p, **args)
    return mu if m.activation is None else ref_activation.activation(mu, m.activation)


def _dropconnect_dense(m, x):
    mu, _ = ref_dropconnect.dense_moments(x, _np(m.weight), _np(m.bias), m.p)
    return mu if m.activation is None else ref_activation.activation(mu, m.activation)


def _window(fn):
    def run(m, x):
        return fn(x, m.kernel, m.stride, m.padding, m.dilation, m.ceil_mode)
    return run


def _fractional(m, x):
    # Regions are random in every mode: draw the module's regions again from the same seed.
    torch.manual_seed(0)
    regions = fractional_max_pool(torch.as_tensor(x), m.ratio, m.output_size,
                                  overlapping=m.overlapping, pseudo_random=m.pseudo_random,
                                  return_regions=True)[1]
    out, _ = ref_fractional.fractional_max_pool(x, [r.numpy() for r in regions], m.overlapping)
    return out


def _activation(m, x):
    return ref_activation.activation(x, m.name, getattr(m, "negative_slope", 0.01),
                                     getattr(m, "approximate", "none"))


def _gated_conv(m, x):
    # The layer stacks the filter kernels, then the gate kernels.
    w, b, half = _np(m.weight), _np(m.bias), m.out_channels
    return ref_gated.gated_conv(x, w[:half], w[half:], None if b is None else b[:half],
                                None if b is None else b[half:], m.stride, m.padding,
                                m.dilation, m.padding_mode)


def _batchnorm(m, x):
    return ref_norm.batch_norm(x, _np(m.weight), _np(m.bias), m.eps, _np(m.running_mean),
                               _np(m.running_var))


ORACLES = {
    L.Conv: _conv,
    L.FFTConv: _conv,
    L.ConvTranspose: _conv_transpose,
    L.SeparableConv: _separable_conv,
    L.SeparableKernelConv: _separable_kernel,
    L.LocallyConnected: lambda m, x: ref_local.locally_connected(
        x, _np(m.weight), _np(m.bias), **_conv_args(m)),
    L.LocallyConnectedTranspose: lambda m, x: ref_local.locally_connected_transpose(
        x, _np(m.weight), _np(m.bias), m.stride, m.padding, m.dilation, m.groups,
        output_size=m.out_size),
    L.TiledConv: lambda m, x: ref_tiled.tiled_conv(x, _np(m.weight), _np(m.bias),
                                                   **_conv_args(m)),
    L.DropConnectConv: _dropconnect_conv,
    L.DropConnectDense: _dropconnect_dense,
    L.MaxPool: _window(ref_pool.max_pool),
    L.AvgPool: lambda m, x: ref_pool.avg_pool(x, m.kernel, m.stride, m.padding, m.dilation,
                                              m.ceil_mode, m.count_include_pad),
    L.LpPool: lambda m, x: ref_pool.lp_pool(x, m.p, m.kernel, m.stride, m.padding, m.dilation,
                                            m.ceil_mode),
    L.StochasticPool: lambda m, x: ref_stochastic.stochastic_pool(
        x, m.kernel, m.stride, m.padding, m.dilation, m.ceil_mode, training=False)[0],
    L.GlobalMaxPool: lambda m, x: ref_pool.global_max_pool(x),
    L.GlobalAvgPool: lambda m, x: ref_pool.global_avg_pool(x),
    L.GlobalLpPool: lambda m, x: ref_pool.global_lp_pool(x, m.p),
    L.AdaptiveMaxPool: lambda m, x: ref_pool.adaptive_max_pool(x, m.output_size),
    L.AdaptiveAvgPool: lambda m, x: ref_pool.adaptive_avg_pool(x, m.output_size),
    L.FractionalMaxPool: _fractional,
    L.ChannelPool: lambda m, x: ref_channel.channel_pool(x, m.k, m.mode, m.p),
    L.SpatialPyramidPool: lambda m, x: ref_pyramid.spatial_pyramid_pool(x, m.levels, m.mode),
    L.FixedRoIMaxPool: lambda m, x: ref_roi.fixed_roi_max_pool(x, m.boxes, m.output_size,
                                                               m.spatial_scale, m.bins),
    L.Activation: _activation,
    L.Dense: lambda m, x: ref_dense.dense(x, _np(m.weight), _np(m.bias)),
    L.Flatten: lambda m, x: ref_dense.flatten(x),
    L.Dropout: lambda m, x: ref_dense.dropout(x, np.ones_like(x), 0.0),  # evaluation: identity
    L.BatchNorm: _batchnorm,
    L.Embedding: lambda m, x: ref_embedding.embedding(x, _np(m.weight)),
    L.LocalResponseNorm: lambda m, x: ref_norm.lrn(x, m.size, m.alpha, m.beta, m.k),
    L.ScaledTanh: lambda m, x: ref_scaled_tanh.scaled_tanh(x),
    L.Subsample: lambda m, x: ref_subsample.subsample(x, _np(m.weight), _np(m.bias), m.kernel,
                                                      m.stride),
    L.TableConv: lambda m, x: ref_table.table_conv(
        x, _np(m.weight), m.rows(m.settings()), _np(m.bias), m.stride, m.padding, m.dilation,
        m.padding_mode),
    L.RBF: lambda m, x: ref_rbf.rbf(x, _np(m.weight)),
    L.GatedConv: _gated_conv,
    L.SCell: lambda m, x: ref_s_cell.s_cell(x, _np(m.weight), m.threshold, m.stride, m.padding,
                                            m.dilation),
    L.Standardize: lambda m, x: ref_standardize.standardize(x, m.mean, m.std),
}


def oracle(module: nn.Module, x: np.ndarray) -> np.ndarray:
    """The oracle's output for ``module`` (containers: their children's oracles composed).

    Raises:
        KeyError: a layer class without an oracle.
    """
    if isinstance(module, nn.Sequential):
        for child in module:
            x = oracle(child, x)
        return x
    if isinstance(module, L.Residual):
        skip = x if isinstance(module.shortcut, nn.Identity) else oracle(module.shortcut, x)
        return oracle(module.body, x) + skip
    if isinstance(module, L.Parallel):
        outs = [x if isinstance(b, nn.Identity) else oracle(b, x) for b in module.branches]
        return sum(outs) if module.merge == "add" else np.concatenate(outs, axis=1)
    for cls in type(module).__mro__:
        if cls in ORACLES:
            return ORACLES[cls](module, x)
    raise KeyError(f"{type(module).__name__} has no oracle in tests/layer_oracles.py")
