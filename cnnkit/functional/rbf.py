"""Euclidean radial basis function units: LeNet-5's output layer (LeCun et al. 1998).

"The output of each RBF unit y_i is computed as y_i = sum_j (x_j - w_ij)^2" (section II-B,
eq. 7): the squared distance between the input vector and the unit's parameter vector, a
penalty that is small when the input is near the class's code. cnnkit returns the
*negative* distance, ``-sum_j (x_j - w_ij)^2``, so that as for every classifier output in
cnnkit the largest value is the prediction (accuracy and confusion matrices take the
argmax), and softmax cross-entropy on it is the paper's maximum a posteriori criterion
(eq. 9) without the constant of its "rubbish" class.

The paper fixes the parameter vectors of the ten digit units by hand: stylised 7x12
bitmaps of the digits, with values -1 (white) and +1 (black), so that F6's 84 outputs
are drawn to a picture of the class. :data:`DIGIT_BITMAPS` holds such bitmaps, drawn
for cnnkit in the manner of the paper's figure 3 (not copied from it pixel for pixel).
"""

from __future__ import annotations

import torch

from .._validation import ArgumentError, ShapeError

__all__ = ["DIGIT_BITMAPS", "bitmap_codes", "rbf"]

# 12 rows of 7 pixels per digit; "#" is black (+1), "." white (-1).
DIGIT_BITMAPS = {
    0: ("..###..", ".#...#.", "#.....#", "#.....#", "#.....#", "#.....#",
        "#.....#", "#.....#", "#.....#", "#.....#", ".#...#.", "..###.."),
    1: ("...#...", "..##...", ".#.#...", "...#...", "...#...", "...#...",
        "...#...", "...#...", "...#...", "...#...", "...#...", ".#####."),
    2: (".####..", "#....#.", "......#", "......#", ".....#.", "....#..",
        "...#...", "..#....", ".#.....", "#......", "#......", "#######"),
    3: (".####..", "#....#.", "......#", "......#", ".....#.", "..###..",
        ".....#.", "......#", "......#", "......#", "#....#.", ".####.."),
    4: (".....#.", "....##.", "...#.#.", "..#..#.", ".#...#.", "#....#.",
        "#######", ".....#.", ".....#.", ".....#.", ".....#.", ".....#."),
    5: ("#######", "#......", "#......", "#......", "#####..", ".....#.",
        "......#", "......#", "......#", "......#", "#....#.", ".####.."),
    6: ("..###..", ".#.....", "#......", "#......", "#.###..", "##...#.",
        "#.....#", "#.....#", "#.....#", "#.....#", ".#...#.", "..###.."),
    7: ("#######", "......#", ".....#.", ".....#.", "....#..", "....#..",
        "...#...", "...#...", "..#....", "..#....", "..#....", "..#...."),
    8: ("..###..", ".#...#.", "#.....#", "#.....#", ".#...#.", "..###..",
        ".#...#.", "#.....#", "#.....#", "#.....#", ".#...#.", "..###.."),
    9: ("..###..", ".#...#.", "#.....#", "#.....#", "#.....#", ".#...##",
        "..###.#", "......#", "......#", ".....#.", "....#..", "..##..."),
}
BITMAP_SIZE = (12, 7)


def bitmap_codes(units: int, dtype=torch.float32) -> torch.Tensor:
    """The fixed codes of the first ``units`` digits: ``(units, 84)`` of +-1, row by row.

    Raises:
        ArgumentError: more than the ten digits.

    Example:
        >>> codes = bitmap_codes(10)
        >>> codes.shape, sorted(codes.unique().tolist())
        (torch.Size([10, 84]), [-1.0, 1.0])
    """
    if not 1 <= units <= len(DIGIT_BITMAPS):
        raise ArgumentError(
            f"the bitmap codes are the ten digits' 7x12 bitmaps, so they serve 1 to 10 classes. "
            f"Received: units={units}. Use codes='learned' for more classes.", argument="units")
    rows = [[1.0 if pixel == "#" else -1.0 for line in DIGIT_BITMAPS[d] for pixel in line]
            for d in range(units)]
    return torch.tensor(rows, dtype=dtype)


def rbf(x: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    """Negative squared Euclidean distance to each unit's parameter vector:
    ``y[n, i] = -sum_j (x[n, j] - w[i, j])^2`` (LeCun et al. 1998, eq. 7, negated).

    Args:
        x: inputs ``(N, F)``.
        centres: one parameter vector per unit ``(U, F)``.

    Shape:
        ``(N, F)`` -> ``(N, U)``.

    Raises:
        ShapeError: the feature counts differ.

    Example:
        >>> rbf(torch.tensor([[1.0, 1.0]]), torch.tensor([[1.0, 2.0], [-1.0, 1.0]]))
        tensor([[-1., -4.]])
    """
    if x.dim() != 2 or centres.dim() != 2 or x.shape[1] != centres.shape[1]:
        raise ShapeError(
            f"rbf takes inputs (N, F) and one parameter vector per unit (U, F) with the same F. "
            f"Received: x of shape {tuple(x.shape)}, centres of shape {tuple(centres.shape)}. "
            f"Flatten the input first, or build the layer for {x.shape[-1]} features.",
            argument="x")
    # The differences themselves, not |x|^2 - 2 x.w + |w|^2: no cancellation near a code.
    return -(x.unsqueeze(1) - centres.unsqueeze(0)).pow(2).sum(dim=2)
