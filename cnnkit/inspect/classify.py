"""How a classifier does on a data set: predictions, confusion matrix, per-class accuracy,
the most confidently wrong examples, and a 2-D embedding of the penultimate layer."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from .._validation import ArgumentError, ShapeError, one_of, positive_int
from .activations import as_batch, resolve_layer

__all__ = ["Evaluation", "confusion_matrix", "embedding", "evaluate_classes", "features",
           "penultimate_layer", "per_class_accuracy", "predict"]


def _xy(data, y):
    if hasattr(data, "x") and hasattr(data, "y"):
        return data.x, data.y if y is None else y
    return data, y


@torch.no_grad()
def predict(model: nn.Module, x, batch_size: int = 500) -> torch.Tensor:
    """Class probabilities (softmax of the outputs) for a batch, in eval mode.

    Args:
        model: a Network or any Module returning ``(N, classes)`` scores.
        x: ``(N, *input_shape)`` or a Dataset (its ``.x``).
        batch_size: samples per forward pass.

    Returns:
        A CPU float tensor ``(N, classes)``.

    Example:
        >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))
        >>> probs = predict(model, torch.rand(5, 1, 2, 2))
        >>> probs.shape, bool(torch.allclose(probs.sum(dim=1), torch.ones(5)))
        (torch.Size([5, 3]), True)
    """
    x, _ = _xy(x, None)
    positive_int(batch_size, "batch_size")
    x = as_batch(model, x)
    was_training = model.training
    model.eval()
    try:
        chunks = [torch.softmax(model(x[i:i + batch_size]), dim=1).float().cpu()
                  for i in range(0, len(x), batch_size)]
    finally:
        model.train(was_training)
    if not chunks:
        return torch.zeros(0, 0)
    return torch.cat(chunks)


def confusion_matrix(predicted, target, num_classes: int | None = None) -> torch.Tensor:
    """Counts of (true class, predicted class) pairs.

    Args:
        predicted: ``(N,)`` predicted class indices.
        target: ``(N,)`` true class indices.
        num_classes: matrix size; default one more than the largest index seen.

    Returns:
        A ``(K, K)`` int64 tensor: row = true class, column = predicted class. It sums to N
        and its diagonal holds the correct predictions.

    Raises:
        ShapeError: ``predicted`` and ``target`` differ in length.

    Example:
        >>> confusion_matrix(torch.tensor([0, 1, 1, 2]), torch.tensor([0, 1, 2, 2]), 3)
        tensor([[1, 0, 0],
                [0, 1, 0],
                [0, 1, 1]])
    """
    predicted = torch.as_tensor(predicted).long().reshape(-1).cpu()
    target = torch.as_tensor(target).long().reshape(-1).cpu()
    if predicted.shape != target.shape:
        raise ShapeError(f"predicted and target must have one entry per sample. Received: "
                         f"{predicted.numel()} predictions and {target.numel()} targets.")
    if num_classes is None:
        num_classes = int(max(predicted.max(), target.max())) + 1 if target.numel() else 0
    positive_int(num_classes, "num_classes", allow_zero=True)
    flat = torch.bincount(target * num_classes + predicted, minlength=num_classes ** 2)
    return flat[:num_classes ** 2].reshape(num_classes, num_classes)


def per_class_accuracy(confusion: torch.Tensor) -> torch.Tensor:
    """Recall per class: the diagonal over each row's total (NaN for a class with no
    samples).

    Example:
        >>> per_class_accuracy(torch.tensor([[3, 1], [0, 0]]))
        tensor([0.7500,    nan])
    """
    confusion = torch.as_tensor(confusion)
    totals = confusion.sum(dim=1).double()
    return (confusion.diagonal().double() / totals).float()


@dataclass
class Evaluation:
    """A classifier's results on a labelled set.

    Attributes:
        probs: ``(N, K)`` class probabilities.
        predicted: ``(N,)`` the most probable class.
        target: ``(N,)`` the true class.
        confusion: ``(K, K)`` counts, row = true, column = predicted.
        per_class: ``(K,)`` accuracy per true class.
        accuracy: the share of correct predictions.
    """

    probs: torch.Tensor
    predicted: torch.Tensor
    target: torch.Tensor
    confusion: torch.Tensor
    per_class: torch.Tensor
    accuracy: float

    @property
    def correct(self) -> int:
        return int(self.confusion.diagonal().sum())

    def most_confident_wrong(self, k: int = 9) -> torch.Tensor:
        """Indices of up to ``k`` wrong predictions, most confident (highest probability of
        the wrong class) first."""
        positive_int(k, "k")
        wrong = (self.predicted != self.target).nonzero().reshape(-1)
        confidence = self.probs[wrong, self.predicted[wrong]]
        order = confidence.argsort(descending=True, stable=True)
        return wrong[order[:k]]


def evaluate_classes(model: nn.Module, x, y=None, *, num_classes: int | None = None,
                     batch_size: int = 500) -> Evaluation:
    """Predict every sample and tabulate the results.

    Args:
        model: a classifier.
        x: inputs ``(N, *input_shape)``, or a Dataset (then ``y`` defaults to its labels and
            ``num_classes`` to its number of classes).
        y: ``(N,)`` class indices.
        num_classes: confusion-matrix size; default: the model's number of outputs.

    Raises:
        ArgumentError: no labels.
        ShapeError: ``x`` and ``y`` differ in length.

    Example:
        >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))
        >>> ev = evaluate_classes(model, torch.rand(10, 1, 2, 2), torch.arange(10) % 3)
        >>> int(ev.confusion.sum()), ev.confusion.shape
        (10, torch.Size([3, 3]))
    """
    if num_classes is None and hasattr(x, "classes"):
        num_classes = len(x.classes)
    x, y = _xy(x, y)
    if y is None:
        raise ArgumentError("evaluate_classes needs labels: pass y= or a Dataset. Received: "
                            "y=None.")
    y = torch.as_tensor(y).long().reshape(-1).cpu()
    if len(x) != len(y):
        raise ShapeError(f"x and y must have one entry per sample. Received: {len(x)} inputs "
                         f"and {len(y)} labels.")
    probs = predict(model, x, batch_size)
    k = probs.shape[1] if num_classes is None else max(num_classes, probs.shape[1])
    predicted = probs.argmax(dim=1) if len(probs) else torch.zeros(0, dtype=torch.long)
    confusion = confusion_matrix(predicted, y, k)
    accuracy = float((predicted == y).float().mean()) if len(y) else float("nan")
    return Evaluation(probs, predicted, y, confusion, per_class_accuracy(confusion), accuracy)


def penultimate_layer(model: nn.Module) -> str:
    """The last leaf module with parameters (the classifier); its *input* is the
    penultimate representation.

    Raises:
        ArgumentError: a model without parameters.

    Example:
        >>> penultimate_layer(nn.Sequential(nn.Flatten(), nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)))
        '3'
    """
    last = None
    for name, module in model.named_modules():
        if name and not any(True for _ in module.children()) and any(
                True for _ in module.parameters(recurse=False)):
            last = name
    if last is None:
        raise ArgumentError(f"{type(model).__name__} has no layer with parameters, so it has "
                            f"no classifier input to embed. Pass layer= explicitly.")
    return last


@torch.no_grad()
def features(model: nn.Module, x, layer=None, *, batch_size: int = 500) -> torch.Tensor:
    """Flattened activations ``(N, F)`` of ``layer``'s output, or (``layer=None``) of the
    input to the last layer with parameters (the penultimate representation).

    Example:
        >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
        >>> features(model, torch.rand(5, 1, 2, 2)).shape
        torch.Size([5, 8])
    """
    x, _ = _xy(x, None)
    x = as_batch(model, x)
    name = penultimate_layer(model) if layer is None else resolve_layer(model, layer)
    module = dict(model.named_modules())[name]
    found: list[torch.Tensor] = []

    if layer is None:
        handle = module.register_forward_pre_hook(
            lambda m, inputs: found.append(inputs[0].detach().flatten(1).float().cpu()))
    else:
        handle = module.register_forward_hook(
            lambda m, inputs, output: found.append(output.detach().flatten(1).float().cpu()))
    was_training = model.training
    model.eval()
    try:
        for i in range(0, len(x), batch_size):
            found_before = len(found)
            model(x[i:i + batch_size])
            del found[found_before + 1:]  # a module run twice keeps its first call
    finally:
        handle.remove()
        model.train(was_training)
    return torch.cat(found) if found else torch.zeros(0, 0)


def embedding(model: nn.Module, x, layer=None, *, method: str = "pca", dims: int = 2,
              seed: int = 0, batch_size: int = 500) -> torch.Tensor:
    """A low-dimensional view of a layer's representation (default: the penultimate).

    Args:
        model, x, layer: as in :func:`features`.
        method: ``"pca"`` (the top principal components, by SVD) or ``"tsne"`` (needs
            scikit-learn).
        dims: output dimensions.
        seed: t-SNE's random state.

    Returns:
        ``(N, dims)`` coordinates (PCA: each component's sign fixed so that its largest
        loading is positive, so the picture is reproducible).

    Raises:
        ArgumentError: an unknown method, or ``"tsne"`` without scikit-learn.

    Example:
        >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
        >>> embedding(model, torch.rand(20, 1, 2, 2)).shape
        torch.Size([20, 2])
    """
    one_of(method, ("pca", "tsne"), "method")
    positive_int(dims, "dims")
    feats = features(model, x, layer, batch_size=batch_size).double()
    if method == "tsne":
        try:
            from sklearn.manifold import TSNE
        except ImportError:
            raise ArgumentError("method='tsne' needs scikit-learn, which is not installed. "
                                "Received: method='tsne'. Install scikit-learn, or use "
                                "method='pca'.") from None
        perplexity = float(min(30, max(2, (len(feats) - 1) // 3)))
        out = TSNE(n_components=dims, random_state=seed, perplexity=perplexity,
                   init="pca").fit_transform(feats.numpy())
        return torch.as_tensor(out, dtype=torch.float32)
    centred = feats - feats.mean(dim=0, keepdim=True)
    _, _, vh = torch.linalg.svd(centred, full_matrices=False)
    components = vh[:dims]
    signs = torch.sign(components.gather(1, components.abs().argmax(dim=1, keepdim=True)))
    components = components * torch.where(signs == 0, torch.ones_like(signs), signs)
    out = centred @ components.T
    if out.shape[1] < dims:  # fewer features than dims: pad with zeros
        out = torch.cat([out, out.new_zeros(len(out), dims - out.shape[1])], dim=1)
    return out.float()

