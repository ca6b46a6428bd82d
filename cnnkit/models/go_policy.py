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

``head="points"`` ends as Maddison et al. do instead: a 1x1 convolution to one plane with a
bias of its own at every point (``bias: untied``) gives the points' logits, and pass gets
one from the last maps' global average through a dense unit. The same weights score every
point, so the head has about a board's worth of parameters where the dense head has
2 x points x moves; on the 60 games of ``go19`` the dense head learns the training
positions rather than the game.
"""

from __future__ import annotations

from .._validation import ArgumentError, one_of
from ..spec import Network, build
from ._parts import check_image_shape, classifier
from ._registry import register_model

__all__ = ["HEADS", "go_policy", "go_policy_spec"]

HEADS = ("dense", "points")


def go_policy_spec(num_classes: int = 362, input_shape=(11, 19, 19), filters: int = 64,
                   layers: int = 6, head: str = "dense") -> dict:
    """The Go policy spec as a dict (what :func:`go_policy` builds).

    Raises:
        ArgumentError: an unknown ``head``; ``head="points"`` with ``num_classes`` other
            than the board's points and pass.

    Example:
        >>> [layer["conv"]["kernel"] for layer in go_policy_spec(layers=3)["layers"][:3]]
        [5, 3, 3]
        >>> go_policy_spec(82, (11, 9, 9), head="points")["layers"][-1]["parallel"]["branches"]
        [[{'conv': {'filters': 1, 'kernel': 1, 'bias': 'untied'}}, 'flatten'], ['global_avgpool', {'dense': 1}]]
    """
    one_of(head, HEADS, "head")
    convs = [{"conv": {"filters": filters, "kernel": 5 if i == 0 else 3, "padding": "same",
                       "activation": "relu"}} for i in range(layers)]
    if head == "dense":
        return classifier("go_policy", input_shape, [
            *convs, {"conv": {"filters": 2, "kernel": 1}},       # linear: see the module doc
            "flatten", {"dense": num_classes}])
    points = input_shape[1] * input_shape[2]
    if num_classes != points + 1:
        raise ArgumentError(
            f"head='points' scores each point of the board and pass: num_classes must be "
            f"{input_shape[1]}x{input_shape[2]} + 1 = {points + 1} for input_shape="
            f"{tuple(input_shape)!r}. Received: num_classes={num_classes}. Use head='dense' "
            f"for other targets.", argument="num_classes")
    # Points in the data's order (row by row, as flatten gives them), pass last.
    return classifier("go_policy", input_shape, [*convs, {"parallel": {"branches": [
        [{"conv": {"filters": 1, "kernel": 1, "bias": "untied"}}, "flatten"],
        ["global_avgpool", {"dense": 1}]], "merge": "concat"}}])


@register_model
def go_policy(num_classes: int = 362, input_shape=(11, 19, 19), filters: int = 64,
              layers: int = 6, head: str = "dense") -> Network:
    """A convolutional Go move predictor: board planes in, one logit per move out.

    Args:
        num_classes: moves (every point of the board and pass: 82 on 9x9, 362 on 19x19).
        input_shape: ``(planes, size, size)``.
        filters: maps of each convolution.
        layers: convolutions that keep the board's size.
        head: ``"dense"`` (2 planes and a dense layer) or ``"points"`` (Maddison et al.: one
            plane with a bias per point, pass from a dense unit); see the module doc.

    Raises:
        ArgumentError: an unknown ``head``, or ``"points"`` for targets other than the
            board's points and pass.

    Shape:
        ``(N, planes, S, S)`` -> ``(N, num_classes)``.

    Example:
        >>> go_policy(82, (11, 9, 9), filters=8, layers=2).output_shape
        (82,)
    """
    return build(go_policy_spec(num_classes, check_image_shape(input_shape, "go_policy"),
                                filters, layers, head))
