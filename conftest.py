"""Doctests of :mod:`cnnkit.rl` that play a MinAtar game skip when minatar is not installed.

MinAtar is optional (``pip install --no-deps minatar==1.0.15``; ``make setup`` installs
it); the rest of ``cnnkit.rl`` imports and runs without it, and tests/test_rl.py skips its
game tests the same way.
"""

import importlib.util

import pytest

HAS_MINATAR = importlib.util.find_spec("minatar") is not None

# The doctests whose examples play a game.
_PLAYS_A_GAME = {"cnnkit.rl", "cnnkit.rl.env.MinAtarGame", "cnnkit.rl.evaluate.evaluate_policy",
                 "cnnkit.rl.train.train_dqn"}


def pytest_collection_modifyitems(config, items):
    if HAS_MINATAR:
        return
    skip = pytest.mark.skip(reason="needs minatar: pip install --no-deps minatar==1.0.15")
    for item in items:
        if type(item).__name__ == "DoctestItem" and item.name in _PLAYS_A_GAME:
            item.add_marker(skip)
