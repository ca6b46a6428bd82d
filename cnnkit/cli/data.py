"""``cnnkit data list``: the bundled data sets; ``cnnkit data pack``: write a data set as
shards that training streams from disk."""

from __future__ import annotations

import argparse

__all__ = ["FLAGS", "add_parser", "run"]

# Python argument -> the flag a user of this command types (see cnnkit.cli.main).
FLAGS = {"source": "SRC", "out": "--out", "shard_size": "--shard-size",
         "test_fraction": "--test-fraction", "seed": "--seed", "format": "--format",
         "on_error": {"'skip'": "--skip-bad-images", "'raise'": "no --skip-bad-images"}}


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "data", help="list the bundled data sets; pack data into shards",
        description="Tools for data sets. `cnnkit data list` names the bundled sets that "
                    "--data takes; `cnnkit data pack SRC --out DIR` writes SRC as "
                    "shards that `cnnkit train --data DIR` streams from disk.")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    actions.add_parser("list", help="the bundled data sets: target, samples, input shape",
                       description="The data sets shipped with cnnkit, for --data.")
    pack = actions.add_parser(
        "pack", help="write a data set as .tar (WebDataset layout) or .npz shards",
        description="Write SRC (an image folder with one sub-folder per class, a .npz or .csv "
                    "file, or a bundled data set) as shards with an index.json, shuffled, "
                    "split into train and test parts.")
    pack.add_argument("source", metavar="SRC", help="image folder, .npz, .csv or bundled name")
    pack.add_argument("--out", required=True, help="a new or empty folder for the shards")
    pack.add_argument("--shard-size", type=int, default=1000,
                      help="samples per shard (default 1000)")
    pack.add_argument("--test-fraction", type=float, default=0.2,
                      help="share written as test shards (default 0.2; 0: none)")
    pack.add_argument("--seed", type=int, default=0, help="seed of the split and the order")
    pack.add_argument("--format", choices=("tar", "npz"), default="tar",
                      help="tar: encoded images in the WebDataset layout (default); npz: arrays")
    pack.add_argument("--skip-bad-images", action="store_true",
                      help="leave out unreadable images (counted) instead of stopping")
    parser.set_defaults(run=run)


def list_bundled() -> int:
    """Print one line per bundled data set: name, target, samples, input shape.

    Example:
        >>> list_bundled()   # doctest: +ELLIPSIS
        name               target        train   test  input
        ...
        mnist5k            class          4000   1000  1x28x28
        ...
        0
    """
    from ..data import dataset_info, list_datasets

    print(f"{'name':<18} {'target':<12} {'train':>6} {'test':>6}  input")
    for name in list_datasets():
        info = dataset_info(name)
        shape = "x".join(str(v) for v in info.input_shape)
        print(f"{name:<18} {info.target:<12} {info.sizes['train']:>6} {info.sizes['test']:>6}  "
              f"{shape}")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.action == "list":
        return list_bundled()
    from ..data.pack import pack

    index = pack(args.source, args.out, shard_size=args.shard_size,
                 test_fraction=args.test_fraction, seed=args.seed, format=args.format,
                 on_error="skip" if args.skip_bad_images else "raise")
    parts = ", ".join(f"{split}: {sum(e['samples'] for e in entries)} samples in "
                      f"{len(entries)} shards" for split, entries in index["splits"].items())
    print(f"packed {args.source} into {args.out} ({parts}; {len(index['classes'])} classes)")
    print(f"next:   cnnkit train SPEC --data {args.out}")
    return 0
