"""Training: a typed config, the Trainer, regularisers, checkpoints and run folders.

Example:
    >>> from cnnkit.train import TrainConfig
    >>> TrainConfig(epochs=2).epochs
    2
"""

from .checkpoint import CheckpointError
from .config import TrainConfig, load_config
from .regularizers import apply_max_norm, weight_penalty
from .run import RunFolder
from .schedules import lr_at
from .trainer import TrainResult, Trainer, TrainingDiverged

__all__ = ["CheckpointError", "RunFolder", "TrainConfig", "TrainResult", "Trainer",
           "TrainingDiverged", "apply_max_norm", "load_config", "lr_at", "weight_penalty"]
