"""Convolution by loops, written straight from Goodfellow et al. 2016 (Deep Learning, ch. 9).

The book indexes from 1; here indices start at 0, which removes the ``- 1`` terms. For
an input ``V`` (channels ``l``), a kernel stack ``K`` (output channel ``i``, input
channel ``l``, tap ``m``), stride ``s`` and dilation ``d``, with one spatial axis shown
(every spatial axis works the same way):

* eq 9.7-9.8, strided multichannel cross-correlation:
  ``Z[i, j] = sum_{l, m} V[l, j*s + m*d] K[i, l, m]``
* eq 9.4-9.5, true convolution (``flip=True``): the kernel index runs backwards as the
  input index runs forwards, ``Z[i, j] = sum_{l, m} V[l, j*s + (k-1-m)*d] K[i, l, m]``
* eq 9.11, the kernel gradient: ``g[i, l, m] = sum_j G[i, j] V[l, j*s + m*d]``
* eq 9.12-9.13, the input gradient (also the transposed convolution):
  ``h[l, p] = sum_{i} sum_{j, m : j*s + m*d = p} K[i, l, m] G[i, j]``

Padding is explicit: a ``(lo, hi)`` pair per spatial axis, or a name defined by its
property in section 9.5 (``valid``: none; ``same``: just enough for ``ceil(W / s)``
outputs, an odd total puts the extra pixel on the high side; ``full``: every input pixel
is visited by every kernel tap; ``causal``: no output sees an input after its own
position, van den Oord et al. 2016). A batch axis comes first everywhere.

These loops are slow on purpose: they are test oracles, not the fast path.
"""

from __future__ import annotations

import math

import numpy as np

from .._validation import ArgumentError, ShapeError

__all__ = [
    "NUMPY_PAD_MODES",
    "bias_grad",
    "conv",
    "conv_transpose",
    "depthwise_separable_conv",
    "input_grad",
    "kernel_grad",
    "output_size",
    "pad",
    "pad_adjoint",
    "resolve_padding",
]

# cnnkit's padding modes and the np.pad mode that implements each.
NUMPY_PAD_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "edge",
                   "circular": "wrap"}

_ALL = slice(None)


def _per_dim(value, n: int) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, (tuple, list)) else (int(value),) * n


def _span(kernel: int, dilation: int) -> int:
    """Input pixels a dilated kernel covers, from its first tap to its last."""
    return (kernel - 1) * dilation + 1


def _window_starts(padded: int, span: int, stride: int) -> range:
    """Every start (in padded coordinates) where a whole window fits, ``stride`` apart."""
    return range(0, padded - span + 1, stride)


def output_size(size, kernel, stride=1, pairs=None, dilation=1) -> tuple[int, ...]:
    """Number of window positions per axis, counted rather than computed by formula.

    Example:
        >>> output_size((7,), (3,), (2,), ((1, 1),))
        (4,)
    """
    n = len(size)
    stride, dilation = _per_dim(stride, n), _per_dim(dilation, n)
    pairs = pairs or ((0, 0),) * n
    return tuple(
        len(_window_starts(w + lo + hi, _span(k, d), s))
        for w, k, s, (lo, hi), d in zip(size, kernel, stride, pairs, dilation)
    )


def resolve_padding(padding, size, kernel, stride=1, dilation=1) -> tuple[tuple[int, int], ...]:
    """Explicit ``(lo, hi)`` zero-padding pairs for a padding name, int, ints or pairs.

    ``same`` is found by search from its definition, not from a closed formula: the
    smallest total padding that gives ``ceil(W / s)`` window positions, split so that the
    high side gets the extra pixel when the total is odd.

    Example:
        >>> resolve_padding("same", (7,), (2,), (2,))
        ((0, 1),)
        >>> resolve_padding("full", (5, 5), (3, 3), dilation=(1, 2))
        ((2, 2), (4, 4))
    """
    n = len(kernel)
    stride, dilation = _per_dim(stride, n), _per_dim(dilation, n)
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * n
        if padding == "full":
            # A kernel tap at the far end must reach the first input pixel: span - 1 zeros.
            return tuple((_span(k, d) - 1,) * 2 for k, d in zip(kernel, dilation))
        if padding == "causal":
            # Output j must see input j * s as its newest sample and nothing after it: the
            # window's last tap lands on padded index j * s + span - 1 = j * s + lo.
            return tuple((_span(k, d) - 1, 0) for k, d in zip(kernel, dilation))
        if padding == "same":
            pairs = []
            for w, k, s, d in zip(size, kernel, stride, dilation):
                wanted = math.ceil(w / s)
                total = 0
                while len(_window_starts(w + total, _span(k, d), s)) < wanted:
                    total += 1
                pairs.append((total // 2, total - total // 2))
            return tuple(pairs)
        raise ArgumentError(
            f"padding must be 'valid', 'same', 'full', 'causal', an int or (lo, hi) pairs. "
            f"Received: padding={padding!r}."
        )
    if isinstance(padding, int):
        return ((padding, padding),) * n
    return tuple(tuple(p) if isinstance(p, (tuple, list)) else (p, p) for p in padding)


def pad(V: np.ndarray, pairs, mode: str = "zeros") -> np.ndarray:
    """Pad the spatial axes of ``V`` (N, C, *S) by ``(lo, hi)`` pairs with ``np.pad``.

    Example:
        >>> pad(np.arange(3.0).reshape(1, 1, 3), [(2, 1)], "reflect")[0, 0]
        array([2., 1., 0., 1., 2., 1.])
    """
    if mode not in NUMPY_PAD_MODES:
        raise ArgumentError(
            f"padding_mode must be one of {', '.join(map(repr, NUMPY_PAD_MODES))}. "
            f"Received: padding_mode={mode!r}."
        )
    widths = ((0, 0), (0, 0)) + tuple(tuple(p) for p in pairs)
    return np.pad(V, widths, mode=NUMPY_PAD_MODES[mode])


def pad_adjoint(dP: np.ndarray, pairs, mode: str, size) -> np.ndarray:
    """Gradient through :func:`pad`: each padded pixel hands its gradient to the input
    pixel it is a copy of (reflect, replicate, circular) or to nobody (zeros).

    The copy each padded pixel comes from is found by padding an index ramp with the same
    ``np.pad`` mode, so the map is exactly the forward one.

    Example:
        >>> pad_adjoint(np.ones((1, 1, 5)), [(1, 1)], "replicate", (3,))[0, 0]
        array([2., 1., 2.])
    """
    sources = []
    for (lo, hi), w in zip(pairs, size):
        ramp = np.arange(w)
        if mode == "zeros":
            sources.append(np.pad(ramp, (lo, hi), mode="constant", constant_values=-1))
        else:
            sources.append(np.pad(ramp, (lo, hi), mode=NUMPY_PAD_MODES[mode]))
    dV = np.zeros(dP.shape[:2] + tuple(size))
    for p in np.ndindex(*dP.shape[2:]):
        source = tuple(int(src[q]) for src, q in zip(sources, p))
        if min(source) >= 0:
            dV[(_ALL, _ALL) + source] += dP[(_ALL, _ALL) + p]
    return dV


def _tap_position(j, m, stride, dilation, kernel, flip):
    """Input position (padded coordinates) that kernel tap ``m`` of output ``j`` reads.

    Cross-correlation (eq 9.6, 9.8): ``j*s + m*d``. Convolution (eq 9.4-9.5): the kernel
    is flipped, so tap ``m`` reads ``j*s + (k-1-m)*d``.
    """
    if flip:
        return tuple(jj * s + (k - 1 - mm) * d
                     for jj, mm, s, d, k in zip(j, m, stride, dilation, kernel))
    return tuple(jj * s + mm * d for jj, mm, s, d in zip(j, m, stride, dilation))


def _groups(in_channels: int, out_channels: int, groups: int):
    """Channel slices of each group (Goodfellow et al. 2016, fig. 9.15): output group g sees
    input group g."""
    if in_channels % groups or out_channels % groups:
        raise ArgumentError(
            f"groups must divide both channel counts. Received: groups={groups}, "
            f"in_channels={in_channels}, out_channels={out_channels}."
        )
    ci, co = in_channels // groups, out_channels // groups
    return [(slice(g * ci, (g + 1) * ci), slice(g * co, (g + 1) * co)) for g in range(groups)]


def conv(V, K, bias=None, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros",
         flip=False) -> np.ndarray:
    """Multichannel strided convolution by loops: Goodfellow et al. 2016, eq. 9.7-9.8
    (and 9.4-9.6).

    ``Z[b, i, j] = sum_{l, m} P[b, l, j*s + m*d] K[i, l, m] (+ bias)`` where ``P`` is the
    padded input, ``l`` runs over the input channels of output channel ``i``'s group and
    ``m`` over the kernel taps (``(k-1-m)`` in place of ``m`` when ``flip``).

    Args:
        V: input ``(N, C_in, *W)``.
        K: kernel stack ``(C_out, C_in / groups, *k)``.
        bias: ``(C_out,)`` shared over locations, ``(C_out, *O)`` untied (one per output
            location, section 9.5), or None.
        stride, dilation: int or one per axis.
        padding: name, int, or ``(lo, hi)`` pairs (see :func:`resolve_padding`).
        groups: channel groups.
        padding_mode: ``zeros``, ``reflect``, ``replicate`` or ``circular``.
        flip: true convolution (eq 9.4) instead of cross-correlation (eq 9.6).

    Shape:
        ``(N, C_in, *W)`` -> ``(N, C_out, *O)``, ``O`` = number of whole windows that fit
        the padded input ``s`` apart.

    Example:
        >>> V = np.arange(5.0).reshape(1, 1, 5)
        >>> conv(V, np.array([[[1.0, 0.0, -1.0]]]))[0, 0]          # cross-correlation
        array([-2., -2., -2.])
        >>> conv(V, np.array([[[1.0, 0.0, -1.0]]]), flip=True)[0, 0]  # convolution
        array([2., 2., 2.])
    """
    V, K = np.asarray(V, dtype=np.float64), np.asarray(K, dtype=np.float64)
    n = K.ndim - 2
    kernel = K.shape[2:]
    stride, dilation = _per_dim(stride, n), _per_dim(dilation, n)
    pairs = resolve_padding(padding, V.shape[2:], kernel, stride, dilation)
    P = pad(V, pairs, padding_mode)
    out = output_size(V.shape[2:], kernel, stride, pairs, dilation)
    if min(out) < 1:
        raise ShapeError(f"kernel {kernel} does not fit the padded input {P.shape[2:]}.")
    Z = np.zeros((V.shape[0], K.shape[0]) + out)
    for ins, outs in _groups(V.shape[1], K.shape[0], groups):
        for j in np.ndindex(*out):
            for m in np.ndindex(*kernel):
                p = _tap_position(j, m, stride, dilation, kernel, flip)
                # sum over l: (N, C_g) @ (C_g, C_out_g)
                Z[(_ALL, outs) + j] += P[(_ALL, ins) + p] @ K[(outs, _ALL) + m].T
    if bias is not None:
        bias = np.asarray(bias, dtype=np.float64)
        Z += bias.reshape(bias.shape + (1,) * n) if bias.ndim == 1 else bias
    return Z


def kernel_grad(G, V, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                padding_mode="zeros", flip=False) -> np.ndarray:
    """The kernel gradient g of Goodfellow et al. 2016, eq. 9.11, summed over the batch.

    ``g[i, l, m] = sum_{b, j} G[b, i, j] P[b, l, j*s + m*d]``: each kernel tap collects
    the output gradient times the (padded) input pixel that tap read in the forward pass.

    Args:
        G: gradient of the loss with respect to the output ``(N, C_out, *O)``.
        V: the forward input ``(N, C_in, *W)``.
        kernel_size: the kernel's spatial size.
        Others: as for :func:`conv`.

    Shape:
        -> ``(C_out, C_in / groups, *kernel_size)``.

    Example:
        >>> V = np.arange(4.0).reshape(1, 1, 4)
        >>> kernel_grad(np.ones((1, 1, 3)), V, (2,))[0, 0]   # [0+1+2, 1+2+3]
        array([3., 6.])
    """
    G, V = np.asarray(G, dtype=np.float64), np.asarray(V, dtype=np.float64)
    n = V.ndim - 2
    kernel = tuple(kernel_size)
    stride, dilation = _per_dim(stride, n), _per_dim(dilation, n)
    pairs = resolve_padding(padding, V.shape[2:], kernel, stride, dilation)
    P = pad(V, pairs, padding_mode)
    _check_output(G, V.shape[2:], kernel, stride, pairs, dilation)
    dK = np.zeros((G.shape[1], V.shape[1] // groups) + kernel)
    for ins, outs in _groups(V.shape[1], G.shape[1], groups):
        for j in np.ndindex(*G.shape[2:]):
            for m in np.ndindex(*kernel):
                p = _tap_position(j, m, stride, dilation, kernel, flip)
                # sum over b: (C_out_g, N) @ (N, C_g)
                dK[(outs, _ALL) + m] += G[(_ALL, outs) + j].T @ P[(_ALL, ins) + p]
    return dK


def _check_output(G, size, kernel, stride, pairs, dilation):
    expected = output_size(size, kernel, stride, pairs, dilation)
    if tuple(G.shape[2:]) != expected:
        raise ShapeError(
            f"an input of spatial size {tuple(size)} gives an output of size {expected}, "
            f"not {tuple(G.shape[2:])}. Received: input_size={tuple(size)}. Pass the size of "
            f"the forward input."
        )


def input_grad(K, G, input_size, stride=1, padding=0, dilation=1, groups=1,
               padding_mode="zeros", flip=False) -> np.ndarray:
    """The input gradient h of Goodfellow et al. 2016, eq. 9.12-9.13 (the transposed convolution).

    ``h[b, l, p] = sum_i sum_{j, m : j*s + m*d = p} K[i, l, m] G[b, i, j]``: the loops run
    over every output position ``j`` and kernel tap ``m`` and add into the one input
    position ``p`` that pair reads, which enumerates exactly the pairs of eq 9.13. The
    padded positions are then folded back (:func:`pad_adjoint`).

    Several input sizes give the same output size when ``s > 1``, so, as the book asks,
    ``input_size`` is explicit.

    Args:
        K: kernel stack ``(C_out, C_in / groups, *k)``.
        G: gradient with respect to the output ``(N, C_out, *O)``.
        input_size: spatial size ``W`` of the forward input.

    Shape:
        -> ``(N, C_in, *input_size)``.

    Raises:
        ShapeError: a convolution of ``input_size`` would not give ``G``'s size.

    Example:
        >>> input_grad(np.ones((1, 1, 2)), np.ones((1, 1, 2)), (4,), stride=2)[0, 0]
        array([1., 1., 1., 1.])
        >>> input_grad(np.ones((1, 1, 2)), np.ones((1, 1, 2)), (5,), stride=2)[0, 0]
        array([1., 1., 1., 1., 0.])
    """
    K, G = np.asarray(K, dtype=np.float64), np.asarray(G, dtype=np.float64)
    n = K.ndim - 2
    kernel = K.shape[2:]
    size = tuple(input_size)
    stride, dilation = _per_dim(stride, n), _per_dim(dilation, n)
    pairs = resolve_padding(padding, size, kernel, stride, dilation)
    _check_output(G, size, kernel, stride, pairs, dilation)
    in_channels = K.shape[1] * groups
    padded = tuple(w + lo + hi for w, (lo, hi) in zip(size, pairs))
    dP = np.zeros((G.shape[0], in_channels) + padded)
    for ins, outs in _groups(in_channels, K.shape[0], groups):
        for j in np.ndindex(*G.shape[2:]):
            for m in np.ndindex(*kernel):
                p = _tap_position(j, m, stride, dilation, kernel, flip)
                # sum over i: (N, C_out_g) @ (C_out_g, C_g)
                dP[(_ALL, ins) + p] += G[(_ALL, outs) + j] @ K[(outs, _ALL) + m]
    return pad_adjoint(dP, pairs, padding_mode, size)


def bias_grad(G, untied: bool = False) -> np.ndarray:
    """Gradient of a bias: sum over the batch, and over locations when the bias is shared.

    Example:
        >>> bias_grad(np.ones((2, 3, 4)))
        array([8., 8., 8.])
    """
    G = np.asarray(G, dtype=np.float64)
    return G.sum(axis=0) if untied else G.sum(axis=(0,) + tuple(range(2, G.ndim)))


def conv_transpose(X, K, bias=None, stride=1, padding=0, dilation=1, groups=1,
                   output_size=None, flip=False) -> np.ndarray:
    """Transposed convolution: h (eq 9.13) applied to ``X``, plus a shared bias.

    ``K`` is the kernel stack of the forward convolution that this transposes,
    ``(C_in_X, C_out / groups, *k)`` from the transpose's point of view.
    ``output_size`` is the forward input's size; by default the smallest size whose
    forward convolution has ``X``'s size.

    Example:
        >>> conv_transpose(np.ones((1, 1, 2)), np.ones((1, 1, 3)), stride=2)[0, 0]
        array([1., 1., 2., 1., 1.])
    """
    X, K = np.asarray(X, dtype=np.float64), np.asarray(K, dtype=np.float64)
    n = K.ndim - 2
    kernel = K.shape[2:]
    stride, dilation = _per_dim(stride, n), _per_dim(dilation, n)
    if output_size is None:
        if isinstance(padding, str) and padding == "same":
            raise ArgumentError(
                "conv_transpose with padding='same' needs output_size: several sizes are "
                "equally 'same'. Received: output_size=None."
            )
        pairs = resolve_padding(padding, (1,) * n, kernel, stride, dilation)
        sizes = []
        for target, k, s, (lo, hi), d in zip(X.shape[2:], kernel, stride, pairs, dilation):
            w = 1
            while len(_window_starts(w + lo + hi, _span(k, d), s)) < target:
                w += 1
            if len(_window_starts(w + lo + hi, _span(k, d), s)) != target:
                raise ShapeError(
                    f"no input size gives an output of size {target} with this kernel and "
                    f"padding. Received: input of spatial size {tuple(X.shape[2:])}."
                )
            sizes.append(w)
        output_size = tuple(sizes)
    Y = input_grad(K, X, _per_dim(output_size, n), stride, padding, dilation, groups, "zeros", flip)
    if bias is not None:
        Y += np.asarray(bias, dtype=np.float64).reshape((-1,) + (1,) * n)
    return Y


def depthwise_separable_conv(V, depthwise, pointwise, bias=None, stride=1, padding=0,
                             dilation=1, padding_mode="zeros") -> np.ndarray:
    """Depthwise-separable convolution by loops: a spatial filter per input channel, then a
    1x1 mix of channels.

    ``M[b, c*r + t, j] = sum_m P[b, c, j*s + m*d] D[c*r + t, 0, m]`` (depth multiplier
    ``r``), then ``Z[b, i, j] = sum_q Q[i, q] M[b, q, j] (+ bias[i])``.

    Args:
        depthwise: ``(C_in * r, 1, *k)``.
        pointwise: ``(C_out, C_in * r, 1, ...)``.

    Example:
        >>> V = np.ones((1, 2, 4))
        >>> D, Q = np.ones((2, 1, 3)), np.array([[[1.0], [-2.0]]])
        >>> depthwise_separable_conv(V, D, Q)[0]   # 3 - 2 * 3
        array([[-3., -3.]])
    """
    V = np.asarray(V, dtype=np.float64)
    D, Q = np.asarray(depthwise, dtype=np.float64), np.asarray(pointwise, dtype=np.float64)
    n = V.ndim - 2
    kernel = D.shape[2:]
    stride, dilation = _per_dim(stride, n), _per_dim(dilation, n)
    pairs = resolve_padding(padding, V.shape[2:], kernel, stride, dilation)
    P = pad(V, pairs, padding_mode)
    out = output_size(V.shape[2:], kernel, stride, pairs, dilation)
    channels, multiplier = V.shape[1], D.shape[0] // V.shape[1]
    middle = np.zeros((V.shape[0], D.shape[0]) + out)
    for c in range(channels):
        for t in range(multiplier):
            q = c * multiplier + t
            for j in np.ndindex(*out):
                for m in np.ndindex(*kernel):
                    p = _tap_position(j, m, stride, dilation, kernel, False)
                    middle[(_ALL, q) + j] += P[(_ALL, c) + p] * D[(q, 0) + m]
    Z = np.zeros((V.shape[0], Q.shape[0]) + out)
    for i in range(Q.shape[0]):
        for q in range(D.shape[0]):
            Z[:, i] += Q[(i, q) + (0,) * n] * middle[:, q]
        if bias is not None:
            Z[:, i] += bias[i]
    return Z
