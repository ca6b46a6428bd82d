"""Reconstruction: the network maps an input to itself (an autoencoder), or a noised input
to the clean one (a denoising autoencoder, Vincent et al. 2008)."""

from __future__ import annotations

import torch

from .._validation import ArgumentError, ShapeError
from ..functional.losses import LOSSES
from ..metrics import ImageQualityMeter
from .base import Task, TaskMeter, format_shape

__all__ = ["Reconstruct"]


class Reconstruct(Task):
    """The target is the input itself; the data's own targets are not used.

    Output: the input's shape per sample. Losses: ``euclidean`` (default), ``mse``,
    ``smooth_l1``. Metrics: PSNR (mean over images) and MSE. Predictions: the
    reconstruction.

    Args:
        loss: ``euclidean``, ``mse`` or ``smooth_l1``.
        noise: standard deviation of Gaussian noise added to the input (0: a plain
            autoencoder); the target stays the clean input. The noise is drawn in
            evaluation too (from the generator given to :meth:`prepare`), since the task
            is to remove it.
        data_range: the range of the values, for PSNR (1 for images in [0, 1]).

    Example:
        >>> task = Reconstruct(noise=0.1)
        >>> x = torch.rand(2, 1, 8, 8)
        >>> inputs, targets = task.prepare(x, torch.zeros(2), generator=torch.Generator().manual_seed(0))
        >>> bool((inputs != x).any()), bool((targets == x).all())
        (True, True)
    """

    name = "reconstruct"
    target = None
    losses = ("euclidean", "mse", "smooth_l1")
    monitor = "psnr"
    metrics = ("psnr", "mse")

    def __init__(self, loss: str | None = None, num_classes: int | None = None, *,
                 noise: float = 0.0, data_range: float = 1.0):
        super().__init__(loss, num_classes)
        for name, value, low in (("noise", noise, 0.0), ("data_range", data_range, None)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                    not (value >= 0 if low is not None else value > 0):
                what = "non-negative" if low is not None else "positive"
                raise ArgumentError(f"{name} must be a {what} number. Received: {name}={value!r}.",
                                    argument=name)
        self.noise, self.data_range = float(noise), float(data_range)

    def options(self) -> dict:
        return {"noise": self.noise, "data_range": self.data_range}

    def prepare(self, x, y, *, generator=None):
        if not self.noise:
            return x, x
        noise = torch.randn(x.shape, generator=generator, dtype=x.dtype,
                            device="cpu" if generator is None else generator.device)
        return x + self.noise * noise.to(x.device), x

    def check(self, output_shape, targets, num_classes=None) -> None:
        """See :meth:`Task.check`; ``targets`` are the inputs.

        Example:
            >>> Reconstruct().check((1, 24, 24), torch.zeros(4, 1, 28, 28))
            Traceback (most recent call last):
            ...
            cnnkit._validation.ShapeError: task 'reconstruct': targets of shape (4, 1, 28, 28) do not fit the network's output (1, 24, 24) per sample; this task needs targets (N, 1, 24, 24), the input itself. Make the network's output the input's shape (1, 28, 28): padding: same, or conv_transpose layers that undo the downsampling.
        """
        targets = self._check_tensor(targets)
        output_shape = tuple(output_shape)
        if tuple(targets.shape[1:]) != output_shape:
            raise self._shape_error(
                output_shape, targets, f"(N, {', '.join(map(str, output_shape))}), the input itself",
                f"Make the network's output the input's shape {format_shape(targets.shape[1:])}: "
                f"padding: same, or conv_transpose layers that undo the downsampling.")
        if not targets.is_floating_point():
            raise ShapeError(f"task {self.name!r}: inputs must be real numbers to reconstruct. "
                             f"Received: inputs of dtype {targets.dtype}. Token ids cannot be "
                             f"reconstructed with a Euclidean loss.", argument="targets")
        self._check_finite(targets)

    def loss(self, outputs, targets):
        return LOSSES[self.loss_name](outputs, targets)

    def meter(self) -> TaskMeter:
        return TaskMeter(self, ImageQualityMeter(self.data_range))

    def predict(self, outputs):
        return {"reconstruction": outputs}
