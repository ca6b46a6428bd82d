"""Figures: PNGs decode, have one panel per map / filter, and the panels show the data."""

import io

import numpy as np
import pytest
import torch
from PIL import Image

from cnnkit import ArgumentError, ShapeError
from cnnkit.inspect import (Field, capture, conv_filters, plot_activations, plot_confusion,
                            plot_curves, plot_embedding, plot_examples, plot_filters,
                            plot_receptive_field, plot_saliency, to_png)
from cnnkit.inspect.plots import colorize
from cnnkit.models import create_model


def _decode(png: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    return np.asarray(image.convert("RGB"))


def _panel(fig, k):
    """The k-th panel's pixels, and where it sits in the PNG (row, column of its corner)."""
    image = fig.images[k]
    height = int(round(fig.get_figheight() * fig.dpi))
    data = np.asarray(image.get_array())
    return data, (height - image.oy - data.shape[0], image.ox)


@pytest.fixture(scope="module")
def lenet_acts():
    torch.manual_seed(0)
    net = create_model("lenet5").eval()
    return net, capture(net, torch.rand(2, 1, 28, 28))


def test_activation_figure_has_one_panel_per_map_and_a_title_per_layer(lenet_acts):
    net, acts = lenet_acts
    fig = plot_activations(acts, 1, kinds={"layers.0": "conv"})
    volumes = [t for t in acts.values() if t.dim() == 4]
    vectors = [t for t in acts.values() if t.dim() == 2]
    assert len(fig.images) == sum(t.shape[1] for t in volumes) + len(vectors) == 6 * 3 + 16 * 3 + 6
    titles = [t.get_text() for t in fig.texts]
    assert titles[0] == "layers.0 conv: 6x28x28"
    assert titles[5] == "layers.5: 16x5x5" and titles[-1] == "layers.11: 10"
    png = to_png(fig)
    pixels = _decode(png)
    assert pixels.shape[:2] == (round(fig.get_figheight() * fig.dpi), round(fig.get_figwidth() * fig.dpi))
    # The first panel is the first map of sample 1, scaled up by whole pixels (28 -> 56),
    # coloured on the layer's common scale; it sits in the PNG where the figure put it.
    panel, (top, left) = _panel(fig, 0)
    assert panel.shape == (56, 56, 3)
    layer = acts["layers.0"][1]
    expected = colorize(layer[0], "viridis", float(layer.min()), float(layer.max()))
    assert np.array_equal(panel[::2, ::2], expected)
    assert np.array_equal(pixels[top:top + 56, left:left + 56], panel)


def test_max_maps_caps_the_panels_and_says_so(lenet_acts):
    _, acts = lenet_acts
    fig = plot_activations({"layers.3": acts["layers.3"]}, max_maps=5)
    assert len(fig.images) == 5
    assert fig.texts[0].get_text() == "layers.3: 16x10x10 (first 5 maps)"
    with pytest.raises(ArgumentError, match=r"sample must index the batch of 2\. Received: "
                                            r"sample=2"):
        plot_activations(acts, 2)


def test_filter_figures(lenet_acts):
    net, _ = lenet_acts
    first = conv_filters(net)
    assert first.shape == (6, 1, 5, 5)
    fig = plot_filters(first)
    assert len(fig.images) == 6
    panel, _ = _panel(fig, 2)
    assert panel.shape[0] == panel.shape[1] and panel.shape[0] % 5 == 0
    w = first[2, 0]
    limit = float(w.abs().max())
    step = panel.shape[0] // 5
    assert np.array_equal(panel[::step, ::step], colorize(w, "gray", -limit, limit))
    deeper = conv_filters(net, "layers[3]")
    assert deeper.shape == (16, 6, 5, 5)
    fig = plot_filters(deeper, max_filters=4)
    assert len(fig.images) == 4 * 6  # one panel per (filter, input channel)
    colour = plot_filters(torch.randn(5, 3, 3, 3))
    assert len(colour.images) == 5
    assert _decode(to_png(colour)).shape[2] == 3
    with pytest.raises(ArgumentError, match=r"layer 'layers\.1' \(Tanh\) is not a convolution"):
        conv_filters(net, "layers.1")
    with pytest.raises(ShapeError, match=r"plot_filters draws filters \(out, in, \*kernel\) of 1 "
                                         r"to 3 dimensions. Received: shape \(4, 3\)"):
        plot_filters(torch.randn(4, 3))


def test_saliency_and_examples_figures():
    img = torch.rand(3, 10, 12)
    fig = plot_saliency(img, {"gradient": torch.rand(10, 12), "occlusion": torch.randn(10, 12)},
                        title="t")
    assert len(fig.images) == 3
    panel, _ = _panel(fig, 0)
    scale = panel.shape[0] // 10
    assert panel.shape[:2] == (10 * scale, 12 * scale)
    expected = (img.permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
    assert np.array_equal(panel[::scale, ::scale], expected)  # the input, in colour
    fig = plot_examples(torch.rand(11, 1, 8, 8), [str(i) for i in range(11)], columns=4)
    assert len(fig.images) == 11
    assert [t.get_text() for t in fig.texts] == [str(i) for i in range(11)]
    _decode(to_png(fig))


def test_axes_figures_decode(tmp_path):
    fig = plot_confusion(torch.tensor([[3, 1, 0], [0, 5, 1], [2, 0, 4]]), ["a", "b", "c"])
    assert [t.get_text() for t in fig.axes[0].texts] == ["3", "1", "0", "0", "5", "1", "2", "0", "4"]
    path = tmp_path / "confusion.png"
    png = to_png(fig, path)
    assert path.read_bytes() == png
    assert b"Software" not in png[:200]  # no text chunk naming the plotting library
    curves = plot_curves([{"split": "train", "step": s, "loss": 2 / s, "accuracy": 1 - 1 / s}
                          for s in range(1, 6)] +
                         [{"split": "val", "step": 5, "val_loss": 0.5, "val_accuracy": 0.7}])
    loss_ax = curves.axes[0]
    assert [len(line.get_xdata()) for line in loss_ax.lines] == [5, 1]
    emb = plot_embedding(torch.randn(40, 2), torch.arange(40) % 4, list("abcd"))
    assert len(emb.axes[0].collections) == 4
    f = Field("layers.2", (0, 1, 2), (2, 4), (9, 11), (8, 8), (2, 2), (0, 0))
    rf = plot_receptive_field(torch.rand(1, 16, 16), f, torch.rand(5, 5))
    rect = rf.axes[0].patches[0]
    assert (rect.get_x(), rect.get_y(), rect.get_width(), rect.get_height()) == (3.5, 1.5, 8, 8)
    for figure in (curves, emb, rf):
        assert _decode(to_png(figure)).ndim == 3
