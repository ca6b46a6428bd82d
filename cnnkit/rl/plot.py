"""The learning curve of a DQN run, from its ``metrics.jsonl``, as a small PNG.

Drawn on a ``matplotlib.figure.Figure`` with the Agg canvas (no pyplot, no global state, no
display needed).
"""

from __future__ import annotations

import json
from pathlib import Path

from .._validation import ArgumentError
from ..inspect.plots import to_png

__all__ = ["plot_learning_curve", "read_metrics"]


def read_metrics(path) -> list[dict]:
    """The records of a ``metrics.jsonl`` file (a line cut short by a kill ends the list)."""
    out = []
    for line in Path(path).read_text().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            break
    return out


def plot_learning_curve(run_dir, path=None, title: str | None = None) -> bytes:
    """PNG bytes of the run's learning curve (written to ``path`` too when given).

    Draws the greedy policy's average return at each evaluation (with its standard error),
    the average return of the training episodes (epsilon-greedy) between metrics lines, and
    the random policy's average return.

    Raises:
        ArgumentError: the folder has no ``metrics.jsonl`` or no record to draw.

    Example:
        >>> import tempfile
        >>> run = Path(tempfile.mkdtemp())
        >>> _ = (run / "metrics.jsonl").write_text(
        ...     '{"split": "eval", "step": 10, "return_mean": 1.0, "return_sem": 0.1, '
        ...     '"random_return": 0.5}\\n')
        >>> plot_learning_curve(run)[:4]
        b'\\x89PNG'
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    metrics = Path(run_dir) / "metrics.jsonl"
    if not metrics.is_file():
        raise ArgumentError(f"run_dir {str(run_dir)!r} has no metrics.jsonl. Received: "
                            f"run_dir={str(run_dir)!r}. Give a DQN run folder.",
                            argument="run_dir")
    records = read_metrics(metrics)
    train = [r for r in records if r.get("split") == "train" and r.get("return_mean") is not None]
    evals = [r for r in records if r.get("split") == "eval"]
    if not train and not evals:
        raise ArgumentError(f"run_dir {str(run_dir)!r} has nothing to plot yet (no training "
                            f"episodes or evaluations logged). Received: {len(records)} "
                            f"records.", argument="run_dir")
    fig = Figure(figsize=(5.0, 3.2), dpi=80)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    if train:
        ax.plot([r["step"] for r in train], [r["return_mean"] for r in train], color="0.6",
                linewidth=0.8, label="training episodes (epsilon-greedy)")
    if evals:
        steps = [r["step"] for r in evals]
        means = [r["return_mean"] for r in evals]
        sems = [r.get("return_sem", 0.0) for r in evals]
        ax.errorbar(steps, means, yerr=sems, color="tab:blue", marker="o", markersize=3,
                    linewidth=1.2, capsize=2, label="greedy policy")
        randoms = [r["random_return"] for r in evals if r.get("random_return") is not None]
        if randoms:
            ax.axhline(randoms[-1], color="tab:red", linestyle="--", linewidth=1,
                       label="random policy")
    ax.set_xlabel("environment steps")
    ax.set_ylabel("average return")
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return to_png(fig, path)
