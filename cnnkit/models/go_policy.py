"""Move prediction in Go (Clark & Storkey 2015, *Training deep convolutional neural
networks to play Go*; Maddison, Huang, Sutskever & Silver 2015, *Move evaluation in Go using
deep convolutional neural networks*), as a spec.

Board planes in (``go9`` / ``go19``: 11 planes from the mover's view, ``cnnkit.data.go``),
a softmax over the moves out (every point and pass). Faithful: a stack of zero-padded
convolutions that keep the board's size (a 5x5 first layer, then 3x3, as Maddison et al.),
ReLU, one softmax over the board's points trained on the moves of recorded games.
Simplified: ``filters`` maps (64; Maddison et al. use 128 to 192, Clark & Storkey 32 to
64), ``layers`` deep (6; they use 8 and 12); a linear 1x1 convolution to 2 planes and a
dense layer give the logits, so that pass has one too (Maddison et al. end in a 1x1
convolution with a bias per point and never pass; Clark & Storkey in a dense softmax
layer). The 2-plane convolution has no ReLU: with one, both planes can start at zero
everywhere (the stack's output is small against their bias under torch's default
initialisation), and then no gradient reaches the network: it predicts the most frequent
move whatever the board.
"""

from __future__ import annotations

from ..spec import Network, build
from ._parts import check_image_shape, classifier
from ._registry import register_model

__all__ = ["go_policy", "go_policy_spec"]


def go_policy_spec(num_classes: int = 362, input_shape=(11, 19, 19), filters: int = 64,
                   layers: int = 6) -> dict:
    """The Go policy spec as a dict (what :func:`go_policy` builds).

    Example:
        >>> [layer["conv"]["kernel"] for layer in go_policy_spec(layers=3)["layers"][:3]]
        [5, 3, 3]
    """
    convs = [{"conv": {"filters": filters, "kernel": 5 if i == 0 else 3, "padding": "same",
                       "activation": "relu"}} for i in range(layers)]
    return classifier("go_policy", input_shape, [
        *convs, {"conv": {"filters": 2, "kernel": 1}},       # linear: see the module doc
        "flatten", {"dense": num_classes}])


@register_model
def go_policy(num_classes: int = 362, input_shape=(11, 19, 19), filters: int = 64,
              layers: int = 6) -> Network:
    """A convolutional Go move predictor: board planes in, one logit per move out.

    Args:
        num_classes: moves (every point of the board and pass: 82 on 9x9, 362 on 19x19).
        input_shape: ``(planes, size, size)``.
        filters: maps of each convolution.
        layers: convolutions that keep the board's size.

    Shape:
        ``(N, planes, S, S)`` -> ``(N, num_classes)``.

    Example:
        >>> go_policy(82, (11, 9, 9), filters=8, layers=2).output_shape
        (82,)
    """
    return build(go_policy_spec(num_classes, check_image_shape(input_shape, "go_policy"),
                                filters, layers))
