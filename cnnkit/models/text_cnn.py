"""The convolutional network for sentence classification of Kim 2014, as a spec.

Words become vectors (an embedding of 300 values); convolutions of widths 3, 4 and 5 words,
100 maps each with ReLU, slide over the sentence; each map keeps its maximum over time (so
a sentence of any length gives 300 features, and a phrase counts wherever it stands);
dropout 0.5 and a dense softmax layer.

Faithful: the widths, maps, ReLU, max-over-time pooling and dropout of Kim's models.
Simplified: the embedding is learned from random values (Kim's "CNN-rand"; the other
variants start from word2vec vectors, which cnnkit does not ship), and the max-norm
constraint of 3 on the last layer's weights is the trainer's business (its max-norm
regulariser), not the spec's.
"""

from __future__ import annotations

from ..spec import Network, build
from ._parts import check_image_shape, classifier
from ._registry import register_model

__all__ = ["text_cnn", "text_cnn_spec"]


def text_cnn_spec(num_classes: int = 2, input_shape=(1, 64), vocab: int = 10000, dim: int = 300,
                  widths=(3, 4, 5), maps: int = 100, dropout: float = 0.5) -> dict:
    """The spec of Kim's text CNN as a dict (what :func:`text_cnn` builds).

    Example:
        >>> spec = text_cnn_spec()
        >>> [branch[0]["conv"]["kernel"] for branch in spec["layers"][1]["parallel"]["branches"]]
        [3, 4, 5]
    """
    branches = [[{"conv": {"filters": maps, "kernel": width, "activation": "relu"}},
                 "global_maxpool"] for width in widths]
    return classifier("text_cnn", input_shape, [
        {"embedding": {"vocab": vocab, "dim": dim}},
        {"parallel": {"branches": branches, "merge": "concat"}},
        {"dropout": dropout},
        {"dense": num_classes},
    ])


@register_model
def text_cnn(num_classes: int = 2, input_shape=(1, 64), vocab: int = 10000, dim: int = 300,
             widths=(3, 4, 5), maps: int = 100, dropout: float = 0.5) -> Network:
    """Kim 2014's CNN: 3,360,902 parameters for 2 classes and a vocabulary of 10,000.

    Args:
        num_classes: units of the last layer.
        input_shape: ``(1, length)``: one channel of token ids; the length is the data's
            (at least the widest window).
        vocab: distinct token ids (the embedding's rows).
        dim: values per word vector (300 in the paper).
        widths: window widths in words (3, 4, 5).
        maps: feature maps per width (100).
        dropout: drop rate before the last layer.

    Shape:
        ``(N, 1, L)`` int64 token ids -> ``(N, num_classes)``.

    Example:
        >>> import torch
        >>> net = text_cnn(vocab=50, dim=8, maps=4, input_shape=(1, 12))
        >>> net(torch.randint(0, 50, (3, 1, 12))).shape
        torch.Size([3, 2])
    """
    return build(text_cnn_spec(num_classes, check_image_shape(input_shape, "text_cnn", dims=1),
                               vocab, dim, widths, maps, dropout))
