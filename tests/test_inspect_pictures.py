"""The pictures of each task, from (model, task, inputs, targets): pixels, points and bars
checked against what the model predicts, with models whose outputs are known by hand."""

import math

import numpy as np
import pytest
import torch
import torch.nn as nn

from cnnkit.inspect import pictures as P
from cnnkit.inspect.plots import plot_activations, plot_confusion, plot_examples, plot_filters
from cnnkit.tasks import make_task


class Fixed(nn.Module):
    """Gives the same output for every sample."""

    def __init__(self, out):
        super().__init__()
        self.register_buffer("out", out)

    def forward(self, x):
        return self.out.expand(len(x), *self.out.shape[1:])


def threshold_conv(dims):
    """Two class scores per position: class 1 where the input is above 0.5."""
    conv = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}[dims](1, 2, 1)
    with torch.no_grad():
        conv.weight.zero_()
        conv.bias.zero_()
        conv.weight[1] = 10.0
        conv.bias[1] = -5.0
    return conv


def blend(base, colour, alpha=0.5):
    return ((1 - alpha) * np.asarray(base, float) + alpha * np.asarray(colour, float) + 0.5).astype(np.uint8)


def test_mask_overlay_colours_each_class_and_leaves_background_clear():
    image = np.full((2, 3, 3), 100, np.uint8)
    mask = np.array([[0, 1, 255], [2, 2, 0]])
    out = P.mask_overlay(image, mask, clear=(0,))
    assert out[0, 0].tolist() == [100, 100, 100]  # background: the input itself
    assert out[0, 1].tolist() == blend(100, P.class_colour(1)).tolist()
    assert out[0, 2].tolist() == blend(100, P.IGNORE_COLOUR).tolist()
    assert out[1, 0].tolist() == blend(100, P.class_colour(2)).tolist()
    with pytest.raises(ValueError, match=r"the mask must have the image's size \(2, 3\)"):
        P.mask_overlay(image, np.zeros((3, 3)))


def test_segmentation_2d_draws_truth_and_prediction_over_the_input():
    x = torch.zeros(2, 1, 8, 8)
    x[:, :, :, :4] = 1.0  # left half bright: predicted class 1 there, class 0 right
    y = torch.ones(2, 8, 8, dtype=torch.long)
    y[1, :, 6:] = 255
    task = make_task("segment")
    fig = P.plot_segmentation(threshold_conv(2), task, x, y, classes=["background", "digit"])
    panels = [im.get_array() for im in fig.images]
    assert len(panels) == 2 * 3 + 2  # input, true, predicted per sample; 2 swatches
    inp, true, pred = (np.asarray(p) for p in panels[:3])
    s = inp.shape[0] // 8  # whole-pixel blocks
    assert inp.shape == (8 * s, 8 * s, 3)
    digit = blend(255, P.class_colour(1))
    assert pred[0, 0].tolist() == digit.tolist()           # left: class 1, coloured
    assert pred[0, -1].tolist() == [0, 0, 0]               # right: background, clear
    assert true[0, -1].tolist() == blend(0, P.class_colour(1)).tolist()
    true1 = np.asarray(panels[4])
    assert true1[0, -1].tolist() == blend(0, P.IGNORE_COLOUR).tolist()  # unlabelled: grey
    captions = [t.get_text() for t in fig.texts]
    assert captions[:3] == ["input", "true", "predicted"] and "background (clear)" in captions


def test_segmentation_1d_has_bands_of_true_and_predicted_labels():
    x = torch.zeros(1, 1, 20)
    x[..., 10:] = 1.0
    y = torch.zeros(1, 20, dtype=torch.long)
    fig = P.plot_segmentation(threshold_conv(1), make_task("segment"), x, y)
    panel = np.asarray(fig.images[0].get_array())
    w = panel.shape[1]
    true_band, pred_band = panel[-8 - 2 - 4], panel[-4]  # two 8-row bands, 2 rows apart
    assert true_band[0].tolist() == P.class_colour(0).tolist()
    assert true_band[w - 1].tolist() == P.class_colour(0).tolist()
    assert pred_band[0].tolist() == P.class_colour(0).tolist()
    assert pred_band[w - 1].tolist() == P.class_colour(1).tolist()


def test_segmentation_3d_shows_the_middle_slice():
    x = torch.zeros(1, 1, 5, 4, 4)
    x[0, 0, 2] = 1.0  # only the middle slice is bright: class 1 there
    fig = P.plot_segmentation(threshold_conv(3), make_task("segment"), x, None)
    pred = np.asarray(fig.images[1].get_array())
    assert pred[0, 0].tolist() == blend(255, P.class_colour(1)).tolist()
    assert "middle depth slice (2 of 5)" in [t.get_text() for t in fig.texts]


def test_detection_draws_true_boxes_dashed_and_predictions_with_class_and_score():
    out = torch.zeros(1, 7, 1, 1)  # B = 1, C = 2: one box at the centre, half the image
    out[0, :, 0, 0] = torch.tensor([0.5, 0.5, math.sqrt(0.5), math.sqrt(0.5), 0.9, 0.0, 1.0])
    task = make_task("detect", num_classes=2, boxes_per_cell=1)
    targets = torch.tensor([[[0, 0.5, 0.5, 0.25, 0.25], [-1, 0, 0, 0, 0]]])
    task.check((7, 1, 1), targets)
    fig = P.plot_detection(Fixed(out), task, torch.zeros(1, 1, 32, 32), targets,
                           classes=["cat", "dog"])
    (panel,) = [np.asarray(im.get_array()) for im in fig.images]
    assert panel.shape == (160, 160, 3)
    dog, cat = P.class_colour(1).tolist(), P.class_colour(0).tolist()
    assert panel[40, 80].tolist() == dog and panel[119, 80].tolist() == dog  # solid edges
    assert panel[80, 40].tolist() == dog and panel[80, 80].tolist() == [0, 0, 0]
    assert panel[60, 60].tolist() == cat and panel[60, 64].tolist() == [0, 0, 0]  # dashed
    texts = [t.get_text() for t in fig.texts]
    assert "dog 0.90" in texts and "image 0: 1 predicted" in texts


def test_detection_leaves_out_boxes_below_the_score():
    out = torch.zeros(1, 7, 1, 1)
    out[0, :, 0, 0] = torch.tensor([0.5, 0.5, 0.7, 0.7, 0.2, 1.0, 0.0])
    task = make_task("detect", num_classes=2, boxes_per_cell=1)
    task.check((7, 1, 1), torch.tensor([[[1.0, 0.5, 0.5, 0.4, 0.4]]]))  # sets the grid
    fig = P.plot_detection(Fixed(out), task, torch.zeros(1, 1, 16, 16), min_score=0.3)
    assert (np.asarray(fig.images[0].get_array()) == 0).all()
    assert "image 0: 0 predicted" in [t.get_text() for t in fig.texts]


def test_reconstruction_shows_psnr_and_the_difference():
    class Shift(nn.Module):
        def forward(self, x):
            return x + 0.1

    x = torch.full((2, 1, 6, 6), 0.5)
    fig = P.plot_reconstruction(Shift(), make_task("reconstruct"), x)
    captions = [t.get_text() for t in fig.texts]
    assert captions[:3] == ["input", "reconstruction, PSNR 20.0 dB", "|difference|"]
    recon = np.asarray(fig.images[1].get_array())
    assert recon[0, 0].tolist() == [153, 153, 153]  # 0.6 as grey
    diff = np.asarray(fig.images[2].get_array())
    assert (diff == diff[0, 0]).all()  # the same error everywhere

    noised = P.plot_reconstruction(nn.Identity(), make_task("reconstruct", noise=0.3), x[:1])
    assert [t.get_text() for t in noised.texts][0] == "input (noised)"
    assert "target" in [t.get_text() for t in noised.texts]


def test_reconstruction_of_signals_draws_three_traces():
    x = torch.linspace(0, 1, 30).reshape(1, 1, 30)
    fig = P.plot_reconstruction(nn.Identity(), make_task("reconstruct"), x)
    panel = np.asarray(fig.images[0].get_array())
    blue = (panel == P.CLASS_COLOURS[0]).all(axis=2)
    assert blue[-1, 0] and blue[0, -1]  # the ramp: bottom left to top right
    assert "PSNR inf dB" in fig.texts[0].get_text()


def test_regression_scatter_is_predicted_against_true():
    lin = nn.Linear(2, 2)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 2.0]]))
        lin.bias.zero_()
    x = torch.randn(50, 2, generator=torch.Generator().manual_seed(0))
    y = x.clone()
    fig = P.plot_regression(lin, make_task("regress"), x, y, names=["a", "b"])
    first, second, hist = fig.axes
    np.testing.assert_allclose(first.collections[0].get_offsets(), np.c_[y[:, 0], x[:, 0]],
                               rtol=1e-5)
    np.testing.assert_allclose(second.collections[0].get_offsets()[:, 1], 2 * x[:, 1], rtol=1e-5)
    assert first.get_title() == "a: R\u00b2 1.000"
    from cnnkit.metrics.regression import r2_score

    r2 = float(r2_score(lin(x).detach(), y)[1])
    assert second.get_title() == f"b: R\u00b2 {r2:.3f}" and r2 < 0.9
    assert sum(p.get_height() for p in hist.patches) == 100  # every residual counted


def test_multilabel_bars_are_per_label_precision_and_recall():
    # label 0: 2 true, predicted on one of them and on one negative -> P = R = 0.5
    # label 1: predicted exactly -> P = R = 1
    y = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0], [0.0, 1.0]])
    logits = torch.tensor([[5.0, -5.0], [-5.0, 5.0], [5.0, -5.0], [-5.0, 5.0]])
    task = make_task("multilabel", num_classes=2)
    fig = P.plot_multilabel(nn.Identity(), task, logits, y, names=["sky", "sea"])
    ax = fig.axes[0]
    precision, recall, f1 = ([float(b.get_height()) for b in c] for c in ax.containers)
    assert precision == [0.5, 1.0] and recall == [0.5, 1.0] and f1 == [0.5, 1.0]
    assert [t.get_text().split("\n")[0] for t in ax.get_xticklabels()] == ["sky", "sea"]


def test_pictures_refuse_the_wrong_task_and_bad_input():
    with pytest.raises(ValueError, match="this picture is for task segment. Received: task='regress'"):
        P.plot_segmentation(nn.Identity(), make_task("regress"), torch.zeros(1, 1, 4, 4))
    with pytest.raises(TypeError, match="task must be a cnnkit.tasks.Task"):
        P.plot_regression(nn.Identity(), "regress", torch.zeros(2, 1), torch.zeros(2, 1))
    with pytest.raises(ValueError, match="needs the true values. Received: targets=None"):
        P.plot_regression(nn.Identity(), make_task("regress"), torch.zeros(2, 1), None)
    with pytest.raises(ValueError, match="at least one sample. Received: 0 inputs"):
        P.plot_reconstruction(nn.Identity(), make_task("reconstruct"), torch.zeros(0, 1, 4, 4))


def test_task_figures_name_the_sections_of_each_task():
    x = torch.rand(4, 1, 8, 8)
    seg = P.task_figures(threshold_conv(2), make_task("segment"), x,
                         torch.zeros(4, 8, 8, dtype=torch.long))
    assert [s[0] for s in seg] == ["masks"]
    assert P.task_figures(nn.Identity(), make_task("classify"), x, None) == []


def test_activations_of_1d_and_3d_layers():
    ramp = torch.stack([torch.linspace(0, 1, 30), torch.zeros(30)]).reshape(1, 2, 30)
    fig = plot_activations({"seq": ramp, "vol": torch.rand(1, 3, 4, 5, 5)})
    trace = np.asarray(fig.images[0].get_array())
    ink = (trace != 255).any(axis=2)
    assert ink[-1, 0] and ink[0, -1] and not ink[0, 0]  # rising from bottom left
    assert len(fig.images) == 2 + 3
    assert np.asarray(fig.images[2].get_array()).shape[:2] == (55, 55)  # 5x5 slice, 11 px
    titles = [t.get_text() for t in fig.texts]
    assert titles == ["seq: 2x30", "vol: 3x4x5x5 (depth slice 2 of 4)"]


def test_filters_of_1d_and_3d_convolutions():
    w = torch.zeros(2, 1, 5)
    w[0, 0] = torch.tensor([-1.0, 0, 1, 0, -1])
    fig = plot_filters(w)
    assert len(fig.images) == 2
    assert "scale -1 to 1" in fig.texts[1].get_text()
    assert len(plot_filters(torch.randn(4, 1, 3, 3, 3)).images) == 4


def test_confusion_tick_labels_stay_inside_the_figure():
    names = [f"a rather long class name {i}" for i in range(6)]
    fig = plot_confusion(torch.randint(0, 2000, (6, 6)), names)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    box = fig.bbox
    ax = fig.axes[0]
    for label in ax.get_xticklabels() + ax.get_yticklabels():
        extent = label.get_window_extent(renderer)
        assert extent.x0 >= box.x0 - 1 and extent.y0 >= box.y0 - 1, label.get_text()
        assert extent.x1 <= box.x1 + 1 and extent.y1 <= box.y1 + 1, label.get_text()
    assert {t.get_text() for t in ax.texts} <= {str(i) for i in range(1000)} | {
        t.get_text() for t in ax.texts if t.get_text().endswith("k")}


def test_example_captions_do_not_overlap():
    titles = [f"seven\u2192three 0.9{i}" for i in range(8)]
    fig = plot_examples(torch.rand(8, 1, 8, 8), titles, columns=4)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in fig.texts]
    for i, a in enumerate(boxes):
        assert a.x1 <= fig.bbox.x1
        for b in boxes[i + 1:]:
            assert not a.overlaps(b), (a, b)
