"""The neocognitron (Fukushima 1980), as a spec: S-cells learned without a teacher, fixed
C-cells, and a linear read-out.

Each stage is a layer of S-cells (feature detectors: planes of cells sharing one kernel)
followed by a layer of C-cells that blur and subsample the S-planes with fixed weights,
so that a feature shifted a little still excites the same C-cell. Stage after stage the
features grow larger and the tolerance to shifts and deformation grows with them.

Faithful: S-cells whose kernels are learned without labels by competitive, winner-take-all
Hebbian reinforcement (:func:`cnnkit.features.neocognitron.learn_s_cells`), and whose
response is inhibited by the energy of their input window (a V-cell), so that they answer
to shape and not brightness; C-cells with fixed weights; two stages (the paper has three,
``planes`` takes any number). Simplified: the S-cell's shunting inhibition is subtractive
(:mod:`cnnkit.functional.s_cell`); the C-cells are a fixed 3x3 average with stride 2 (no
saturating output); the last layer is a linear read-out trained by gradient on top of the
fixed features, in place of the paper's last C-layer of one cell per class, which needed a
hand-chosen training sequence.
"""

from __future__ import annotations

from ..spec import Network, build
from ._parts import check_image_shape, classifier
from ._registry import register_model

__all__ = ["neocognitron", "neocognitron_spec"]


def neocognitron_spec(num_classes: int = 10, input_shape=(1, 28, 28), planes=(16, 32),
                      kernels=(5, 5), thresholds=(0.5, 0.5)) -> dict:
    """The neocognitron spec as a dict (what :func:`neocognitron` builds).

    Example:
        >>> [next(iter(layer)) for layer in neocognitron_spec()["layers"][:4]]
        ['s_cell', 'avgpool', 's_cell', 'avgpool']
    """
    stages = []
    for filters, kernel, threshold in zip(planes, kernels, thresholds):
        stages += [{"s_cell": {"filters": filters, "kernel": kernel, "threshold": threshold,
                               "padding": "same"}},
                   {"avgpool": {"size": 3, "stride": 2, "padding": 1}}]     # C-cells
    return classifier("neocognitron", input_shape, [*stages, "flatten", {"dense": num_classes}])


@register_model
def neocognitron(num_classes: int = 10, input_shape=(1, 28, 28), planes=(16, 32),
                 kernels=(5, 5), thresholds=(0.5, 0.5)) -> Network:
    """Neocognitron: 13,200 S-cell weights (learned without labels) and a read-out of 15,690
    for 10 classes on 1x28x28.

    The S-cells start as random non-negative unit kernels: learn them with
    :func:`cnnkit.features.neocognitron.learn_s_cells`, which also freezes them, before
    training the read-out.

    Args:
        num_classes: units of the read-out.
        input_shape: input shape, channels first (2-D).
        planes: S-planes of each stage (one kernel each).
        kernels: kernel size of each stage's S-cells.
        thresholds: selectivity of each stage's S-cells, in ``[0, 1)``.

    Shape:
        ``(N, C, H, W)`` -> ``(N, num_classes)``.

    Example:
        >>> net = neocognitron()
        >>> sum(p.numel() for p in net.parameters()), net.output_shape
        (28890, (10,))
    """
    return build(neocognitron_spec(num_classes, check_image_shape(input_shape, "neocognitron"),
                                   planes, kernels, thresholds))
