"""Experiments run end to end and their rows mean what they say."""

import pytest

from cnnkit.cli.main import main
from cnnkit.experiments import unsupervised_filters


def test_frozen_unsupervised_first_layers_learn_far_above_chance():
    rows = unsupervised_filters(epochs=2, kinds=("random", "kmeans", "none"), train_samples=1600, quiet=True)
    by_kind = {r["kind"]: r for r in rows}
    assert set(by_kind) == {"random", "kmeans", "none"}
    for kind in ("random", "kmeans"):
        assert by_kind[kind]["test_accuracy"] > 0.5  # chance is 0.1
        # frozen: the first layer's 16 * 25 + 16 parameters do not count as trainable
        assert by_kind[kind]["trainable_params"] == by_kind["none"]["trainable_params"] + 32 * 16 * 9 - 32 * 1 * 9


def test_cli_rejects_bad_epochs(capsys):
    assert main(["experiment", "unsupervised_filters", "--epochs", "0"]) == 2
    assert "--epochs must be a positive int. Received: --epochs 0." in capsys.readouterr().err


def test_cli_lists_experiments(capsys):
    with pytest.raises(SystemExit):
        main(["experiment", "no_such"])
    assert "unsupervised_filters" in capsys.readouterr().err
