"""Receptive fields grow with depth, and faster with stride and dilation (Goodfellow et al.
2016, section 9.2, fig. 9.4; Yu and Koltun 2016 for dilation).

"The receptive field of the units in the deeper layers of a convolutional network is
larger than the receptive field of the units in the shallow layers" (fig. 9.4). Three
stacks of four 3x3 convolutions on a 64x64 input ('same' padding):

- ``plain``: stride 1, dilation 1 (the field grows by 2 per layer: 3, 5, 7, 9);
- ``strided``: stride 2 (it doubles: 3, 7, 15, 31);
- ``dilated``: dilation 1, 2, 4, 8 (it doubles too, without losing resolution).

For every layer the field, jump and start come from :func:`cnnkit.inspect.summary`
(computed from the layer settings, no tensors) and give the box of input pixels of a unit
(:func:`cnnkit.inspect.receptive_field`). The box is then measured: with every weight set
to 1 and no bias, the gradient of one unit with respect to the input is non-zero exactly on
the pixels the unit sees. Both are compared for the centre unit and for the corner unit
(0, 0), whose field reaches into the padding and is clipped to the image.

Run: ``cnnkit experiment receptive_field``
"""

from __future__ import annotations

import torch

from ._common import Experiment, Result, Table, figure

__all__ = ["EXPERIMENT", "STACKS", "measured_box", "run"]

SIZE = 64
STACKS = {
    "plain": [{"kernel": 3} for _ in range(4)],
    "strided": [{"kernel": 3, "stride": 2} for _ in range(4)],
    "dilated": [{"kernel": 3, "dilation": d} for d in (1, 2, 4, 8)],
}


def stack(name: str):
    """The stack ``name`` built from a spec, every weight 1, float64."""
    from ..spec import build

    layers = [{"conv": {"filters": 1, "padding": "same", "bias": "none", **settings}}
              for settings in STACKS[name]]
    net = build({"name": name, "input": [1, SIZE, SIZE], "layers": layers}).double()
    with torch.no_grad():
        for p in net.parameters():
            p.fill_(1.0)
    return net


def measured_box(net, depth: int, unit: tuple[int, int]):
    """``(lo, hi, pixels, gradient)``: the bounding box of the input pixels with a non-zero
    gradient of ``unit`` of layer ``depth`` (0-based), and how many there are."""
    x = torch.ones(1, 1, SIZE, SIZE, dtype=torch.float64, requires_grad=True)
    out = net.layers[:depth + 1](x)
    out[0, 0, unit[0], unit[1]].backward()
    support = x.grad[0, 0] != 0
    rows, cols = support.any(1).nonzero().flatten(), support.any(0).nonzero().flatten()
    lo, hi = (int(rows[0]), int(cols[0])), (int(rows[-1]), int(cols[-1]))
    return lo, hi, int(support.sum()), x.grad[0, 0]


def run(quick: bool = False, seeds: int = 0) -> Result:
    """Computed against measured receptive fields, per layer of three stacks."""
    from ..inspect import layer_geometry, receptive_field

    rows, agree, growth, pictures = [], [], {}, {}
    for name in STACKS:
        net = stack(name)
        geometry = layer_geometry(net)
        growth[name] = []
        for depth in range(len(STACKS[name])):
            layer = f"layers.{depth}"
            shape = geometry[layer]["output_shape"]
            cells = {}
            for label, unit in (("centre", (shape[1] // 2, shape[2] // 2)), ("corner", (0, 0))):
                computed = receptive_field(net, layer, (0, *unit), geometry=geometry)
                lo, hi = computed.clipped((SIZE, SIZE))
                m_lo, m_hi, pixels, grad = measured_box(net, depth, unit)
                area = (m_hi[0] - m_lo[0] + 1) * (m_hi[1] - m_lo[1] + 1)
                same = (lo, hi) == (m_lo, m_hi)
                agree.append(same)
                holes = "" if pixels == area else f", {area - pixels} holes"
                cells[label] = (f"{lo}-{hi} / {m_lo}-{m_hi}{holes}: "
                                + ("agree" if same else "DISAGREE"))
                if label == "centre" and depth == len(STACKS[name]) - 1:
                    pictures[name] = grad
            g = geometry[layer]
            growth[name].append(g["field"][0])
            rows.append({"stack": name, "layer": depth + 1, "output": "x".join(map(str, shape[1:])),
                         "field": g["field"][0], "jump": g["jump"][0], "start": g["start"][0],
                         **cells})

    fig = figure(8, 3)
    ax = fig.add_subplot(1, 4, (1, 2))
    for name, fields in growth.items():
        ax.plot(range(1, len(fields) + 1), fields, marker="o", label=name)
    ax.set(xlabel="layer", ylabel="receptive field (pixels)", title="field against depth")
    ax.set_xticks(range(1, 5))
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    for k, name in enumerate(("strided", "dilated")):
        ax = fig.add_subplot(1, 4, 3 + k)
        grad = pictures[name]
        ax.imshow((grad / grad.max()).numpy(), cmap="magma", interpolation="nearest")
        ax.set_title(f"{name}: gradient of the\nlast layer's centre unit", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])

    checks = [("computed and measured fields agree exactly for every layer and unit", all(agree)),
              ("stride and dilation grow the field faster than plain stacking",
               growth["strided"][-1] > growth["plain"][-1]
               and growth["dilated"][-1] > growth["plain"][-1])]
    notes = ["Boxes are (row, column) of the first and last input pixel, clipped to the "
             "64x64 image: computed (summary's field / jump / start) / measured (non-zero "
             "input gradient of the unit, all weights 1)."]
    table = Table([("stack", "stack"), ("layer", "layer"), ("output", "output"),
                   ("field", "field"), ("jump", "jump"), ("start", "start"),
                   ("centre", "centre unit: computed / measured"),
                   ("corner", "corner unit (0, 0): computed / measured")], rows)
    return Result([table], fig, checks, notes, 0)


EXPERIMENT = Experiment(
    name="receptive_field",
    claim="Deeper units see more of the input; stride and dilation grow the receptive field "
          "faster than plain stacking.",
    sources=("Goodfellow, Bengio and Courville 2016, Deep Learning, section 9.2, fig. 9.4",
             "Yu and Koltun 2016, Multi-scale context aggregation by dilated convolutions"),
    published="fig. 9.4: with 3-wide kernels a unit of the second layer sees 5 inputs "
              "(each layer adds 2); Yu and Koltun: dilations 1, 2, 4, ... grow the field "
              "exponentially, to (2^(i+2) - 1) x (2^(i+2) - 1) after layer i + 1, without "
              "losing resolution.",
    run=run, seeds=0)
