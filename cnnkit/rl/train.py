"""DQN's training loop on a MinAtar game, and the run folder it leaves.

```
runs/dqn-<game>-<timestamp>/
  spec.yaml        the Q-network's spec (cnnkit.build reads it back)
  config.yaml      rl: the DQNConfig; game: observation shape and actions; provenance
  metrics.jsonl    split "train" every log_every steps (loss, epsilon, episode returns),
                   split "eval" every eval_every steps (greedy return, random return)
  checkpoints/     step-*.safetensors + .json at episode ends (resume), best.*, final.*
  results.json     the greedy policy against a random policy, final_eval_episodes each
  report/learning_curve.png
```

Checkpoints are taken at the end of an episode (the first one after each multiple of
``checkpoint_every``), where the game's whole state is its random state: the checkpoint
holds both networks, the optimiser, the replay buffer, the exploration generator and the
game's random state, so a resumed run continues exactly as if it had not stopped (on the
CPU, bit-identical weights). The loop runs one environment step at a time (MinAtar is
Python); minibatches come from preallocated tensors (:class:`ReplayBuffer`).
"""

from __future__ import annotations

import json
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import yaml

from .._validation import ArgumentError
from ..spec import Network, build
from .._files import atomic_write_text
from ..runs.checkpoint import load_latest, prune, read_checkpoint, save_checkpoint, step_name
from .config import DQNConfig
from .dqn import DQNAgent
from .env import MinAtarGame
from .evaluate import EvalResult, RandomPolicy, evaluate_policy, greedy_policy
from ..models.dqn import minatar_dqn
from .plot import plot_learning_curve
from .replay import ReplayBuffer
from .schedule import EpsilonSchedule

__all__ = ["DQNResult", "load_run", "resume_dqn", "train_dqn"]

# Evaluation games are seeded away from the training game's seed.
_EVAL_SEED_OFFSET = 1_000_003


@dataclass
class DQNResult:
    """What a DQN run leaves: the agent, the final comparison, where the run folder is."""

    agent: DQNAgent
    run_dir: Path | None
    steps: int
    episodes: int
    greedy: EvalResult | None    # the final greedy policy, final_eval_episodes episodes
    random: EvalResult | None    # a uniformly random policy on the same game seeds
    train_seconds: float


def train_dqn(config: DQNConfig | dict | None = None, *, run_dir: str | Path | None = None,
              runs_root: str | Path | None = None, name: str | None = None,
              on_eval: Callable[[dict], None] | None = None, **overrides) -> DQNResult:
    """Train MinAtar's DQN network on a MinAtar game with DQN (Mnih et al. 2015).

    Args:
        config: a :class:`DQNConfig`, a dict of its settings, or None (the defaults).
        run_dir: the run folder to write (must not exist or be empty).
        runs_root: write a new ``<runs_root>/<name>-<timestamp>`` folder instead.
            With neither, nothing is written to disk.
        name: run name (default ``dqn-<game>``).
        on_eval: called with each evaluation record (a dict, as in ``metrics.jsonl``).
        **overrides: settings that replace those of ``config``.

    Raises:
        ArgumentError, SpecError: a bad setting, naming it.
        MinAtarMissingError: minatar is not installed.

    Example:
        >>> result = train_dqn(steps=300, learning_starts=100, eval_every=0,
        ...                    final_eval_episodes=5, buffer_size=1000)
        >>> result.steps, len(result.greedy.returns)
        (300, 5)
    """
    config = _config(config, overrides)
    folder = None
    if run_dir is not None or runs_root is not None:
        folder = Path(run_dir) if run_dir is not None else \
            _new_run_dir(runs_root, name or f"dqn-{config.game}")
        _check_new(folder)
    loop = _Loop(config, folder, on_eval)
    if folder is not None:
        loop.write_header()
    return loop.run()


def resume_dqn(run_dir: str | Path, steps: int | None = None,
               on_eval: Callable[[dict], None] | None = None) -> DQNResult:
    """Continue the run in ``run_dir`` from its last checkpoint (to ``steps`` if given).

    Metrics logged after the checkpoint are dropped first, so that ``metrics.jsonl`` reads
    as one run.

    Raises:
        ArgumentError: ``run_dir`` is not a DQN run folder.
    """
    folder = Path(run_dir)
    recorded = _read_config(folder)
    config = DQNConfig.from_dict(recorded, "config.yaml:rl")
    if steps is not None:
        config = config.replace(steps=steps)
    loop = _Loop(config, folder, on_eval, network=build(folder / "spec.yaml"))
    # Record the (possibly longer) schedule and this resumption with the run.
    whole = yaml.safe_load((folder / "config.yaml").read_text())
    whole["rl"]["steps"] = config.steps
    whole.setdefault("resumed", []).append(
        {"command": " ".join(sys.argv), "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
    atomic_write_text(folder / "config.yaml", yaml.safe_dump(whole, sort_keys=False))
    found = load_latest(folder / "checkpoints")
    if found is None:
        _truncate_metrics(folder / "metrics.jsonl", -1)
    else:
        loop.restore(found.tensors, found.state)
        _truncate_metrics(folder / "metrics.jsonl", loop.step)
    return loop.run()


def load_run(run_dir: str | Path, which: str = "final") -> tuple[Network, DQNConfig]:
    """The Q-network of a run with its ``final``, ``best`` or ``last`` (checkpoint) weights.

    Raises:
        ArgumentError: not a run folder, or it has no such weights yet.
    """
    folder = Path(run_dir)
    config = DQNConfig.from_dict(_read_config(folder), "config.yaml:rl")
    network = build(folder / "spec.yaml")
    checkpoints = folder / "checkpoints"
    if which == "last":
        found = load_latest(checkpoints)
    elif which in ("final", "best") and (checkpoints / f"{which}.json").is_file():
        found = read_checkpoint(checkpoints / f"{which}.json")
    elif which in ("final", "best"):
        found = None
    else:
        raise ArgumentError(f"which must be 'final', 'best' or 'last'. Received: which={which!r}.",
                            argument="which")
    if found is None:
        raise ArgumentError(f"run {str(folder)!r} has no {which} weights yet. Received: "
                            f"which={which!r}. Use which='last' for the latest checkpoint.",
                            argument="which")
    network.load_state_dict(found.prefixed("online"))
    return network, config


# ---- the loop ---------------------------------------------------------------------------------

class _Loop:
    """State of one training run: game, agent, replay buffer, generators and counters."""

    def __init__(self, config: DQNConfig, folder: Path | None, on_eval, network=None):
        self.config = config
        self.folder = folder
        self.on_eval = on_eval
        if config.threads:
            torch.set_num_threads(config.threads)
        self.device = _device(config.device)
        self.game = MinAtarGame(config.game, seed=config.seed,
                                sticky_action_prob=config.sticky_action_prob,
                                difficulty_ramping=config.difficulty_ramping)
        torch.manual_seed(config.seed)  # the network's initial weights
        if network is None:
            network = minatar_dqn(self.game.num_actions, self.game.observation_shape)
        self._check_network(network)
        self.agent = DQNAgent(network.to(self.device), config.optimizer, config.lr,
                              config.gamma, config.double, config.grad_clip)
        self.buffer = ReplayBuffer(config.buffer_size, self.game.observation_shape,
                                   device=self.device)
        self.generator = torch.Generator().manual_seed(config.seed)
        self.schedule = EpsilonSchedule(config.epsilon_start, config.epsilon_end,
                                        config.epsilon_decay_steps, config.learning_starts)
        self.step = 0
        self.episodes = 0
        self.best_return: float | None = None
        self.next_checkpoint = config.checkpoint_every or None
        # Since the last metrics line: loss sum and count, finished episodes' returns.
        self.loss_sum = torch.zeros((), device=self.device)
        self.loss_count = 0
        self.recent_returns: list[float] = []
        self.random_return: float | None = None

    def _check_network(self, network) -> None:
        shape = tuple(getattr(network, "input_shape", ()))
        out = tuple(getattr(network, "output_shape", ()))
        if shape != self.game.observation_shape or out != (self.game.num_actions,):
            raise ArgumentError(
                f"the network must map {self.game.observation_shape} observations of "
                f"{self.config.game} to {self.game.num_actions} action values. Received: "
                f"network {shape} -> {out}. Build it with input {list(self.game.observation_shape)} "
                f"and {self.game.num_actions} outputs.", argument="network")

    # -- run folder --
    def write_header(self) -> None:
        folder = self.folder
        (folder / "checkpoints").mkdir(parents=True, exist_ok=True)
        atomic_write_text(folder / "spec.yaml", self.agent.online.to_yaml())
        recorded = {"rl": self.config.to_dict(),
                    "game": {"name": self.config.game,
                             "observation_shape": list(self.game.observation_shape),
                             "minatar_actions": list(self.game.actions)},
                    "provenance": _provenance()}
        atomic_write_text(folder / "config.yaml", yaml.safe_dump(recorded, sort_keys=False))
        (folder / "metrics.jsonl").touch()

    def log(self, record: dict) -> None:
        if self.folder is not None:
            with open(self.folder / "metrics.jsonl", "a") as handle:
                handle.write(json.dumps(record) + "\n")

    # -- checkpoints --
    def checkpoint_state(self) -> tuple[dict, dict]:
        tensors = self.agent.tensors()
        replay = self.buffer.state_dict()
        for key in ("obs", "next_obs", "action", "reward", "done"):
            tensors[f"replay.{key}"] = replay[key]
        tensors["rng.generator"] = self.generator.get_state()
        game_rng = self.game.random_state()
        tensors["rng.game_keys"] = torch.from_numpy(game_rng.pop("keys").astype("int64"))
        state = {"step": self.step, "episodes": self.episodes, "best_return": self.best_return,
                 "next_checkpoint": self.next_checkpoint, "loss_sum": float(self.loss_sum),
                 "loss_count": self.loss_count, "recent_returns": self.recent_returns,
                 "replay_position": replay["position"], "replay_size": replay["size"],
                 "optimizer_groups": self.agent.optimizer_groups(), "game_rng": game_rng}
        return tensors, state

    def restore(self, tensors: dict, state: dict) -> None:
        self.agent.load(tensors, state["optimizer_groups"])
        self.buffer.load_state_dict({**{k: tensors[f"replay.{k}"] for k in
                                        ("obs", "next_obs", "action", "reward", "done")},
                                     "position": state["replay_position"],
                                     "size": state["replay_size"]})
        self.generator.set_state(tensors["rng.generator"])
        self.game.set_random_state({**state["game_rng"],
                                    "keys": tensors["rng.game_keys"].numpy()})
        self.step = state["step"]
        self.episodes = state["episodes"]
        self.best_return = state["best_return"]
        self.next_checkpoint = state["next_checkpoint"]
        self.loss_sum = torch.tensor(state["loss_sum"], device=self.device)
        self.loss_count = state["loss_count"]
        self.recent_returns = list(state["recent_returns"])

    def save_checkpoint(self) -> None:
        tensors, state = self.checkpoint_state()
        directory = self.folder / "checkpoints"
        save_checkpoint(directory, step_name(self.step), tensors, state)
        prune(directory, self.config.keep_checkpoints)

    def save_weights(self, name: str, extra: dict) -> None:
        tensors = {f"online.{k}": v for k, v in self.agent.online.state_dict().items()}
        save_checkpoint(self.folder / "checkpoints", name, tensors, dict(extra, step=self.step))

    # -- evaluation --
    def evaluate(self, policy, episodes: int) -> EvalResult:
        c = self.config
        return evaluate_policy(policy, c.game, episodes, seed=c.seed + _EVAL_SEED_OFFSET,
                               sticky_action_prob=c.sticky_action_prob,
                               difficulty_ramping=c.difficulty_ramping,
                               max_episode_steps=c.max_episode_steps)

    def greedy(self):
        return greedy_policy(self.agent.online, self.config.eval_epsilon,
                             seed=self.config.seed + self.step)

    def random_policy(self):
        return RandomPolicy(self.game.num_actions, seed=self.config.seed + _EVAL_SEED_OFFSET)

    def periodic_eval(self) -> None:
        c = self.config
        if self.random_return is None:
            self.random_return = self.evaluate(self.random_policy(), c.eval_episodes).mean
        result = self.evaluate(self.greedy(), c.eval_episodes)
        record = {"split": "eval", "step": self.step, **result.to_dict(),
                  "random_return": self.random_return,
                  "epsilon": round(self.schedule(self.step), 6)}
        self.log(record)
        if self.best_return is None or result.mean > self.best_return:
            self.best_return = result.mean
            if self.folder is not None:
                self.save_weights("best", {"return_mean": result.mean})
        if self.on_eval is not None:
            self.on_eval(record)

    # -- the loop --
    def run(self) -> DQNResult:
        c = self.config
        agent, buffer, game, generator = self.agent, self.buffer, self.game, self.generator
        num_actions = game.num_actions
        obs = game.reset()
        episode_return, episode_length = 0.0, 0
        start = time.perf_counter()
        log_clock, log_step = start, self.step
        while self.step < c.steps:
            epsilon = self.schedule(self.step)
            if torch.rand((), generator=generator).item() < epsilon:
                action = int(torch.randint(num_actions, (), generator=generator))
            else:
                action = int(agent.greedy(obs.to(self.device).float().unsqueeze(0)))
            reward, done = game.step(action)
            next_obs = game.observation()
            buffer.add(obs, action, reward, next_obs, done)
            self.step += 1
            episode_return += reward
            episode_length += 1
            if self.step > c.learning_starts and self.step % c.train_every == 0:
                self.loss_sum += agent.update(buffer.sample(c.batch_size, generator))
                self.loss_count += 1
            if self.step % c.target_every == 0:
                agent.sync_target()
            if self.step % c.log_every == 0:
                now = time.perf_counter()
                self.log({"split": "train", "step": self.step, "epsilon": round(epsilon, 6),
                          "loss": float(self.loss_sum) / self.loss_count if self.loss_count else None,
                          "episodes": self.episodes,
                          "return_mean": (sum(self.recent_returns) / len(self.recent_returns)
                                          if self.recent_returns else None),
                          "steps_per_second": round((self.step - log_step) / (now - log_clock), 1)})
                self.loss_sum.zero_()
                self.loss_count = 0
                self.recent_returns = []
                log_clock, log_step = now, self.step
            if c.eval_every and self.step % c.eval_every == 0:
                self.periodic_eval()
            if done or episode_length >= c.max_episode_steps:
                self.episodes += 1
                self.recent_returns.append(episode_return)
                episode_return, episode_length = 0.0, 0
                if self.next_checkpoint is not None and self.step >= self.next_checkpoint:
                    while self.next_checkpoint <= self.step:
                        self.next_checkpoint += c.checkpoint_every
                    if self.folder is not None:
                        self.save_checkpoint()
                obs = game.reset()
            else:
                obs = next_obs
        seconds = time.perf_counter() - start
        greedy = random = None
        if c.final_eval_episodes:
            greedy = self.evaluate(self.greedy(), c.final_eval_episodes)
            random = self.evaluate(self.random_policy(), c.final_eval_episodes)
        if self.folder is not None:
            self.save_weights("final", {"return_mean": greedy.mean if greedy else None})
            results = {"steps": self.step, "episodes": self.episodes,
                       "train_seconds": round(seconds, 1),
                       "greedy": greedy.to_dict() if greedy else None,
                       "random": random.to_dict() if random else None,
                       "best_eval_return": self.best_return}
            atomic_write_text(self.folder / "results.json", json.dumps(results, indent=1))
            try:
                plot_learning_curve(self.folder, self.folder / "report" / "learning_curve.png",
                                    title=f"DQN on MinAtar {c.game}")
            except ArgumentError:
                pass  # nothing logged yet (a run shorter than log_every and eval_every)
        return DQNResult(agent, self.folder, self.step, self.episodes, greedy, random, seconds)


# ---- helpers ----------------------------------------------------------------------------------

def _config(config, overrides) -> DQNConfig:
    if config is None:
        config = DQNConfig()
    elif isinstance(config, dict):
        config = DQNConfig.from_dict(config)
    elif not isinstance(config, DQNConfig):
        raise ArgumentError(f"config must be a DQNConfig, a dict or None. Received: "
                            f"config of type {type(config).__name__}.", argument="config")
    if overrides:
        DQNConfig.from_dict(overrides)  # names an unknown key the same way
        config = config.replace(**overrides)
    return config


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ArgumentError(f"device must be 'cpu', 'cuda', 'cuda:N' or 'auto'. Received: "
                            f"device={name!r}.", argument="device") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ArgumentError(f"device {name!r} is not available: this PyTorch sees no GPU. "
                            f"Received: device={name!r}. Use device='cpu'.", argument="device")
    return device


def _new_run_dir(root, name: str) -> Path:
    root = Path(root)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    candidate, suffix = root / f"{name}-{stamp}", 1
    while candidate.exists():
        suffix += 1
        candidate = root / f"{name}-{stamp}-{suffix}"
    return candidate


def _check_new(folder: Path) -> None:
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ArgumentError(f"run_dir {str(folder)!r} already exists and is not empty. "
                            f"Received: run_dir={str(folder)!r}. Choose a new folder, or "
                            f"continue that run with resume_dqn({str(folder)!r}).",
                            argument="run_dir")


def _read_config(folder: Path) -> dict:
    path = folder / "config.yaml"
    try:
        recorded = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        recorded = None
    if not isinstance(recorded, dict) or not isinstance(recorded.get("rl"), dict) \
            or not (folder / "spec.yaml").is_file():
        raise ArgumentError(f"run_dir {str(folder)!r} is not a DQN run folder (it needs "
                            f"config.yaml with an rl section, and spec.yaml). Received: "
                            f"run_dir={str(folder)!r}.", argument="run_dir")
    return recorded["rl"]


def _truncate_metrics(path: Path, step: int) -> None:
    """Keep only the lines of ``metrics.jsonl`` logged at or before ``step``."""
    if not path.exists():
        return
    kept = []
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            break  # a line cut short by a kill
        if record.get("step", 0) <= step:
            kept.append(line)
    atomic_write_text(path, "".join(line + "\n" for line in kept))


def _provenance() -> dict:
    from importlib import metadata

    from .._version import __version__

    info = {"cnnkit": __version__, "torch": str(torch.__version__),
            "python": platform.python_version(), "platform": platform.platform(),
            "command": " ".join(sys.argv), "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    try:
        info["minatar"] = metadata.version("minatar")
    except metadata.PackageNotFoundError:
        pass
    return info
