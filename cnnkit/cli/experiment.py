"""``cnnkit experiment [NAME]``: list the source material's claims, or run one and print its
table (mean ± std over seeds where training is involved), writing the figure and a markdown
section.

Example:
    >>> from cnnkit.cli.main import main
    >>> main(["experiment", "no_such"])  # one line on stderr: the names, a did-you-mean
    2
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "experiment", help="list the source material's claims, or run one as an experiment",
        description="Without NAME: list the experiments, one claim each. With NAME: run it, "
                    "print its table and write NAME.png, NAME.md and NAME.json into --out.")
    parser.add_argument("name", metavar="NAME", nargs="?", default=None,
                        help="the experiment to run (omit to list them)")
    parser.add_argument("--quick", action="store_true",
                        help="a short run (under a minute): fewer steps, sizes and seeds")
    parser.add_argument("--seeds", type=str, default=None, metavar="N",
                        help="number of seeds (default: the experiment's, 1 with --quick)")
    parser.add_argument("--out", type=str, default=None, metavar="DIR",
                        help="where to write the figure and markdown (default experiments/NAME/)")
    parser.set_defaults(run=run)


def _seeds(text: str | None, default: int) -> int:
    from .._validation import ArgumentError

    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ArgumentError(f"--seeds must be a positive int. Received: --seeds {text}. "
                            f"Use e.g. --seeds 3.")
    return value


def run(args: argparse.Namespace) -> int:
    from .._validation import ArgumentError
    from ..experiments import EXPERIMENTS, get_experiment, write_outputs

    if args.name is None:
        width = max(len(name) for name in EXPERIMENTS)
        for name, experiment in EXPERIMENTS.items():
            print(f"{name.ljust(width)}  {experiment.claim}")
        print(f"\nRun one: cnnkit experiment NAME [--quick] [--seeds N] [--out DIR]")
        return 0
    experiment = get_experiment(args.name)
    default = min(experiment.seeds, 1) if args.quick else experiment.seeds
    seeds = _seeds(args.seeds, default)
    if not experiment.seeds:
        if args.seeds is not None:
            raise ArgumentError(f"{experiment.name} trains nothing and has no seeds. Received: "
                                f"--seeds {args.seeds}. Leave --seeds out.")
        seeds = 1
    out = Path(args.out) if args.out is not None else Path("experiments") / experiment.name
    command = " ".join(["cnnkit", "experiment", experiment.name]
                       + (["--quick"] if args.quick else [])
                       + (["--seeds", str(seeds)] if args.seeds is not None else []))
    print(f"{experiment.name}: {experiment.claim}", flush=True)
    started, cpu_started = time.perf_counter(), time.process_time()
    result = experiment.run(quick=args.quick, seeds=seeds)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    print()
    print(result.text())
    print()
    for note in result.notes:
        print(note)
    print(f"Published: {experiment.published}")
    for statement, holds in result.checks:
        print(f"Measured here: {statement}: {'holds' if holds else 'does NOT hold'}.")
    written = write_outputs(experiment, result, out, command=command, seconds=seconds,
                            cpu_seconds=cpu)
    print(f"Wrote {', '.join(shlex.quote(str(p)) for p in written)} ({seconds:.0f} s wall, "
          f"{cpu:.0f} s CPU).")
    sys.stdout.flush()
    return 0
