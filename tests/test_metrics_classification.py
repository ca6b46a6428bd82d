"""Classification metrics against loops written here and hand-computed cases; the meter
over uneven batches equals the metric over the whole set."""

import numpy as np
import pytest
import torch

from cnnkit._validation import ArgumentError, ShapeError
from cnnkit.metrics import (ClassificationMeter, accuracy, confusion_matrix, per_class_accuracy,
                            top_k_accuracy)


def _loop_top_k(scores, labels, k):
    hits = 0
    for row, label in zip(scores.tolist(), labels.tolist()):
        higher = sum(1 for v in row if v > row[label])  # ties count in the sample's favour
        hits += higher < k
    return hits / len(labels)


def test_hand_computed():
    scores = torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.5, 0.4], [0.3, 0.3, 0.4], [0.0, 0.9, 0.1]])
    labels = torch.tensor([0, 2, 0, 1])
    assert accuracy(scores, labels) == 0.5                # samples 0 and 3
    assert top_k_accuracy(scores, labels, 2) == 1.0       # 2 is second in row 1; 0 ties in row 2
    assert confusion_matrix(scores.argmax(1), labels, 3).tolist() == [[1, 0, 1], [0, 1, 0], [0, 1, 0]]
    cm = confusion_matrix(scores.argmax(1), labels, 3)
    assert per_class_accuracy(cm).tolist() == [0.5, 1.0, 0.0]


@pytest.mark.parametrize("seed", range(3))
def test_meter_over_batches_equals_the_whole_set(seed):
    gen = torch.Generator().manual_seed(seed)
    k, n = 7, 203
    scores = torch.randn(n, k, generator=gen)
    scores[::5, 0] = scores[::5, 1]  # some ties
    labels = torch.randint(0, k, (n,), generator=gen)
    meter = ClassificationMeter(k, topk=(3, 5, 7, 9))
    for part in torch.split(torch.arange(n), [1, 50, 100, 52]):
        meter.update(scores[part], labels[part])
    result = meter.compute()
    assert set(result) == {"accuracy", "top3_accuracy", "top5_accuracy", "per_class_accuracy", "count"}
    predicted = scores.argmax(1)
    assert result["accuracy"] == pytest.approx(float((predicted == labels).double().mean()), abs=1e-12)
    for kk in (3, 5):
        assert result[f"top{kk}_accuracy"] == pytest.approx(_loop_top_k(scores, labels, kk), abs=1e-12)
    expected = [float(np.mean([p == c for p, t in zip(predicted.tolist(), labels.tolist()) if t == c]))
                for c in range(k)]
    assert result["per_class_accuracy"] == pytest.approx(expected, abs=1e-12)
    cm = np.zeros((k, k), dtype=int)
    for t, p in zip(labels.tolist(), predicted.tolist()):
        cm[t, p] += 1
    np.testing.assert_array_equal(meter.confusion.numpy(), cm)
    assert result["count"] == n


def test_top_k_is_left_out_when_k_is_not_below_the_classes():
    meter = ClassificationMeter(3, topk=(5,))
    meter.update(torch.randn(4, 3), torch.tensor([0, 1, 2, 0]))
    assert "top5_accuracy" not in meter.compute()


def test_empty_class_is_none_and_errors():
    meter = ClassificationMeter(3)
    meter.update(torch.tensor([[1.0, 0, 0]]), torch.tensor([0]))
    assert meter.compute()["per_class_accuracy"] == [1.0, None, None]
    with pytest.raises(ArgumentError, match="labels must lie in 0 .. 2 for 3 classes. Received: labels from 0 to 3"):
        confusion_matrix(torch.tensor([0]), torch.tensor([3]), 3)
    with pytest.raises(ShapeError, match=r"scores \(N, K\) and labels \(N,\)"):
        meter.update(torch.zeros(2, 3), torch.zeros(3, dtype=torch.long))
    with pytest.raises(ArgumentError, match="k must be a positive int. Received: k=0"):
        top_k_accuracy(torch.zeros(2, 3), torch.zeros(2, dtype=torch.long), 0)
