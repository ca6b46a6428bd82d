"""``cnnkit rl``: train DQN on a MinAtar game (or resume, or evaluate a run).

One line per evaluation: the greedy policy's average return against a random policy's
on the same game seeds.
"""

from __future__ import annotations

import argparse
import re
import time

import yaml

from .._validation import ArgumentError, CnnkitError

__all__ = ["FLAGS", "add_parser", "run"]

# Command-line flags that set a DQNConfig field directly.
_SETTINGS = {"game": str, "steps": int, "seed": int, "optimizer": str, "lr": float,
             "buffer_size": int, "batch_size": int, "learning_starts": int,
             "target_every": int, "train_every": int, "eval_every": int, "eval_episodes": int,
             "final_eval_episodes": int, "device": str, "threads": int}
# Argument name -> the flag a user types (for error messages).
FLAGS = {name: f"--{name.replace('_', '-')}" for name in _SETTINGS}
FLAGS.update({"run_dir": "--run-dir", "double": "--double", "episodes": "--episodes",
              "which": "--which"})


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "rl", help="train DQN on a MinAtar game (Breakout, Space Invaders, ...)",
        description="Train MinAtar's Q-network with DQN (Mnih et al. 2015) on a MinAtar game "
                    "(Young and Tian 2019; pip install --no-deps minatar==1.0.15) and write a "
                    "run folder under --runs. Prints one line per evaluation: the greedy "
                    "policy's average return and a random policy's. --resume RUN continues a "
                    "stopped run; --evaluate RUN plays a trained run's policy.")
    parser.add_argument("--game", default=None,
                        help="breakout (default), space_invaders, asterix, freeway or seaquest")
    parser.add_argument("--steps", type=int, default=None,
                        help="environment steps of training (default 100000)")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--double", action="store_true", default=None,
                        help="double DQN targets (van Hasselt et al. 2016)")
    for name, kind in _SETTINGS.items():
        if name not in ("game", "steps", "seed"):
            parser.add_argument(FLAGS[name], dest=name, type=kind, default=None)
    parser.add_argument("--config", help="DQNConfig YAML file")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="any other DQNConfig setting (YAML value), repeatable")
    parser.add_argument("--runs", default="runs", help="folder for new runs (default: runs)")
    parser.add_argument("--name", help="run name (default: dqn-<game>)")
    parser.add_argument("--run-dir", help="exact run folder to write")
    parser.add_argument("--resume", metavar="RUN", help="continue RUN from its last checkpoint "
                                                        "(to --steps if given)")
    parser.add_argument("--evaluate", metavar="RUN", help="play RUN's policy and compare it "
                                                          "with a random policy")
    parser.add_argument("--which", choices=("final", "best", "last"), default="final",
                        help="--evaluate: which weights (default: final)")
    parser.add_argument("--episodes", type=int, default=100,
                        help="--evaluate: episodes (default: 100)")
    parser.set_defaults(run=run)


def _settings(args) -> dict:
    out = {name: getattr(args, name) for name in _SETTINGS if getattr(args, name) is not None}
    if args.double:
        out["double"] = True
    for item in args.set:
        if "=" not in item:
            raise ArgumentError(f"--set takes KEY=VALUE. Received: --set {item}.")
        key, value = item.split("=", 1)
        out[key.strip()] = yaml.safe_load(value)
    return out


def _load_config(path: str) -> dict:
    try:
        with open(path) as handle:
            values = yaml.safe_load(handle)
    except OSError as error:
        raise ArgumentError(f"--config {path} cannot be read ({error.strerror}). Received: "
                            f"--config {path}.") from None
    except yaml.YAMLError as error:
        raise ArgumentError(f"--config {path} is not valid YAML ({error}).") from None
    if values is not None and not isinstance(values, dict):
        raise ArgumentError(f"--config {path} must hold a mapping of settings. Received: "
                            f"{type(values).__name__}.")
    return values or {}


def _flagged(error: CnnkitError, flags: dict) -> ArgumentError:
    """The error reworded with the flags a user types (``game='x'`` -> ``--game x``).

    Example:
        >>> str(_flagged(ArgumentError("config.lr must be positive. Received: lr=-1.0.",
        ...                            argument="lr"), FLAGS))
        '--lr must be positive. Received: --lr -1.0.'
    """
    message = str(error)
    for name, flag in flags.items():
        pattern = rf"(?<![\w.\-]){name}=('[^']*'|[^\s,]+?)(?=[.,]?(\s|$))"
        message = re.sub(pattern, lambda m, f=flag: f"{f} {m.group(1).strip(chr(39))}", message)
    argument = getattr(error, "argument", None)
    for subject in (f"config.{argument} ", f"{argument} "):
        if argument in flags and message.startswith(subject):
            message = flags[argument] + " " + message[len(subject):]
            break
    return ArgumentError(message, argument=argument)


def _print_eval(started: list):
    def show(record: dict) -> None:
        now = time.perf_counter()
        rate = (record["step"] - started[1]) / max(now - started[0], 1e-9)
        started[:] = [now, record["step"]]
        print(f"step {record['step']:>9,}  greedy return {record['return_mean']:6.2f} "
              f"± {record['return_sem']:.2f} ({record['episodes']} episodes)  random "
              f"{record['random_return']:.2f}  epsilon {record['epsilon']:.2f}  "
              f"{rate:,.0f} steps/s", flush=True)
    return show


def run(args: argparse.Namespace) -> int:
    from .. import rl

    try:
        return _run(args, rl)
    except CnnkitError as error:
        if isinstance(error, rl.MinAtarMissingError):
            raise
        flags = dict(FLAGS)
        if args.resume or args.evaluate:
            flags["run_dir"] = "--resume" if args.resume else "--evaluate"
        raise _flagged(error, flags) from None


def _run(args, rl) -> int:
    if args.evaluate:
        network, config = rl.load_run(args.evaluate, args.which)
        common = dict(game=config.game, episodes=args.episodes,
                      seed=config.seed + 2_000_003, sticky_action_prob=config.sticky_action_prob,
                      difficulty_ramping=config.difficulty_ramping,
                      max_episode_steps=config.max_episode_steps)
        greedy = rl.evaluate_policy(rl.greedy_policy(network.eval(), config.eval_epsilon),
                                    **common)
        random = rl.evaluate_policy(rl.RandomPolicy(network.output_shape[0], seed=config.seed),
                                    **common)
        print(f"{args.evaluate} ({args.which} weights, {config.game}): greedy return "
              f"{greedy.mean:.2f} ± {greedy.sem:.2f}, random {random.mean:.2f} ± "
              f"{random.sem:.2f} over {args.episodes} episodes")
        return 0
    started = [time.perf_counter(), 0]
    if args.resume:
        settings = _settings(args)
        unknown = sorted(set(settings) - {"steps"})
        if unknown or args.config:
            raise ArgumentError(f"--resume continues a run with its own settings; only --steps "
                                f"may change. Received: {', '.join(FLAGS.get(k, k) for k in unknown) or '--config'}.")
        result = rl.resume_dqn(args.resume, steps=settings.get("steps"),
                               on_eval=_print_eval(started))
    else:
        values = _load_config(args.config) if args.config else {}
        values.update(_settings(args))
        config = rl.DQNConfig.from_dict(values)
        print(f"DQN on MinAtar {config.game}: {config.steps:,} steps, seed {config.seed}, "
              f"{config.optimizer} lr {config.lr:g}{', double DQN' if config.double else ''}",
              flush=True)
        result = rl.train_dqn(config, run_dir=args.run_dir,
                              runs_root=None if args.run_dir else args.runs,
                              name=args.name, on_eval=_print_eval(started))
    if result.greedy is not None:
        n = len(result.greedy.returns)
        print(f"final: greedy return {result.greedy.mean:.2f} ± {result.greedy.sem:.2f}, random "
              f"{result.random.mean:.2f} ± {result.random.sem:.2f} over {n} episodes (same game "
              f"seeds)")
    print(f"{result.steps:,} steps, {result.episodes:,} training episodes, "
          f"{result.train_seconds:.1f} s of training")
    if result.run_dir is not None:
        print(f"run folder: {result.run_dir}")
    return 0
