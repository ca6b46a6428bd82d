"""A convolutional autoencoder (Masci, Meier, Ciresan & Schmidhuber 2011, *Stacked
convolutional auto-encoders for hierarchical feature extraction*), as a spec.

The encoder is convolutions with max pooling; the decoder maps the code back to an image of
the input's shape; trained to reconstruct its input (task ``reconstruct``, mean squared
error), and as a denoising autoencoder when the task adds noise to the input only
(``cnnkit.tasks.Reconstruct(noise=...)``, Vincent et al. 2008).

Faithful: convolutional encoder with max pooling (Masci et al.'s point: pooling gives
sparse, more general filters), a decoder that shares the encoder's geometry, a squared
reconstruction error, noise on the input. Simplified: the decoder has its own weights
(the paper's convolutional auto-encoder uses the flipped encoder weights) and upsamples by
2x2 transposed convolutions; the two stages are trained together, not one after the other.
"""

from __future__ import annotations

from ..spec import Network, build
from ._parts import check_image_shape
from ._registry import register_model

__all__ = ["conv_autoencoder", "conv_autoencoder_spec"]


def conv_autoencoder_spec(num_classes: int | None = None, input_shape=(1, 28, 28),
                          filters=(32, 16)) -> dict:
    """The autoencoder's spec as a dict (what :func:`conv_autoencoder` builds).

    Example:
        >>> [next(iter(layer)) for layer in conv_autoencoder_spec()["layers"]]
        ['conv', 'maxpool', 'conv', 'maxpool', 'conv_transpose', 'conv_transpose', 'conv']
    """
    encoder, decoder = [], []
    for count in filters:
        encoder += [{"conv": {"filters": count, "kernel": 3, "padding": "same",
                              "activation": "relu"}}, {"maxpool": 2}]
    for count in reversed(filters):
        decoder.append({"conv_transpose": {"filters": count, "kernel": 2, "stride": 2,
                                           "activation": "relu"}})
    decoder.append({"conv": {"filters": input_shape[0], "kernel": 3, "padding": "same"}})
    return {"name": "conv_autoencoder", "input": list(input_shape), "task": "reconstruct",
            "layers": encoder + decoder, "loss": "mse"}


@register_model
def conv_autoencoder(num_classes: int | None = None, input_shape=(1, 28, 28),
                     filters=(32, 16)) -> Network:
    """A convolutional (denoising) autoencoder: 3x3 convolutions and 2x2 pooling down,
    2x2 transposed convolutions up, an image of the input's shape out.

    Args:
        num_classes: not used: the output has the input's channels (taken so that
            ``for_data`` builds it like any model; a data set's classes are ignored).
        input_shape: ``(C, H, W)``; H and W divisible by ``2 ** len(filters)``.
        filters: maps of each encoder stage (the decoder mirrors them).

    Shape:
        ``(N, C, H, W)`` -> ``(N, C, H, W)``.

    Example:
        >>> conv_autoencoder(input_shape=(1, 28, 28), filters=(4, 2)).output_shape
        (1, 28, 28)
    """
    return build(conv_autoencoder_spec(num_classes,
                                       check_image_shape(input_shape, "conv_autoencoder"),
                                       tuple(filters)))
