"""S-cell kernels learned without a teacher: the neocognitron's competitive, winner-take-all
Hebbian reinforcement (Fukushima 1980, section "Self-organization of the network").

The S-layers of a neocognitron (:class:`cnnkit.layers.SCell`) learn one stage at a time,
from the C-cell outputs of the stage before, on unlabelled images. For each image:

1. every S-cell plane responds at every position (``max(0, a . x - theta |x|)``);
2. at each position (an S-column, the cells of all planes looking at the same window) only
   the plane with the largest response competes further;
3. of the positions a plane won, the one where it responds most is the plane's
   *representative*; a plane that won nowhere, or responds nowhere, learns nothing;
4. each representative's kernel is reinforced by its input window: ``a += q x / |x|``,
   then scaled back to unit length (the S-cell's inhibitory weight grows with ``a`` in the
   paper; here the kernel's length is fixed instead, so the threshold keeps its meaning).

So each plane drifts towards the windows it already answers best, and the competition keeps
planes apart: one plane, one feature. Fukushima starts from small random weights; here each
plane starts from a different input window (with energy), so that none starts dead. The
images are processed a batch at a time: the representatives of a batch's images are found
with the same kernels and their reinforcements added (the paper presents one pattern at a
time).
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .._validation import ArgumentError, ShapeError, positive_int
from ..functional.s_cell import s_cell
from ..layers import SCell

__all__ = ["learn_s_cells", "s_cell_windows"]


def s_cell_windows(layer: SCell, x: torch.Tensor, images: torch.Tensor,
                   positions: torch.Tensor) -> torch.Tensor:
    """The input windows that ``layer``'s cells at flat output ``positions`` of ``images``
    see, flattened as its kernels are: ``(*positions.shape, C * kh * kw)``.

    Args:
        layer: a 2-D S-cell layer.
        x: its input ``(N, C, H, W)``.
        images: index of the image of each window (any shape).
        positions: flat output position of each window (the same shape).

    Example:
        >>> from cnnkit.layers import SCell2d
        >>> x = torch.arange(16.0).view(1, 1, 4, 4)
        >>> s_cell_windows(SCell2d(1, 1, 2), x, torch.tensor([0]), torch.tensor([4]))
        tensor([[ 5.,  6.,  9., 10.]])
    """
    if x.dim() != 4:
        raise ShapeError(f"learn_s_cells works on images (N, C, H, W). Received: an input of shape "
                         f"{tuple(x.shape)} for {type(layer).__name__}.", argument="images")
    pairs = type(layer).padding_pairs(layer.settings(), tuple(x.shape[1:]))
    padded = F.pad(x, [p for pair in reversed(pairs) for p in pair])
    width = type(layer).output_shape(layer.settings(), tuple(x.shape[1:]))[2]
    (kh, kw), (sh, sw), (dh, dw) = layer.kernel, layer.stride, layer.dilation
    row, col = positions // width, positions % width
    rows = (row * sh).unsqueeze(-1) + torch.arange(kh) * dh                  # (..., kh)
    cols = (col * sw).unsqueeze(-1) + torch.arange(kw) * dw                  # (..., kw)
    # One gather: the index tensors broadcast to (..., kh, kw); the channels come last.
    windows = padded[images[..., None, None], :, rows[..., :, None], cols[..., None, :]]
    return windows.movedim(-1, -3).flatten(-3)


def _seed(layer: SCell, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Unit kernels cut from random input windows with much energy, one per plane."""
    out = type(layer).output_shape(layer.settings(), tuple(x.shape[1:]))
    draws = 32 * layer.out_channels
    images = torch.randint(0, len(x), (draws,), generator=generator)
    positions = torch.randint(0, out[1] * out[2], (draws,), generator=generator)
    windows = s_cell_windows(layer, x, images, positions)
    # the most energetic quarter of the draws: windows on strokes, not on the background
    norms = windows.norm(dim=1)
    top = norms.topk(draws // 4).indices
    candidates = top[norms[top] > 0]
    if len(candidates) < layer.out_channels:
        raise ShapeError(
            f"learn_s_cells found {len(candidates)} input windows with energy for "
            f"{layer.out_channels} S-planes. Received: {len(x)} images. Give it more images, or "
            f"images that are not blank.", argument="images")
    pick = candidates[torch.randperm(len(candidates), generator=generator)[:layer.out_channels]]
    return F.normalize(windows[pick], dim=1)


@torch.no_grad()
def _learn(layer: SCell, inputs: torch.Tensor, epochs: int, rate: float, batch_size: int,
           generator: torch.Generator) -> None:
    weight = _seed(layer, inputs, generator)                          # (P, C*k*k)
    for _ in range(epochs):
        order = torch.randperm(len(inputs), generator=generator)
        for start in range(0, len(inputs), batch_size):
            x = inputs[order[start:start + batch_size]]
            kernels = weight.view_as(layer.weight)
            response = s_cell(x, kernels, layer.threshold, layer.stride, layer.padding,
                              layer.dilation).flatten(2)              # (B, P, L)
            # S-columns: only the strongest plane at a position competes further
            column = response.argmax(dim=1, keepdim=True)
            wins = torch.zeros_like(response).scatter_(1, column, 1.0).bool() & (response > 0)
            best, where = response.masked_fill(~wins, -1.0).max(dim=2)   # (B, P)
            images = torch.arange(len(x)).unsqueeze(1).expand_as(where)
            chosen = F.normalize(s_cell_windows(layer, x, images, where), dim=2)
            chosen = chosen * (best > 0).unsqueeze(2)                 # (B, P, C*k*k)
            weight = F.normalize(weight + rate * chosen.sum(dim=0), dim=1)
    layer.weight.copy_(weight.view_as(layer.weight).to(layer.weight.dtype))


def learn_s_cells(network: nn.Module, images: torch.Tensor, *, epochs: int = 1,
                  rate: float = 0.05, batch_size: int = 64, seed: int = 0,
                  freeze: bool = True) -> list[SCell]:
    """Learn the kernels of every S-cell layer of ``network`` from unlabelled ``images``,
    stage by stage (see the module doc), and by default freeze them.

    Args:
        network: a sequential network (a built spec, e.g. ``create_model("neocognitron")``)
            whose top-level layers include :class:`cnnkit.layers.SCell` layers.
        images: training images ``(N, C, H, W)``; their labels are never used.
        epochs: passes over the images for each S-layer.
        rate: the reinforcement ``q`` added per representative window (unit length).
        batch_size: images whose representatives are found with the same kernels.
        seed: seeds the starting windows and the presentation order.
        freeze: set ``requires_grad=False`` on the learned kernels, so that training by
            gradient afterwards changes only the other layers (the read-out).

    Returns:
        The S-cell layers, in order, with their learned kernels.

    Raises:
        ArgumentError: a network without S-cell layers, or a rate that is not positive.
        ShapeError: images that are not ``(N, C, H, W)``.

    Example:
        >>> from cnnkit.data import load_dataset
        >>> from cnnkit.models import create_model
        >>> net = create_model("neocognitron", planes=(4, 8))
        >>> cells = learn_s_cells(net, load_dataset("mnist5k").x[:200])
        >>> [tuple(c.weight.shape) for c in cells], cells[0].weight.requires_grad
        ([(4, 1, 5, 5), (8, 4, 5, 5)], False)
    """
    positive_int(epochs, "epochs")
    positive_int(batch_size, "batch_size")
    if not rate > 0:
        raise ArgumentError(f"rate must be positive. Received: rate={rate!r}.", argument="rate")
    layers = list(getattr(network, "layers", network).children())
    cells = [layer for layer in layers if isinstance(layer, SCell)]
    if not cells:
        raise ArgumentError(
            f"learn_s_cells needs a network with S-cell layers (s_cell in a spec). Received: a "
            f"{type(network).__name__} without any. Use create_model('neocognitron').",
            argument="network")
    if images.dim() != 4:
        raise ShapeError(f"images must be (N, C, H, W). Received: images of shape "
                         f"{tuple(images.shape)}.", argument="images")
    generator = torch.Generator().manual_seed(seed)
    x = images.to(cells[0].weight.dtype)
    with torch.no_grad():
        for layer in layers:
            if isinstance(layer, SCell):
                _learn(layer, x, epochs, rate, batch_size, generator)
                if freeze:
                    layer.weight.requires_grad_(False)
            if layer is cells[-1]:
                break
            was_training = layer.training
            layer.eval()
            x = torch.cat([layer(part) for part in x.split(256)])
            layer.train(was_training)
    return cells

