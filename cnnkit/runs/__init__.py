"""Run folders: write, lock and read what a training run leaves behind.

Below :mod:`cnnkit.train` (which writes runs) and :mod:`cnnkit.inspect`,
:mod:`cnnkit.serve` and the command line (which read them); it imports neither.

- :class:`RunFolder`, :func:`new_run_dir`, :func:`check_new_run_dir`, :func:`run_name`:
  where a run lives and what is in it.
- :func:`lock_run`: one writing process per run folder.
- :mod:`~cnnkit.runs.checkpoint`: atomic, checksummed safetensors checkpoints.
- :func:`read_metrics`: the records of ``metrics.jsonl``.
- :func:`load_run_model`: a run's network with its trained weights;
  :mod:`~cnnkit.runs.weights`: which weights every reader uses by default.

Example:
    >>> from cnnkit.runs import RunFolder, run_name
    >>> run_name("../../etc")
    'etc'
"""

from .checkpoint import Checkpoint, CheckpointError, load_latest, read_checkpoint
from .folder import RunFolder, check_new_run_dir, new_run_dir, provenance, run_name, spec_digest
from .lock import RunLockedError, StaleLockWarning, lock_run
from .metrics import read_metrics
from .model import load_run_model, read_weights
from .weights import WeightsChoice, default_weights, load_weights, resolve_weights

__all__ = ["Checkpoint", "CheckpointError", "RunFolder", "RunLockedError", "StaleLockWarning",
           "WeightsChoice", "check_new_run_dir", "default_weights", "load_weights", "resolve_weights", "load_latest", "load_run_model", "lock_run", "new_run_dir",
           "provenance", "read_checkpoint", "read_metrics", "read_weights", "run_name",
           "spec_digest"]
