"""Metrics: pure functions and accumulators (meters) that give exact values over a whole
data set.

Each meter has ``update(...)`` (add a batch), ``compute() -> dict`` (plain Python values)
and ``reset()``; see :class:`Meter`.
"""

from ._meter import Meter, plain
from .classification import (ClassificationMeter, accuracy, confusion_matrix, per_class_accuracy,
                             top_k_accuracy)
from .multilabel import MultilabelMeter, average_precision, precision_recall_f1

__all__ = [
    "ClassificationMeter", "Meter", "MultilabelMeter", "accuracy", "average_precision",
    "confusion_matrix", "per_class_accuracy", "plain", "precision_recall_f1", "top_k_accuracy",
]
from .detection import DetectionMeter, match_detections, voc_ap
from .image import MAX_PSNR, ImageQualityMeter, psnr
from .regression import RegressionMeter, r2_score
from .segmentation import SegmentationMeter, segmentation_scores

__all__ += [
    "DetectionMeter", "ImageQualityMeter", "MAX_PSNR", "RegressionMeter", "SegmentationMeter",
    "match_detections", "psnr", "r2_score", "segmentation_scores", "voc_ap",
]
