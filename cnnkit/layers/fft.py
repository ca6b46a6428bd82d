"""Convolution layer computed by FFT, directly, or by whichever is measured faster."""

from __future__ import annotations

import torch

from .._validation import one_of
from ..functional.conv import check_input
from ..functional.fft import ALGORITHMS, fft_conv
from .conv import Conv, _rank_alias

__all__ = ["FFTConv", "FFTConv1d", "FFTConv2d", "FFTConv3d"]


class FFTConv(Conv):
    """:class:`cnnkit.layers.Conv` computed in the frequency domain (Goodfellow et al. 2016,
    section 9.8).

    The same parameters, initialisation and map as ``Conv`` (so a state dict moves freely
    between the two); only the arithmetic differs. For large kernels FFT is faster.

    Args:
        algorithm: ``"fft"`` (default), ``"direct"``, or ``"auto"``: the faster of the two
            for each kind of input, measured once on this machine
            (:func:`cnnkit.functional.conv_algorithm`).
        Others: as for :class:`cnnkit.layers.Conv`.

    Shape:
        ``(N, C_in, *W)`` -> ``(N, C_out, *O)``,
        ``O = floor((W + P_lo + P_hi - D * (K - 1) - 1) / S) + 1``.

    Raises:
        ArgumentError: an unknown ``algorithm``; ArgumentTypeError at call time: complex or
            integer inputs with ``"fft"``.

    Example:
        >>> layer = FFTConv2d(1, 4, 15, padding="same")
        >>> layer(torch.randn(2, 1, 32, 32)).shape
        torch.Size([2, 4, 32, 32])
    """

    _defaults = {**Conv._defaults, "algorithm": "fft"}

    def __init__(self, in_channels, out_channels, kernel, stride=1, padding=0, dilation=1,
                 groups=1, bias="shared", padding_mode="zeros", flip=False, input_size=None,
                 algorithm="fft", *, dims=2):
        super().__init__(in_channels, out_channels, kernel, stride, padding, dilation, groups,
                         bias, padding_mode, flip, input_size, dims=dims)
        self.algorithm = one_of(algorithm, ALGORITHMS, "algorithm")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != self.dims + 2 or x.shape[1] != self.in_channels:
            check_input(x, self.dims, self.in_channels, type(self).__name__)
        return fft_conv(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups, self.padding_mode, self.flip, self.algorithm)


FFTConv1d = _rank_alias(FFTConv, 1, "1-D :class:`FFTConv`.")
FFTConv2d = _rank_alias(FFTConv, 2, "2-D :class:`FFTConv`.")
FFTConv3d = _rank_alias(FFTConv, 3, "3-D :class:`FFTConv`.")
