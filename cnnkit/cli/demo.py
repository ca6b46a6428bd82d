"""``cnnkit demo``: the LeNet-5 summary and one forward pass on a random batch."""

from __future__ import annotations

import argparse
import time

from .._validation import ArgumentError

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo", help="summarise LeNet-5 and run it on a random batch",
        description="Print the LeNet-5 summary and run one forward pass on a random batch.")
    parser.add_argument("--batch", type=int, default=8, help="batch size (default 8)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from ..inspect import summary
    from ..models import create_model

    if args.batch < 1:
        raise ArgumentError(f"--batch must be a positive int. Received: --batch {args.batch}.")
    torch.manual_seed(args.seed)
    model = create_model("lenet5").eval()
    print(summary(model))
    x = torch.randn(args.batch, *model.input_shape)
    start = time.perf_counter()
    with torch.no_grad():
        logits = model(x)
    elapsed = time.perf_counter() - start
    predicted = logits.argmax(dim=1).tolist()
    print(f"\nforward pass: input {tuple(x.shape)} -> output {tuple(logits.shape)} "
          f"in {elapsed * 1000:.1f} ms")
    print(f"predicted classes (untrained weights): {predicted}")
    return 0
