"""A run's network with its trained weights, read from the run folder alone.

The network is built from ``spec.yaml`` (after checking that its weights fit in memory)
and its weights come from a checksummed safetensors checkpoint: ``best`` (the best
validation score) or ``last`` (the newest step checkpoint that verifies).
"""

from __future__ import annotations

from .._memory import available_memory, estimate_memory, format_bytes, physical_memory
from .._validation import ArgumentError
from . import checkpoint as ckpt
from .folder import RunFolder

__all__ = ["load_run_model", "read_weights"]


def read_weights(run_dir, which: str = "best") -> ckpt.Checkpoint:
    """The checkpoint of ``run_dir`` that ``which`` names (``.path`` says which file).

    ``best`` falls back to the newest step checkpoint when the run has no readable best
    one (no validation split, or a damaged file).

    Raises:
        ArgumentError: ``which`` is not ``best`` or ``last``; the run has no readable
            checkpoint.
    """
    if which not in ("best", "last"):
        raise ArgumentError(f"which must be 'best' or 'last'. Received: which={which!r}.",
                            argument="which")
    run = RunFolder(run_dir).require()
    if which == "best" and (run.checkpoints / "best.json").exists():
        try:
            return ckpt.read_checkpoint(run.checkpoints / "best.json")
        except ckpt.CheckpointError:
            pass
    errors: list[str] = []
    checkpoint = ckpt.load_latest(run.checkpoints, errors)
    if checkpoint is None:
        why = (f"every checkpoint is damaged ({'; '.join(e.rstrip('.') for e in errors)})" if errors
               else "it has no checkpoint yet")
        raise ArgumentError(f"run {run.path} has no readable weights: {why}. Continue it with "
                            f"resume({str(run.path)!r}) if it was stopped before its first "
                            f"checkpoint.")
    return checkpoint


def load_run_model(run_dir, which: str | None = None):
    """The Network of a run with its ``best`` (or ``last``) weights, in eval mode.

    Args:
        run_dir: a run folder made by training.
        which: ``"best"`` (the best validation score; the newest checkpoint when there is
            none), ``"last"``, or None: the weights training ended with
            (:func:`cnnkit.runs.weights.default_weights`), as every command does.

    Raises:
        ArgumentError: not a run folder, no readable checkpoint, or a network larger than
            the memory available.
        CheckpointError: the weights do not fit the spec (a tensor named with both shapes).

    Example:
        >>> load_run_model("no/such/run")
        Traceback (most recent call last):
        ...
        cnnkit._validation.ArgumentError: 'no/such/run' does not exist. Received: run_dir='no/such/run'. Give a folder made by training (under runs/).
    """
    from ..spec import load

    run = RunFolder(run_dir).require()
    spec = load(run.read_yaml("spec.yaml"))
    estimate = estimate_memory(spec.rows)
    free = available_memory("cpu")
    physical = physical_memory()
    # (Weights larger than the machine are refused by spec.build(), naming the layer.)
    beyond_machine = physical is not None and estimate.weights > physical
    if free is not None and estimate.weights > free and not beyond_machine:
        raise ArgumentError(
            f"run {run.path} holds a network of {estimate.params:,} parameters "
            f"({format_bytes(estimate.weights)}), more than the {format_bytes(free)} of memory "
            f"available here.")
    if which is None:
        from .weights import default_weights

        which = default_weights(run.path)
    checkpoint = read_weights(run.path, which)
    network = spec.build()
    ckpt.load_state(network, checkpoint.prefixed("model"), checkpoint.path)
    return network.eval()
