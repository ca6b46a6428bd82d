"""Training: a typed config, the Trainer, regularisers; run folders are :mod:`cnnkit.runs`.

Example:
    >>> from cnnkit.train import TrainConfig
    >>> TrainConfig(epochs=2).epochs
    2
"""

from ..runs import CheckpointError, RunFolder, RunLockedError
from .callbacks import CSVLogger, Callback, EarlyStopping, LambdaCallback, ModelCheckpoint
from .config import TrainConfig, load_config
from .regularizers import apply_max_norm, weight_penalty
from .schedules import lr_at
from .trainer import NothingToResume, TrainResult, Trainer, TrainingDiverged

__all__ = ["CSVLogger", "Callback", "CheckpointError", "EarlyStopping", "LambdaCallback",
           "ModelCheckpoint", "NothingToResume", "RunFolder", "RunLockedError", "TrainConfig",
           "TrainResult", "Trainer", "TrainingDiverged", "apply_max_norm", "load_config", "lr_at",
           "weight_penalty"]
