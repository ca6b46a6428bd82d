"""The task interface: checks with pinned one-line errors, resolve_task and its
contradictions, records, predictions, and meters that equal the metric over the whole set."""

import pytest
import torch

from cnnkit import tasks as T
from cnnkit._validation import ArgumentError, ArgumentTypeError, ShapeError
from cnnkit.functional import boxes as B
from cnnkit.functional import losses as CL
from cnnkit.metrics import DetectionMeter


# ---------------------------------------------------------------------------------------
# resolve_task


@pytest.mark.parametrize("spec_task, loss, targets, expected", [
    (None, None, None, "classify"),
    (None, None, torch.tensor([0, 1, 2]), "classify"),
    (None, None, torch.tensor([[0., 1.], [1., 1.]]), "multilabel"),
    (None, None, torch.rand(4, 3), "regress"),
    (None, None, torch.zeros(4, 8, 8, dtype=torch.long), "segment"),
    (None, None, torch.zeros(4, 6, 5), "detect"),
    (None, "softmax_cross_entropy", torch.tensor([0, 1]), "classify"),
    (None, "softmax_cross_entropy", torch.zeros(2, 5, dtype=torch.long) + 3, "segment"),
    (None, "sigmoid_cross_entropy", None, "multilabel"),
    (None, "smooth_l1", None, "regress"),
    (None, "euclidean", None, "regress"),
    (None, "yolo", None, "detect"),
    (None, "fast_rcnn", None, "detect"),
    ("reconstruct", None, torch.tensor([0, 1]), "reconstruct"),
    ("reconstruct", "mse", torch.zeros(4, 6, 5), "reconstruct"),
    ("segment", None, None, "segment"),
])
def test_resolve_task(spec_task, loss, targets, expected):
    task = T.resolve_task(spec_task, loss, targets)
    assert task.name == expected
    assert task.loss_name == (loss or type(task).losses[0])


class _DataSet:  # what cnnkit.data.Dataset offers: .y and .target
    def __init__(self, y, target):
        self.y, self.target = y, target


def test_resolve_task_reads_the_data_sets_kind_of_target():
    # 0/1 labels per position of a 1-D signal look multi-label; the data set says otherwise
    y = torch.tensor([[0, 1, 1], [1, 0, 0]])
    assert T.resolve_task(None, None, y).name == "multilabel"
    assert T.resolve_task(None, None, _DataSet(y, "segmentation")).name == "segment"


def test_resolve_task_contradictions():
    with pytest.raises(ArgumentError, match=r"^task 'regress' does not fit loss 'softmax_cross_entropy'. "
                                            r"Received: task='regress', loss='softmax_cross_entropy'. "
                                            r"Use loss: euclidean or mse or smooth_l1, or task: classify.$"):
        T.resolve_task("regress", "softmax_cross_entropy")
    with pytest.raises(ArgumentError, match=r"^task 'classify' takes 'class' targets, but the data's "
                                            r"targets are 'segmentation' of shape \(4, 8, 8\). Use task: "
                                            r"segment, or other data.$"):
        T.resolve_task("classify", None, torch.zeros(4, 8, 8, dtype=torch.long))
    with pytest.raises(ArgumentError, match=r"task 'multilabel' takes 'multilabel' targets, but the "
                                            r"data's targets are 'class' of shape \(3,\). Use task: "
                                            r"classify \(loss: softmax_cross_entropy\)"):
        T.resolve_task(None, "sigmoid_cross_entropy", torch.tensor([0, 1, 2]))
    with pytest.raises(ArgumentError, match=r"unknown task 'segmnet'. Did you mean 'segment'\?"):
        T.resolve_task("segmnet")
    with pytest.raises(ArgumentError, match=r"unknown loss 'yolov1'. Did you mean 'yolo'\?"):
        T.resolve_task(None, "yolov1")
    with pytest.raises(ArgumentTypeError, match=r"task 'classify' has no setting 'label_smooting'. "
                                                r"Did you mean 'label_smoothing'\?"):
        T.make_task("classify", label_smooting=0.1)


@pytest.mark.parametrize("name", T.task_names())
def test_records_round_trip(name):
    task = T.make_task(name, num_classes=3)
    again = T.task_from_dict(task.to_dict())
    assert again == task and again.to_dict() == task.to_dict()
    assert task.monitor in task.metrics


# ---------------------------------------------------------------------------------------
# check: one line, both shapes, the task and the fix


def test_classify_checks():
    task = T.Classify()
    with pytest.raises(ShapeError, match=r"^task 'classify': targets of shape \(4, 28, 28\) do not fit "
                                         r"the network's output \(10,\) per sample; this task needs targets "
                                         r"\(N,\) of class indices. For a label per position use task: "
                                         r"segment"):
        task.check((10,), torch.zeros(4, 28, 28, dtype=torch.long))
    with pytest.raises(ShapeError, match=r"output is \(8, 4, 4\) per sample, but classification needs "
                                         r"one score per class, \(K,\). Add `- flatten`"):
        task.check((8, 4, 4), torch.zeros(4, dtype=torch.long))
    with pytest.raises(ArgumentError, match=r"labels run from 0 to 12, outside the 10 classes 0..9 that "
                                            r"the network scores. Map the labels to 0..9, or make the last "
                                            r"layer give 13 outputs."):
        task.check((10,), torch.tensor([0, 12]))
    with pytest.raises(ShapeError, match="the data has 12 classes but the network gives 10 class scores"):
        task.check((10,), torch.tensor([0, 1]), num_classes=12)
    with pytest.raises(ArgumentError, match=r"targets must be int64 class indices. Received: targets of "
                                            r"dtype float32. Convert them with y.long\(\)"):
        task.check((10,), torch.zeros(3))
    with pytest.raises(ArgumentError, match="class_weights has 2 values but there are 3 classes"):
        T.Classify(class_weights=[1, 2]).check((3,), torch.tensor([0]))


def test_multilabel_and_regress_checks():
    with pytest.raises(ArgumentError, match=r"targets must be 0 or 1. Received: a target of 0.5"):
        T.Multilabel().check((2,), torch.tensor([[0.5, 1.0]]))
    with pytest.raises(ArgumentError, match=r"the targets hold 1 NaN or infinite values \(first in sample 1\)"):
        T.Regress().check((2,), torch.tensor([[0.5, 1.0], [float("nan"), 0.0]]))
    with pytest.raises(ShapeError, match=r"targets of shape \(8,\) do not fit the network's output \(1,\).*"
                                         r"Give the targets as \(N, 1\): y.unsqueeze\(1\)."):
        T.Regress().check((1,), torch.zeros(8))
    with pytest.raises(ArgumentError, match="targets must be real numbers"):
        T.Regress().check((1,), torch.zeros(8, 1, dtype=torch.long))


def test_segment_checks():
    task = T.Segment()
    with pytest.raises(ShapeError, match=r"targets of shape \(2, 32, 32\) do not fit the network's output "
                                         r"\(3, 8, 8\) per sample; .* Make the output 32x32"):
        task.check((3, 8, 8), torch.zeros(2, 32, 32, dtype=torch.long))
    with pytest.raises(ArgumentError, match=r"the label maps hold the value 7, outside the 3 classes 0..2 "
                                            r"and not the ignore value 255"):
        task.check((3, 4, 4), torch.full((1, 4, 4), 7))
    task.check((3, 4, 4), torch.full((1, 4, 4), 255))  # every position unlabelled: fine
    with pytest.raises(ArgumentError, match="ignore_index=1 is also one of the 3 classes 0..2"):
        T.Segment(ignore_index=1).check((3, 4), torch.zeros(1, 4, dtype=torch.long))
    with pytest.raises(ShapeError, match="segmentation needs class scores at every position"):
        task.check((10,), torch.zeros(2, 4, dtype=torch.long))


def test_reconstruct_and_detect_checks():
    with pytest.raises(ShapeError, match=r"Make the network's output the input's shape \(1, 28, 28\)"):
        T.Reconstruct().check((1, 24, 24), torch.zeros(4, 1, 28, 28))
    task = T.Detect(num_classes=2)
    good = torch.tensor([[[1, 0.5, 0.5, 0.4, 0.4], [-1, 0, 0, 0, 0]]])
    task.check((12, 7, 7), good)
    with pytest.raises(ArgumentError, match=r"a box runs outside the image \(cx, cy, w, h = \[0.9, 0.5, 0.4, 0.2\]"):
        task.check((12, 7, 7), torch.tensor([[[0, 0.9, 0.5, 0.4, 0.2]]]))
    with pytest.raises(ArgumentError, match=r"a box has a non-positive size \(w=0, h=0.2, in image 0\)"):
        task.check((12, 7, 7), torch.tensor([[[0, 0.5, 0.5, 0.0, 0.2]]]))
    with pytest.raises(ArgumentError, match=r"a box has the class 2 \(image 0\), not one of the 2 classes"):
        task.check((12, 7, 7), torch.tensor([[[2, 0.5, 0.5, 0.2, 0.2]]]))
    with pytest.raises(ArgumentError, match=r"NaN or infinite"):
        task.check((12, 7, 7), torch.tensor([[[0, float("nan"), 0.5, 0.2, 0.2]]]))
    with pytest.raises(ShapeError, match=r"gives 13 values per grid cell, which is not 5B \+ C for C = 2 classes"):
        task.check((13, 7, 7), good)
    with pytest.raises(ShapeError, match=r"a YOLO grid head gives \(5B \+ C, rows, cols\)"):
        T.Detect().check((10,), good)
    with pytest.raises(ShapeError, match=r"targets of shape \(1, 5\) do not fit .* \(N, M, 5\)"):
        task.check((12, 7, 7), torch.zeros(1, 5))
    # a flat grid output with the classes known: a square grid
    flat = T.Detect(num_classes=2)
    flat.check((12 * 7 * 7,), good)
    assert flat.boxes_per_cell == 2
    with pytest.raises(ShapeError, match=r"a Fast R-CNN head gives \(R, 5 \(K \+ 1\)\)"):
        T.Detect(loss="fast_rcnn").check((12, 7, 7), good)


# ---------------------------------------------------------------------------------------
# loss, predict, meters


def test_losses_are_the_functional_losses():
    gen = torch.Generator().manual_seed(0)
    logits, labels = torch.randn(4, 3, generator=gen), torch.tensor([0, 2, 1, 1])
    task = T.Classify(label_smoothing=0.1, class_weights=[1.0, 2.0, 0.5])
    expected = CL.softmax_cross_entropy(logits, labels, label_smoothing=0.1,
                                        weight=torch.tensor([1.0, 2.0, 0.5]))
    torch.testing.assert_close(task.loss(logits, labels), expected)
    maps = torch.randint(0, 3, (2, 5, 5), generator=gen)
    maps[0, 0] = 255
    out = torch.randn(2, 3, 5, 5, generator=gen)
    torch.testing.assert_close(T.Segment().loss(out, maps),
                               CL.softmax_cross_entropy(out, maps, ignore_index=255))
    y = torch.randn(4, 2, generator=gen)
    torch.testing.assert_close(T.Regress(loss="smooth_l1").loss(y * 2, y), CL.smooth_l1_loss(y * 2, y))
    boxes = torch.tensor([[[1, 0.5, 0.5, 0.4, 0.4]]])
    grid = torch.rand(1, 12, 3, 3, generator=gen)
    torch.testing.assert_close(T.Detect(num_classes=2).loss(grid, boxes), CL.yolo_v1_loss(grid, boxes))
    # the flat form of the same grid output gives the same loss
    task = T.Detect(num_classes=2)
    torch.testing.assert_close(task.loss(grid.flatten(1), boxes), CL.yolo_v1_loss(grid, boxes))


def test_predictions():
    out = torch.tensor([[2.0, 0.0, 1.0]])
    p = T.Classify().predict(out)
    torch.testing.assert_close(p["probabilities"], torch.softmax(out, 1))
    assert p["classes"].tolist() == [0]
    m = T.Multilabel(threshold=0.7).predict(torch.tensor([[0.5, 1.0, -1.0]]))  # sigmoid .62 .73 .27
    assert m["labels"].tolist() == [[0, 1, 0]]
    s = T.Segment().predict(torch.tensor([[[0.0, 2.0], [1.0, 0.0]]]))  # (1, 2 classes, 2)
    assert s["mask"].tolist() == [[1, 0]]
    assert set(T.Reconstruct().predict(torch.zeros(1, 1, 2, 2))) == {"reconstruction"}
    assert set(T.Regress().predict(torch.zeros(1, 2))) == {"values"}


def test_detect_predict_applies_nms_and_threshold():
    # two cells predicting the same object, one elsewhere; B = 1, C = 2 on a 1x3 grid
    out = torch.zeros(1, 7, 1, 3)
    out[0, :, 0, 0] = torch.tensor([0.9, 0.5, 0.6, 0.6, 0.9, 1.0, 0.0])   # class 0, 0.9
    out[0, :, 0, 1] = torch.tensor([0.1, 0.5, 0.6, 0.6, 0.8, 1.0, 0.0])   # same box, 0.8: suppressed
    out[0, :, 0, 2] = torch.tensor([0.5, 0.5, 0.3, 0.3, 0.7, 0.0, 1.0])   # class 1, 0.7
    task = T.Detect(num_classes=2, boxes_per_cell=1, score_threshold=0.05)
    found = task.predict(out)
    assert found["valid"].tolist() == [[True, True]]
    assert found["scores"][0].tolist() == pytest.approx([0.9, 0.7])
    assert found["classes"][0].tolist() == [0, 1]
    expected = B.yolo_decode(out, 1, 2)[0][0, 0]
    torch.testing.assert_close(found["boxes"][0, 0], expected)
    assert T.Detect(num_classes=2, boxes_per_cell=1, score_threshold=0.95).predict(out)["boxes"].shape == (1, 0, 4)


def test_meters_over_batches_equal_one_pass():
    gen = torch.Generator().manual_seed(1)
    cases = [
        (T.Classify(num_classes=4), torch.randn(30, 4, generator=gen), torch.randint(0, 4, (30,), generator=gen)),
        (T.Multilabel(num_classes=3), torch.randn(30, 3, generator=gen),
         (torch.rand(30, 3, generator=gen) < 0.5).float()),
        (T.Regress(), torch.randn(30, 2, generator=gen), torch.randn(30, 2, generator=gen)),
        (T.Segment(num_classes=3), torch.randn(30, 3, 4, 4, generator=gen),
         torch.randint(0, 3, (30, 4, 4), generator=gen)),
        (T.Reconstruct(), torch.rand(30, 1, 4, 4, generator=gen), torch.rand(30, 1, 4, 4, generator=gen)),
    ]
    for task, outputs, targets in cases:
        whole, parts = task.meter(), task.meter()
        whole.update(outputs, targets)
        for index in torch.split(torch.arange(30), [7, 13, 10]):
            parts.update(outputs[index], targets[index])
        a, b = whole.compute(), parts.compute()
        assert a.keys() == b.keys() and task.monitor in a, task.name
        for key in a:
            assert a[key] == pytest.approx(b[key], rel=1e-9, abs=1e-12), (task.name, key)


def test_detect_meter_scores_perfect_outputs_one():
    # the perfect grid output for the targets has mAP 1
    targets = torch.tensor([[[0, 0.3, 0.3, 0.2, 0.2], [1, 0.7, 0.6, 0.3, 0.4]],
                            [[1, 0.5, 0.5, 0.5, 0.5], [-1, 0, 0, 0, 0]]])
    rows = cols = 4
    obj, boxes, classes = B.yolo_encode(targets, (rows, cols))
    out = torch.zeros(2, 5 + 2, rows, cols)
    r, c = torch.arange(rows).view(rows, 1).float(), torch.arange(cols).view(1, cols).float()
    out[:, 0], out[:, 1] = boxes[..., 0] * cols - c, boxes[..., 1] * rows - r
    out[:, 2:4] = boxes[..., 2:].sqrt().permute(0, 3, 1, 2)
    out[:, 4] = obj.float()
    out[:, 5:] = torch.nn.functional.one_hot(classes.clamp_min(0), 2).permute(0, 3, 1, 2).float()
    task = T.Detect(num_classes=2, boxes_per_cell=1)
    meter = task.meter()
    meter.update(out, targets)
    result = meter.compute()
    assert result["mAP"] == pytest.approx(1.0) and result["objects"] == 3
    assert isinstance(meter.meter, DetectionMeter)
