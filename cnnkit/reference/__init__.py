"""Slow NumPy loop implementations written straight from the textbook equations.

These are test oracles: every fast path in :mod:`cnnkit.functional` is compared against
them, forward and backward. Nothing in the library imports this package.
Import the sub-modules directly, e.g. ``from cnnkit.reference import conv``.

Modules:
    activation every element-wise nonlinearity, one element at a time.
    dense      fully connected layer, flatten and inverted dropout.
    conv       convolution (Goodfellow et al. 2016, eq. 9.4-9.8) in 1-D, 2-D and 3-D with padding,
               padding modes, dilation, groups, flip and shared or untied bias; the
               kernel gradient g (eq 9.11); the input gradient h (eq 9.12-9.13), which
               is also the transposed convolution; depthwise-separable convolution.
    pool       max, average, Lp, global and adaptive pooling, forward and backward.
    norm       local response normalisation (forward and backward), batch
               normalisation, softmax / sigmoid cross-entropy and Euclidean losses.
    gradcheck  central-difference numeric gradients, which prove the backward
               functions above.

The other modules hold the oracles of further building blocks (locally connected and
tiled layers, more pooling kinds, DropConnect, Gabor filters); each module's docstring
names the equations it follows.
"""
