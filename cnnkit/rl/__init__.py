"""Reinforcement learning from pixels: DQN (Mnih et al. 2015) on MinAtar's games.

MinAtar (Young and Tian 2019) plays miniature Atari games on a 10x10 grid with one binary
channel per kind of object; an observation is a ``(C, 10, 10)`` image and the policy a
convolutional network. The parts, one module each:

- :class:`MinAtarGame` (``env``): a game as channels-first tensors and its minimal actions.
- :class:`ReplayBuffer` (``replay``): the last transitions in preallocated tensors.
- :class:`EpsilonSchedule` (``schedule``): epsilon-greedy exploration over steps.
- :func:`minatar_dqn` (``network``): MinAtar's Q-network as a cnnkit spec, in the zoo.
- :func:`td_loss`, :class:`DQNAgent` (``dqn``): the Huber TD loss with a target network,
  optionally double DQN, and the optimiser.
- :func:`evaluate_policy` (``evaluate``): average return over many episodes in lockstep.
- :func:`train_dqn`, :func:`resume_dqn`, :func:`load_run` (``train``): the training loop
  and its run folder. ``cnnkit rl`` is the command line; docs/rl.md the guide.

The games need the optional ``minatar`` package (``pip install --no-deps minatar==1.0.15``);
everything else here imports without it.

Example:
    >>> from cnnkit.rl import DQNConfig, train_dqn
    >>> result = train_dqn(DQNConfig(steps=200, learning_starts=50, buffer_size=500,
    ...                              eval_every=0, final_eval_episodes=4))
    >>> result.steps, result.greedy.to_dict()["episodes"]
    (200, 4)
"""

from .config import DQNConfig
from .dqn import DQNAgent, td_loss, td_target
from .env import GAMES, MinAtarGame, MinAtarMissingError
from .evaluate import EvalResult, RandomPolicy, evaluate_policy, greedy_policy
from ..models.dqn import minatar_dqn, minatar_dqn_spec
from .replay import Batch, ReplayBuffer
from .schedule import EpsilonSchedule
from .train import DQNResult, load_run, resume_dqn, train_dqn

__all__ = ["Batch", "DQNAgent", "DQNConfig", "DQNResult", "EpsilonSchedule", "EvalResult",
           "GAMES", "MinAtarGame", "MinAtarMissingError", "RandomPolicy", "ReplayBuffer",
           "evaluate_policy", "greedy_policy", "load_run", "minatar_dqn", "minatar_dqn_spec",
           "resume_dqn", "td_loss", "td_target", "train_dqn"]
