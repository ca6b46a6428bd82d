"""Reading a run's ``metrics.jsonl``: one JSON object per logged step or epoch.

Training appends to it (:class:`cnnkit.train.metrics.MetricsLog`); the report, the viewer
and resuming read it here.
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["read_metrics"]


def read_metrics(path) -> list[dict]:
    """The records of a ``metrics.jsonl`` file, in order; ``[]`` when it does not exist.

    A line cut short by a kill ends the list: everything before it is intact.

    Example:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "metrics.jsonl"
        >>> _ = path.write_text('{"step": 1, "loss": 2.3}\\n{"step": 2, "lo')
        >>> read_metrics(path)
        [{'step': 1, 'loss': 2.3}]
    """
    path = Path(path)
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            break
        if not isinstance(record, dict):
            break
        out.append(record)
    return out
