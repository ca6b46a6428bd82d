"""Confusion matrix, per-class accuracy, most confidently wrong, embeddings: on a small
network trained for a few seconds on the bundled 8x8 digits."""

import numpy as np
import pytest
import torch

from cnnkit import ArgumentError, ShapeError
from cnnkit.data import load_dataset
from cnnkit.inspect import (confusion_matrix, embedding, evaluate_classes, features,
                            penultimate_layer, per_class_accuracy, predict)
from cnnkit.spec import build

SPEC = {"name": "digits_small", "input": [1, 8, 8], "layers": [
    {"conv": {"filters": 8, "kernel": 3, "padding": "same", "activation": "relu"}},
    {"maxpool": 2}, "flatten", {"dense": {"units": 32, "activation": "relu"}}, {"dense": 10}]}

@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Small tensors: one thread is faster than two fighting over shared cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)



@pytest.fixture(scope="module")
def trained():
    torch.manual_seed(0)
    net = build(SPEC)
    train, test = load_dataset("digits", "train"), load_dataset("digits", "test")
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    g = torch.Generator().manual_seed(0)
    for _ in range(120):
        idx = torch.randint(0, len(train), (64,), generator=g)
        loss = torch.nn.functional.cross_entropy(net(train.x[idx]), train.y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net.eval(), test


def test_confusion_matrix_counts_the_test_set(trained):
    net, test = trained
    ev = evaluate_classes(net, test)
    with torch.no_grad():
        predicted = net(test.x).argmax(dim=1)
    correct = int((predicted == test.y).sum())
    assert ev.confusion.shape == (10, 10)
    assert int(ev.confusion.sum()) == len(test) == 359
    assert int(ev.confusion.diagonal().sum()) == correct == ev.correct
    assert ev.accuracy == pytest.approx(correct / len(test))
    assert ev.accuracy > 0.8  # the network did learn, so the matrix is not trivial
    # row = true class, column = predicted class, cell by cell
    for t in range(10):
        for p in range(10):
            assert ev.confusion[t, p] == int(((test.y == t) & (predicted == p)).sum())
    assert torch.equal(ev.confusion.sum(dim=1), torch.bincount(test.y, minlength=10))


def test_per_class_accuracy_is_recall(trained):
    net, test = trained
    ev = evaluate_classes(net, test)
    for c in range(10):
        mine = (ev.predicted[test.y == c] == c).float().mean()
        assert float(ev.per_class[c]) == pytest.approx(float(mine))
    assert torch.isnan(per_class_accuracy(torch.tensor([[1, 0], [0, 0]])))[1]


def test_most_confidently_wrong_are_wrong_and_sorted(trained):
    net, test = trained
    ev = evaluate_classes(net, test)
    wrong = ev.most_confident_wrong(5)
    assert len(wrong) == min(5, len(test) - ev.correct) and len(wrong) > 0
    assert all(ev.predicted[i] != test.y[i] for i in wrong)
    confidence = [float(ev.probs[i].max()) for i in wrong]
    assert confidence == sorted(confidence, reverse=True)
    every = ev.most_confident_wrong(len(test))
    top = float(ev.probs[every].max(dim=1).values.max())
    assert confidence[0] == pytest.approx(top)  # none more confident is left out


def test_predict_gives_probabilities(trained):
    net, test = trained
    probs = predict(net, test.x[:50], batch_size=7)
    assert probs.shape == (50, 10)
    assert torch.allclose(probs.sum(dim=1), torch.ones(50), atol=1e-5)
    assert torch.allclose(probs, torch.softmax(net(test.x[:50]), dim=1), atol=1e-6)


def test_confusion_matrix_errors():
    with pytest.raises(ShapeError, match=r"Received: 3 predictions and 2 targets"):
        confusion_matrix(torch.tensor([0, 1, 1]), torch.tensor([0, 1]))
    with pytest.raises(ArgumentError, match=r"evaluate_classes needs labels"):
        evaluate_classes(torch.nn.Linear(2, 2), torch.rand(3, 2))


def test_penultimate_embedding_is_the_pca_of_the_classifier_input(trained):
    net, test = trained
    assert penultimate_layer(net) == "layers.6"  # the last dense; its input is 32 ReLUs
    feats = features(net, test.x)
    assert feats.shape == (359, 32)
    with torch.no_grad():
        h = net.layers[:6](test.x)
    assert torch.allclose(feats, h, atol=1e-6)
    coords = embedding(net, test.x)
    assert coords.shape == (359, 2)
    centred = h.double().numpy() - h.double().numpy().mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    expected = centred @ vt[:2].T
    for k in range(2):  # the same components up to sign
        a, b = coords[:, k].double().numpy(), expected[:, k]
        assert np.allclose(np.abs(a), np.abs(b), atol=1e-3)
    assert coords[:, 0].var() >= coords[:, 1].var()
    # classes separate in the embedding: class means are further apart than chance
    means = torch.stack([coords[test.y == c].mean(0) for c in range(10)])
    assert means.std(dim=0).sum() > 0.2 * coords.std(dim=0).sum()


def test_tsne_without_scikit_learn_says_what_to_install(trained):
    pytest.importorskip("numpy")
    try:
        import sklearn  # noqa: F401
        pytest.skip("scikit-learn is installed: t-SNE runs instead of failing")
    except ImportError:
        pass
    net, test = trained
    with pytest.raises(ArgumentError, match=r"method='tsne' needs scikit-learn.*use "
                                            r"method='pca'"):
        embedding(net, test.x[:20], method="tsne")
