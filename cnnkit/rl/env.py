"""MinAtar games as channels-first float tensors (Young and Tian 2019).

MinAtar's ``Environment`` returns a ``(10, 10, C)`` bool array, channels last; a network
here takes ``(C, 10, 10)``. :class:`MinAtarGame` makes that one ``permute`` (a view, no
copy), plays the game's minimal action set (Breakout: no-op, left, right) and keeps
MinAtar's own dynamics, sticky actions (probability 0.1, Machado et al. 2018) and
difficulty ramping untouched.

MinAtar is an optional dependency (``pip install --no-deps minatar==1.0.15``: its games
need only numpy; its declared plotting dependencies are not used here).
"""

from __future__ import annotations

import logging

import numpy as np
import torch

from .._validation import ArgumentError, ArgumentTypeError, CnnkitError, one_of

__all__ = ["GAMES", "MinAtarGame", "MinAtarMissingError", "import_minatar"]

# The five games of MinAtar 1.0.15, in its own spelling (its module names).
GAMES = ("asterix", "breakout", "freeway", "seaquest", "space_invaders")


class MinAtarMissingError(CnnkitError, ImportError):
    """The optional ``minatar`` package is not installed."""


def import_minatar():
    """The ``minatar`` module, imported without the warning it logs when seaborn is missing.

    MinAtar's ``environment.py`` tries to import seaborn (for its own display window) and
    calls ``logging.warning`` when that fails; that call would also install a handler on the
    root logger of the caller's program. Both are suppressed for the duration of the import
    only: the root logger is left as it was.

    Raises:
        MinAtarMissingError: minatar is not installed, with the command that installs it.
    """
    root = logging.getLogger()
    quiet = logging.NullHandler()
    previous = root.manager.disable
    # A handler on the root logger keeps logging.warning from calling basicConfig().
    root.addHandler(quiet)
    logging.disable(logging.WARNING)
    try:
        import minatar
    except ImportError as error:
        raise MinAtarMissingError(
            "reinforcement learning needs the minatar package (MinAtar 1.0.15, Young and Tian "
            "2019). Install it with: pip install --no-deps minatar==1.0.15") from error
    finally:
        logging.disable(previous)
        root.removeHandler(quiet)
    return minatar


class MinAtarGame:
    """One MinAtar game with observations as ``(C, 10, 10)`` tensors and minimal actions.

    Args:
        game: one of :data:`GAMES` (``"breakout"``, ``"space_invaders"``, ...).
        seed: seeds the game's own random state (ball start, enemies, sticky actions).
        sticky_action_prob: probability that the previous action repeats instead of the
            chosen one (MinAtar's default 0.1).
        difficulty_ramping: MinAtar's speed-up as a game goes on (default True).

    Attributes:
        observation_shape: ``(C, 10, 10)``.
        num_actions: the size of the minimal action set; actions are ``0 .. num_actions-1``.
        actions: the MinAtar action codes behind them (Breakout: ``[0, 1, 3]``).

    Shape:
        :meth:`observation`: ``(C, 10, 10)`` bool, a view of MinAtar's state.

    Raises:
        ArgumentError: an unknown game (with the closest name) or a probability outside [0, 1].
        MinAtarMissingError: minatar is not installed.

    Example:
        >>> game = MinAtarGame("breakout", seed=0)
        >>> game.observation_shape, game.num_actions, game.actions
        ((4, 10, 10), 3, [0, 1, 3])
        >>> game.reset().shape
        torch.Size([4, 10, 10])
        >>> game.step(2)
        (0.0, False)
    """

    def __init__(self, game: str, seed: int = 0, sticky_action_prob: float = 0.1,
                 difficulty_ramping: bool = True):
        check_game(game)
        check_probability(sticky_action_prob, "sticky_action_prob")
        minatar = import_minatar()
        self.game = game
        self._env = minatar.Environment(game, sticky_action_prob=sticky_action_prob,
                                        difficulty_ramping=difficulty_ramping)
        self.seed(seed)
        self.actions = list(self._env.minimal_action_set())
        self.num_actions = len(self.actions)
        rows, cols, channels = self._env.state_shape()
        self.observation_shape = (channels, rows, cols)

    def seed(self, seed: int) -> None:
        """Seed the game's random state and start a new episode."""
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise ArgumentTypeError(f"seed must be an int. Received: seed={seed!r} "
                                    f"({type(seed).__name__}).", argument="seed")
        # MinAtar seeds with RandomState, which takes 0 .. 2**32 - 1.
        self._env.seed(int(seed) % 2**32)
        self._env.reset()

    def reset(self) -> torch.Tensor:
        """Start a new episode; returns its first observation."""
        self._env.reset()
        return self.observation()

    def observation(self) -> torch.Tensor:
        """The current state as a ``(C, 10, 10)`` bool tensor."""
        return torch.from_numpy(self._env.state()).permute(2, 0, 1)

    def step(self, action: int) -> tuple[float, bool]:
        """Play action ``action`` (an index into the minimal set); returns (reward, done)."""
        reward, done = self._env.act(self.actions[action])
        return float(reward), bool(done)

    # The random state, for checkpoints that resume exactly (no pickles: arrays and ints).
    def random_state(self) -> dict:
        """The game's random state and last action, as JSON-able values and one array."""
        name, keys, pos, has_gauss, cached = self._env.random.get_state()
        return {"keys": keys.copy(), "pos": int(pos), "has_gauss": int(has_gauss),
                "cached_gaussian": float(cached), "last_action": int(self._env.last_action)}

    def set_random_state(self, state: dict) -> None:
        """Restore what :meth:`random_state` returned (the game continues from a reset)."""
        self._env.random.set_state(("MT19937", np.asarray(state["keys"], dtype=np.uint32),
                                    int(state["pos"]), int(state["has_gauss"]),
                                    float(state["cached_gaussian"])))
        self._env.last_action = int(state["last_action"])

    def __repr__(self) -> str:
        return f"MinAtarGame({self.game!r}, observation_shape={self.observation_shape}, " \
               f"num_actions={self.num_actions})"


def check_game(game) -> str:
    """Check a game name; the error lists the games and names the closest one.

    Example:
        >>> check_game("breakout")
        'breakout'
        >>> check_game("breakot")
        Traceback (most recent call last):
        ...
        cnnkit._validation.ArgumentError: game must be one of 'asterix', 'breakout', ... Did you mean 'breakout'?
    """
    if not isinstance(game, str):
        raise ArgumentTypeError(f"game must be a string such as 'breakout'. Received: "
                                f"game={game!r} ({type(game).__name__}).", argument="game")
    return one_of(game, GAMES, "game")


def check_probability(value, name: str) -> float:
    """Check a probability in [0, 1]."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ArgumentError(f"{name} must be a number in [0, 1]. Received: {name}={value!r}.",
                            argument=name)
    return float(value)
