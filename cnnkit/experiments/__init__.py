"""The source material's claims as runnable experiments that print a table.

Each experiment is one module with an :class:`Experiment` entry: a name, the claim in one
line, its published sources and what they report, and ``run(quick, seeds)`` returning a
:class:`Result` (table, figure, the claim's direction as measured). ``cnnkit experiment``
lists them; ``cnnkit experiment NAME`` runs one and writes its table, figure and markdown
section (docs/experiments.md collects the full runs).

Example:
    >>> from cnnkit.experiments import EXPERIMENTS, get_experiment
    >>> "equivariance" in EXPERIMENTS
    True
    >>> get_experiment("equivarance")
    Traceback (most recent call last):
    ...
    cnnkit._validation.ArgumentError: Unknown experiment 'equivarance'. Did you mean 'equivariance'? ...
"""

from .._validation import ArgumentError, did_you_mean
from ._common import Experiment, Result, Stat, markdown_section, write_outputs
from . import (equivariance, fft_separable, mnist1d_benchmark, parameter_sharing,
               padding, pooling, receptive_field, regularisers, relu_vs_tanh,
               unsupervised_filters)

EXPERIMENTS: dict[str, Experiment] = {module.EXPERIMENT.name: module.EXPERIMENT for module in (
    mnist1d_benchmark, equivariance, parameter_sharing, unsupervised_filters, fft_separable,
    relu_vs_tanh, pooling, regularisers, padding, receptive_field,
)}


def get_experiment(name: str) -> Experiment:
    """The experiment called ``name``.

    Raises:
        ArgumentError: an unknown name; lists the names and suggests the closest.
    """
    if name not in EXPERIMENTS:
        raise ArgumentError(
            f"Unknown experiment {name!r}.{did_you_mean(name, EXPERIMENTS)} Experiments: "
            f"{', '.join(EXPERIMENTS)}. Run `cnnkit experiment` to list them with their claims.")
    return EXPERIMENTS[name]


__all__ = ["EXPERIMENTS", "Experiment", "Result", "Stat", "get_experiment", "markdown_section",
           "write_outputs"]
