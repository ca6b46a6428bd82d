"""``cnnkit data pack``: write a data set as shards that training streams from disk."""

from __future__ import annotations

import argparse

__all__ = ["FLAGS", "add_parser", "run"]

# Python argument -> the flag a user of this command types (see cnnkit.cli.main).
FLAGS = {"source": "SRC", "out": "--out", "shard_size": "--shard-size",
         "test_fraction": "--test-fraction", "seed": "--seed", "format": "--format",
         "on_error": {"'skip'": "--skip-bad-images", "'raise'": "no --skip-bad-images"}}


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "data", help="prepare data sets (pack them into shards)",
        description="Tools for data sets. `cnnkit data pack SRC --out DIR` writes SRC as "
                    "shards that `cnnkit train --data DIR` streams from disk.")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
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


def run(args: argparse.Namespace) -> int:
    from ..data.pack import pack

    index = pack(args.source, args.out, shard_size=args.shard_size,
                 test_fraction=args.test_fraction, seed=args.seed, format=args.format,
                 on_error="skip" if args.skip_bad_images else "raise")
    parts = ", ".join(f"{split}: {sum(e['samples'] for e in entries)} samples in "
                      f"{len(entries)} shards" for split, entries in index["splits"].items())
    print(f"packed {args.source} into {args.out} ({parts}; {len(index['classes'])} classes)")
    print(f"next:   cnnkit train SPEC --data {args.out}")
    return 0
