"""The average return of a policy over many episodes, the episodes played side by side.

All episodes run in lockstep: each round stacks the observations of the games still
running and asks the policy for all their actions in one batch (one network call per
round, not per game). Game ``i`` is seeded with ``seed + i``, so two policies evaluated
with the same seed meet the same ball starts and the same sticky-action draws where their
actions agree (common random numbers: the comparison with a random policy is less noisy).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from .._validation import positive_int
from .env import MinAtarGame

__all__ = ["EvalResult", "RandomPolicy", "evaluate_policy", "greedy_policy"]

Policy = Callable[[torch.Tensor], torch.Tensor]


@dataclass
class EvalResult:
    """Returns of the evaluated episodes and their summary."""

    returns: list[float]
    lengths: list[int]

    @property
    def mean(self) -> float:
        return sum(self.returns) / len(self.returns)

    @property
    def sem(self) -> float:
        """Standard error of the mean return."""
        n = len(self.returns)
        if n < 2:
            return 0.0
        mean = self.mean
        var = sum((r - mean) ** 2 for r in self.returns) / (n - 1)
        return math.sqrt(var / n)

    def to_dict(self) -> dict:
        return {"return_mean": self.mean, "return_sem": self.sem, "episodes": len(self.returns),
                "length_mean": sum(self.lengths) / len(self.lengths)}


class RandomPolicy:
    """Uniformly random actions, from its own generator.

    Example:
        >>> policy = RandomPolicy(3, seed=0)
        >>> policy(torch.zeros(5, 4, 10, 10)).tolist()
        [2, 0, 2, 0, 1]
    """

    def __init__(self, num_actions: int, seed: int = 0):
        self.num_actions = positive_int(num_actions, "num_actions")
        self.generator = torch.Generator().manual_seed(seed)

    def __call__(self, obs: torch.Tensor) -> torch.Tensor:
        return torch.randint(self.num_actions, (obs.shape[0],), generator=self.generator)


def greedy_policy(network: torch.nn.Module, epsilon: float = 0.0, seed: int = 0) -> Policy:
    """The action of highest value under ``network`` (random with probability ``epsilon``).

    Example:
        >>> net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3))
        >>> greedy_policy(net)(torch.zeros(2, 1, 2, 2)).shape
        torch.Size([2])
    """
    generator = torch.Generator().manual_seed(seed)
    device = next(network.parameters()).device

    @torch.no_grad()
    def act(obs: torch.Tensor) -> torch.Tensor:
        values = network(obs.to(device))
        actions = values.argmax(dim=1).cpu()
        if epsilon > 0:
            explore = torch.rand(len(actions), generator=generator) < epsilon
            random = torch.randint(values.shape[1], (len(actions),), generator=generator)
            actions = torch.where(explore, random, actions)
        return actions

    return act


def evaluate_policy(policy: Policy, game: str, episodes: int = 100, seed: int = 0,
                    sticky_action_prob: float = 0.1, difficulty_ramping: bool = True,
                    max_episode_steps: int = 10_000) -> EvalResult:
    """Play ``episodes`` episodes of ``game`` with ``policy``; their returns and lengths.

    Args:
        policy: maps a ``(N, C, 10, 10)`` float batch of observations to ``(N,)`` actions
            (indices into the game's minimal action set).
        game: a MinAtar game name.
        episodes: episodes to play (all at once, in lockstep).
        seed: game ``i`` is seeded with ``seed + i``.
        sticky_action_prob, difficulty_ramping: the game's settings (as in training).
        max_episode_steps: an episode is cut here.

    Raises:
        ArgumentError: an unknown game or a non-positive count.
        MinAtarMissingError: minatar is not installed.

    Example:
        >>> result = evaluate_policy(RandomPolicy(3, seed=1), "breakout", episodes=20, seed=5)
        >>> len(result.returns), 0 <= result.mean < 3
        (20, True)
    """
    positive_int(episodes, "episodes")
    positive_int(max_episode_steps, "max_episode_steps")
    games = [MinAtarGame(game, seed=seed + i, sticky_action_prob=sticky_action_prob,
                         difficulty_ramping=difficulty_ramping) for i in range(episodes)]
    returns = [0.0] * episodes
    lengths = [0] * episodes
    running = list(range(episodes))
    while running:
        obs = torch.stack([games[i].observation() for i in running]).float()
        actions = policy(obs).tolist()
        still = []
        for i, action in zip(running, actions):
            reward, done = games[i].step(int(action))
            returns[i] += reward
            lengths[i] += 1
            if not done and lengths[i] < max_episode_steps:
                still.append(i)
        running = still
    return EvalResult(returns, lengths)
