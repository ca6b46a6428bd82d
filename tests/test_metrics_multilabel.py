"""Multi-label metrics against loops written here from the definitions (and scikit-learn
where it is installed), and hand-computed cases."""

import numpy as np
import pytest
import torch

from cnnkit.metrics import MultilabelMeter, average_precision, precision_recall_f1


def _loop_ap(scores, labels):
    """AP as a sum over distinct thresholds, highest first: (R_n - R_{n-1}) P_n, where P_n and
    R_n are the precision and recall of 'score >= threshold n'."""
    positives = sum(labels)
    if positives == 0:
        return float("nan")
    ap, last_recall = 0.0, 0.0
    for threshold in sorted(set(scores), reverse=True):
        chosen = [y for s, y in zip(scores, labels) if s >= threshold]
        tp = sum(chosen)
        precision, recall = tp / len(chosen), tp / positives
        ap += (recall - last_recall) * precision
        last_recall = recall
    return ap


def _loop_prf(predicted, labels):
    tp = sum(p and y for p, y in zip(predicted, labels))
    fp = sum(p and not y for p, y in zip(predicted, labels))
    fn = sum((not p) and y for p, y in zip(predicted, labels))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def test_ap_hand_computed():
    # ranks: + - + - : P at the positives 1 and 2/3 -> AP = (1 + 2/3) / 2
    ap = average_precision(torch.tensor([0.9, 0.8, 0.7, 0.6]), torch.tensor([1, 0, 1, 0]))
    assert float(ap) == pytest.approx(5 / 6)
    # a tie between a positive and a negative: one threshold, precision 1/2 there
    ap = average_precision(torch.tensor([0.5, 0.5, 0.1]), torch.tensor([1, 0, 1]))
    assert float(ap) == pytest.approx(0.5 * 0.5 + 0.5 * 2 / 3)
    assert torch.isnan(average_precision(torch.tensor([0.5, 0.1]), torch.tensor([0, 0])))


def test_f1_hand_computed():
    p, r, f = precision_recall_f1(torch.tensor([3.0, 0.0]), torch.tensor([1.0, 0.0]), torch.tensor([2.0, 0.0]))
    assert p.tolist() == pytest.approx([0.75, 0.0]) and r.tolist() == pytest.approx([0.6, 0.0])
    assert f.tolist() == pytest.approx([2 * 0.75 * 0.6 / 1.35, 0.0])


@pytest.mark.parametrize("seed", range(3))
def test_meter_matches_loops(seed):
    gen = torch.Generator().manual_seed(seed)
    n, k = 97, 5
    logits = torch.randn(n, k, generator=gen)
    logits[::4] = logits[::4].round()  # ties
    target = (torch.rand(n, k, generator=gen) < 0.3).float()
    target[:, 4] = 0  # a label without positives: no AP
    meter = MultilabelMeter(k)
    for part in torch.split(torch.arange(n), [10, 40, 47]):
        meter.update(logits[part], target[part])
    result = meter.compute()
    p = torch.sigmoid(logits)
    for j in range(k):
        scores, labels = p[:, j].tolist(), target[:, j].int().tolist()
        precision, recall, f1 = _loop_prf([s >= 0.5 for s in scores], labels)
        assert result["precision"][j] == pytest.approx(precision, abs=1e-12)
        assert result["recall"][j] == pytest.approx(recall, abs=1e-12)
        assert result["f1"][j] == pytest.approx(f1, abs=1e-12)
        expected = _loop_ap(scores, labels)
        if np.isnan(expected):
            assert result["average_precision"][j] is None
        else:
            assert result["average_precision"][j] == pytest.approx(expected, abs=1e-10)
    defined = [v for v in result["average_precision"] if v is not None]
    assert result["mAP"] == pytest.approx(np.mean(defined))
    assert result["mean_f1"] == pytest.approx(np.mean(result["f1"]))


def test_against_scikit_learn():
    metrics = pytest.importorskip("sklearn.metrics")
    gen = torch.Generator().manual_seed(3)
    scores = torch.rand(80, 4, generator=gen)
    target = (torch.rand(80, 4, generator=gen) < 0.4).int()
    ap = average_precision(scores, target)
    for j in range(4):
        assert float(ap[j]) == pytest.approx(metrics.average_precision_score(target[:, j], scores[:, j]))
    meter = MultilabelMeter(4, logits=False)
    meter.update(scores, target.float())
    f1 = metrics.f1_score(target.numpy(), (scores >= 0.5).int().numpy(), average=None, zero_division=0)
    assert meter.compute()["f1"] == pytest.approx(f1.tolist())
