"""Spec rule of convolution computed by FFT."""

from ...layers.fft import FFTConv
from .._catalogue import LayerRule, register_layer
from .conv import FILTERS

register_layer(LayerRule(
    "fft_conv", FFTConv, renames=FILTERS, shorthand="filters", activation=True,
    description="convolution computed by FFT (algorithm: fft, direct or auto; "
                "Goodfellow et al. 2016, section 9.8)",
    example={"filters": 2, "kernel": 5}))
