"""DQNConfig: every setting of a DQN run in one typed place, with MinAtar's defaults.

The defaults are those of MinAtar's DQN (Young and Tian 2019, after Mnih et al. 2015, with
a smaller network and shorter horizons): replay of 100,000 transitions, minibatches of 32,
one update per step after 5,000 random steps, the target network synced every 1,000
steps, epsilon 1.0 -> 0.1 over 100,000 steps, centred RMSProp with step size
2.5e-4, squared-gradient momentum 0.95 and minimum squared gradient 0.01, discount 0.99,
the Huber loss. MinAtar trains for 5 million steps; the default here is 100,000.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from .._validation import ArgumentError, ArgumentTypeError, SpecError, did_you_mean, one_of
from .env import check_game, check_probability

__all__ = ["DQNConfig", "OPTIMIZERS"]

OPTIMIZERS = ("rmsprop", "adam")
# Names other libraries use for the same setting, so that the error can point at ours.
_ALIASES = {"learning_rate": "lr", "total_steps": "steps", "num_frames": "steps",
            "frames": "steps", "replay_size": "buffer_size", "replay_buffer_size": "buffer_size",
            "replay_start_size": "learning_starts", "target_update": "target_every",
            "target_update_freq": "target_every", "train_freq": "train_every",
            "training_freq": "train_every", "discount": "gamma", "double_dqn": "double",
            "env": "game", "env_name": "game"}


@dataclass
class DQNConfig:
    """Settings of a DQN run; units (steps are agent-environment interactions) in comments.

    Example:
        >>> cfg = DQNConfig(steps=2000, double=True)
        >>> cfg.game, cfg.batch_size, cfg.target_every
        ('breakout', 32, 1000)
        >>> DQNConfig.from_dict({"replay_start_size": 100})
        Traceback (most recent call last):
        ...
        cnnkit._validation.SpecError: config.replay_start_size: unknown setting. Did you mean 'learning_starts'? ...
    """

    # the game (MinAtar 1.0.15)
    game: str = "breakout"                # asterix | breakout | freeway | seaquest | space_invaders
    sticky_action_prob: float = 0.1       # probability that the previous action repeats
    difficulty_ramping: bool = True       # MinAtar's speed-up within an episode
    max_episode_steps: int = 10_000       # cut an episode here (not a terminal state: bootstraps)
    # schedule
    steps: int = 100_000                  # environment steps of training
    seed: int = 0                         # seeds the weights, the game, exploration and replay
    # DQN (Mnih et al. 2015)
    buffer_size: int = 100_000            # transitions kept in the replay buffer
    batch_size: int = 32                  # transitions per update
    learning_starts: int = 5_000          # random steps that fill the buffer before updates
    train_every: int = 1                  # steps between updates
    target_every: int = 1_000             # steps between copies of the online net to the target
    gamma: float = 0.99                   # discount
    double: bool = False                  # double DQN target (van Hasselt et al. 2016)
    # optimiser
    optimizer: str = "rmsprop"            # rmsprop (centred, as MinAtar) | adam
    lr: float = 2.5e-4                    # step size
    grad_clip: float | None = None        # clip the gradient norm to this
    # exploration: epsilon held at epsilon_start until learning_starts, then linear
    epsilon_start: float = 1.0
    epsilon_end: float = 0.1
    epsilon_decay_steps: int = 100_000    # steps of the linear ramp
    # evaluation of the greedy policy (same game settings, its own seeds)
    eval_every: int = 10_000              # steps between evaluations during training (0: none)
    eval_episodes: int = 20               # episodes per evaluation during training
    final_eval_episodes: int = 100        # episodes of the evaluation at the end
    eval_epsilon: float = 0.0             # exploration while evaluating (0: greedy)
    # logging and checkpoints
    log_every: int = 1_000                # steps between metrics.jsonl lines
    checkpoint_every: int = 10_000        # a checkpoint at the first episode end after each multiple (0: none)
    keep_checkpoints: int = 2             # step checkpoints kept
    # machine
    device: str = "cpu"                   # cpu | cuda | cuda:N | auto
    threads: int | None = 1               # CPU threads (a network this small runs best on one)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Check every setting; errors name the setting, echo it and say the fix."""
        check_game(self.game)
        check_probability(self.sticky_action_prob, "sticky_action_prob")
        for name, low in (("steps", 1), ("buffer_size", 1), ("batch_size", 1),
                          ("learning_starts", 0), ("train_every", 1), ("target_every", 1),
                          ("epsilon_decay_steps", 0), ("eval_every", 0), ("eval_episodes", 1),
                          ("final_eval_episodes", 0), ("log_every", 1),
                          ("checkpoint_every", 0), ("keep_checkpoints", 1),
                          ("max_episode_steps", 1)):
            _int(self, name, low)
        _int(self, "seed", 0)
        for name in ("difficulty_ramping", "double"):
            if not isinstance(getattr(self, name), bool):
                raise ArgumentTypeError(f"config.{name} must be true or false. Received: "
                                        f"{name}={getattr(self, name)!r}.", argument=name)
        one_of(self.optimizer, OPTIMIZERS, "optimizer")
        if not _number(self.lr) or not self.lr > 0 or not math.isfinite(self.lr):
            raise ArgumentError(f"config.lr must be a positive number. Received: lr={self.lr!r}. "
                                "MinAtar's DQN uses 2.5e-4 with rmsprop.", argument="lr")
        if not _number(self.gamma) or not 0 <= self.gamma <= 1:
            raise ArgumentError(f"config.gamma must be a discount in [0, 1]. Received: "
                                f"gamma={self.gamma!r}. MinAtar's DQN uses 0.99.", argument="gamma")
        for name in ("epsilon_start", "epsilon_end", "eval_epsilon"):
            check_probability(getattr(self, name), name)
        if self.grad_clip is not None and (not _number(self.grad_clip) or not self.grad_clip > 0):
            raise ArgumentError(f"config.grad_clip must be positive or null. Received: "
                                f"grad_clip={self.grad_clip!r}.", argument="grad_clip")
        if self.batch_size > self.buffer_size:
            raise ArgumentError(
                f"config.batch_size must not exceed buffer_size. Received: batch_size="
                f"{self.batch_size}, buffer_size={self.buffer_size}. Lower batch_size or raise "
                f"buffer_size.", argument="batch_size")
        if self.threads is not None:
            _int(self, "threads", 1)
        if not isinstance(self.device, str):
            raise ArgumentTypeError(f"config.device must be a string such as 'cpu'. Received: "
                                    f"device={self.device!r}.", argument="device")

    @classmethod
    def from_dict(cls, values: dict[str, Any], path: str = "config") -> "DQNConfig":
        """Build from a dict (e.g. parsed YAML); unknown keys name the closest setting."""
        if values is None:
            values = {}
        if not isinstance(values, dict):
            raise SpecError(f"a config must be a mapping of settings. Received: "
                            f"{type(values).__name__}.", path)
        known = [f.name for f in dataclasses.fields(cls)]
        for key in values:
            if key not in known:
                hint = (f" Did you mean {_ALIASES[key]!r}?" if key in _ALIASES
                        else did_you_mean(key, known))
                raise SpecError(f"unknown setting.{hint} Valid settings: {', '.join(known)}.",
                                f"{path}.{key}")
        return cls(**values)

    def replace(self, **changes) -> "DQNConfig":
        """A copy with some settings changed (checked again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _int(config, name, low):
    value = getattr(config, name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ArgumentTypeError(f"config.{name} must be an int. Received: {name}={value!r}.",
                                argument=name)
    if value < low:
        raise ArgumentError(f"config.{name} must be at least {low}. Received: {name}={value!r}.",
                            argument=name)
