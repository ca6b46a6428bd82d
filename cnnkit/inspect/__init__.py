"""Tools to look inside a network: the summary table (shapes, receptive fields, parameters,
multiply-adds per layer), activations of every layer, filters, receptive fields of single
units, saliency (gradient, SmoothGrad, Grad-CAM, occlusion), the confusion matrix and an
embedding of the penultimate layer, each task's pictures of its predictions (masks, boxes,
reconstructions, predicted against true, per-label precision and recall); figures as PNG,
and a run's HTML report.

Works on a spec-built :class:`~cnnkit.spec.Network` and on any ``torch.nn.Module``.

Example:
    >>> from cnnkit.inspect import summary
    >>> summary({"input": [3, 32, 32], "layers": [{"conv": {"filters": 8, "kernel": 3}}]}).total_params
    224
"""

from .activations import Captured, capture, default_layers, layer_names, resolve_layer
from .classify import (Evaluation, confusion_matrix, embedding, evaluate_classes, features,
                       penultimate_layer, per_class_accuracy, predict)
from .fields import Field, layer_geometry, receptive_field
from .filters import conv_filters, conv_layers, first_conv
from .pictures import (display_image, mask_overlay, plot_detection, plot_multilabel,
                       plot_reconstruction, plot_regression, plot_segmentation, task_figures)
from .plots import (plot_activations, plot_confusion, plot_curves, plot_embedding,
                    plot_examples, plot_filters, plot_receptive_field, plot_saliency, to_png)
from .saliency import grad_cam, gradient, occlusion, smoothgrad
from .summary import Summary, summary

__all__ = [
    "Captured", "Evaluation", "Field", "Summary", "capture", "confusion_matrix", "conv_filters",
    "conv_layers", "default_layers", "display_image", "embedding", "evaluate_classes",
    "features", "first_conv", "grad_cam", "gradient", "layer_geometry", "layer_names",
    "mask_overlay", "occlusion", "penultimate_layer", "per_class_accuracy", "plot_activations",
    "plot_confusion", "plot_curves", "plot_detection", "plot_embedding", "plot_examples",
    "plot_filters", "plot_multilabel", "plot_receptive_field", "plot_reconstruction",
    "plot_regression", "plot_saliency", "plot_segmentation", "predict", "receptive_field",
    "resolve_layer", "smoothgrad", "summary", "task_figures", "to_png",
]
