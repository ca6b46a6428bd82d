"""Training data as any iterable of ``(x, y)`` batches: a ``torch.utils.data.DataLoader``,
a generator function, a list of batches.

The :class:`~cnnkit.train.trainer.Trainer` batches tensors held on the device itself
(fast, and exactly resumable). Data that does not fit that shape (a DataLoader with
workers and its own transforms, batches made on the fly) comes in through
:class:`IterableBatches`: each epoch iterates it again (a DataLoader's sampler is told the
epoch when it has ``set_epoch``, as ``DistributedSampler`` does), and a resumed epoch
skips the batches already trained. Exact resume then depends on the iterable giving the
same batches in the same order each time.
"""

from __future__ import annotations

import itertools

import torch

from .._validation import ArgumentError, ArgumentTypeError

__all__ = ["IterableBatches", "evaluate_batches", "is_batch_iterable"]


def is_batch_iterable(data) -> bool:
    """True for an iterable of batches (DataLoader, list of pairs, generator factory);
    False for ``(x, y)`` tensors or arrays and for data sets with ``.x`` and ``.y``.

    Example:
        >>> x, y = torch.zeros(4, 1, 2, 2), torch.zeros(4, dtype=torch.long)
        >>> is_batch_iterable((x, y)), is_batch_iterable([(x, y), (x, y)])
        (False, True)
    """
    if data is None or (hasattr(data, "x") and hasattr(data, "y")):
        return False
    if isinstance(data, (tuple, list)) and len(data) == 2 and not isinstance(data[0], (tuple, list)):
        return False  # (x, y) tensors or arrays
    if callable(data) and not hasattr(data, "__iter__"):
        return True   # a function returning a fresh iterator each epoch
    return hasattr(data, "__iter__") and not isinstance(data, (str, bytes, dict))


class IterableBatches:
    """Iterate ``source`` (an iterable of ``(x, y)``, or a function returning one) once per
    epoch, with the :class:`~cnnkit.data.loader.BatchLoader` interface the Trainer uses.

    Args:
        source: the batches.
        device: where each batch goes.

    Raises:
        ArgumentTypeError: a batch that is not an ``(x, y)`` pair (when iterated).
    """

    def __init__(self, source, device=None):
        self.source = source
        self.device = device
        self.epoch = 0
        self.skip = 0

    def __len__(self) -> int:
        try:
            return len(self.source)
        except TypeError:
            raise TypeError("the batches have no length") from None

    def length(self) -> int | None:
        """Batches per epoch, or None when the iterable cannot say."""
        try:
            return len(self)
        except TypeError:
            return None

    def set_epoch(self, epoch: int, start_batch: int = 0) -> None:
        self.epoch, self.skip = epoch, start_batch
        sampler = getattr(self.source, "sampler", None)
        for item in (self.source, sampler, getattr(self.source, "batch_sampler", None)):
            if item is not None and hasattr(item, "set_epoch"):
                item.set_epoch(epoch)

    def __iter__(self):
        source = self.source() if callable(self.source) and not hasattr(self.source, "__iter__") \
            else self.source
        for index, batch in enumerate(itertools.islice(iter(source), self.skip, None)):
            yield _pair(batch, index + self.skip, self.device)


def _pair(batch, index, device):
    if isinstance(batch, dict) and "x" in batch and "y" in batch:
        batch = (batch["x"], batch["y"])
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        raise ArgumentTypeError(
            f"batch {index} of the training data is not an (x, y) pair. Received: "
            f"{type(batch).__name__}{f' of {len(batch)}' if isinstance(batch, (tuple, list)) else ''}. "
            f"Yield (inputs, targets) from the DataLoader or iterable.", argument="train")
    x, y = (v if torch.is_tensor(v) else torch.as_tensor(v) for v in batch)
    if len(x) != len(y):
        raise ArgumentError(f"batch {index}: x and y must have the same number of samples. "
                            f"Received: {len(x)} inputs and {len(y)} targets.", argument="train")
    if x.dtype == torch.float64:
        x = x.float()
    if device is not None:
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
    return x, y


@torch.no_grad()
def evaluate_batches(model, batches, loss_fn, *, topk: int = 5, device=None, transform=None):
    """Loss and accuracy of ``model`` over an iterable of batches (as
    :func:`cnnkit.train.metrics.evaluate` does over tensors).

    Raises:
        ArgumentError: no batch at all.
    """
    from .metrics import topk_correct

    was_training = model.training
    model.eval()
    total, count, correct, correct_k, labels, classes = 0.0, 0, 0, 0, 0, None
    outputs = None
    for xb, yb in IterableBatches(batches, device):
        if transform is not None:
            xb = transform(xb)
        out = model(xb)
        total += float(loss_fn(out, yb)) * len(xb)
        count += len(xb)
        classes = not yb.dtype.is_floating_point
        if classes and out.dim() >= 2:
            correct += int((out.argmax(1) == yb).sum())
            labels += yb.numel()
            if out.dim() == 2 and yb.dim() == 1:
                outputs = out.shape[1]
                correct_k += int(topk_correct(out, yb, topk))
    model.train(was_training)
    if count == 0:
        raise ArgumentError("the validation batches are empty: nothing to evaluate. Received: "
                            "an iterable that yielded no batch.", argument="val")
    result = {"loss": total / count, "count": count}
    if classes:
        result["accuracy"] = correct / max(labels, 1)
        if outputs is not None and topk < outputs:
            result[f"top{topk}_accuracy"] = correct_k / count
    return result
