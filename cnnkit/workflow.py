"""Training and its report in one call.

:mod:`cnnkit.train` writes a run and :mod:`cnnkit.inspect` draws its report; neither
imports the other (the report reads the run folder through :mod:`cnnkit.runs`). This
module sits above both and joins them, for Python users (:func:`train_and_report`, also
``cnnkit.train_and_report``) and for ``cnnkit train``.

Example:
    >>> import tempfile
    >>> spec = {"input": [1, 8, 8], "layers": [{"conv": {"filters": 2, "kernel": 3}},
    ...                                        "flatten", {"dense": 10}]}
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     result = train_and_report(spec, "digits", {"epochs": 1, "progress": False},
    ...                               runs_root=tmp)
    ...     (result.run_dir / "report" / "index.html").is_file()
    True
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from .inspect.report import build_report
from .train.api import resume, train
from .train.trainer import TrainResult

__all__ = ["resume_and_report", "train_and_report", "write_report"]


def write_report(result: TrainResult) -> Path | None:
    """``report/index.html`` of a finished run, drawn from the model and test split in
    ``result`` (nothing is loaded again); returns its path.

    The run is complete and saved before this: a report that cannot be drawn is a warning,
    not a failed run, and ``cnnkit report RUN`` rebuilds it. Only the process that wrote
    the run (rank 0 under torchrun) draws it, and only when ``config.report`` is set.
    """
    if result.run_dir is None or int(os.environ.get("RANK", "0")) != 0:
        return None
    if result.config is not None and not result.config.report:
        return None
    if not (Path(result.run_dir) / "spec.yaml").is_file():
        return None  # a plain nn.Module: the report rebuilds the network from its spec
    try:
        return build_report(result.run_dir, network=result.model, test=result.test_set)
    except Exception as error:  # noqa: BLE001 - see the docstring
        warnings.warn(f"the run in {result.run_dir} finished, but its report could not be "
                      f"written ({type(error).__name__}: {error}). Rebuild it with "
                      f"build_report({str(result.run_dir)!r}) or `cnnkit report "
                      f"{result.run_dir}`.", RuntimeWarning, stacklevel=2)
        return None


def train_and_report(spec, data, config=None, **kwargs) -> TrainResult:
    """:func:`cnnkit.train.api.train`, then :func:`write_report`; same arguments."""
    result = train(spec, data, config, **kwargs)
    write_report(result)
    return result


def resume_and_report(run_dir, **kwargs) -> TrainResult:
    """:func:`cnnkit.train.api.resume`, then :func:`write_report`; same arguments."""
    result = resume(run_dir, **kwargs)
    write_report(result)
    return result
