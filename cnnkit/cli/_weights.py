"""``--weights best|last`` for every command that reads a run, and the line saying which.

Every command defaults to the weights training ended with (see
:mod:`cnnkit.runs.weights`), prints which it used (``weights: last (epoch 5, step 120,
the run's default)``), and warns when "best" was chosen on few validation samples.
"""

from __future__ import annotations

import sys

__all__ = ["WEIGHTS_HELP", "add_weights_argument", "choose_weights"]

WEIGHTS_HELP = ("weights of the run: best (best validation score) or last (newest "
                "checkpoint); default: those training ended with, whose test figure "
                "`cnnkit train` printed (results.json 'weights')")


def add_weights_argument(parser) -> None:
    """``--weights {best,last}`` (``--which`` is the same flag's older name)."""
    parser.add_argument("--weights", "--which", dest="which", choices=("best", "last"),
                        default=None, help=WEIGHTS_HELP)


def choose_weights(run_dir, which, *, show: bool = True):
    """Resolve ``which`` for ``run_dir``, print ``weights: ...`` on stdout (unless ``show``
    is False: JSON output carries the choice itself) and warn about a small validation
    split; returns the :class:`~cnnkit.runs.weights.WeightsChoice`."""
    from ..runs.weights import resolve_weights, warn_small_validation

    choice = resolve_weights(run_dir, which)
    if show:
        print(f"weights: {choice}", file=sys.stdout, flush=True)
    warn_small_validation(choice.val_count, which=choice.which)
    return choice
