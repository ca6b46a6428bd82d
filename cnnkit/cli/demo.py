"""``cnnkit demo``: the main job. Train LeNet-5 on 5,000 real MNIST digits and report.

LeNet-5's shape (conv 6@5x5, pool, conv 16@5x5, pool, dense 120-84-10) with ReLU and max
pooling, trained on the 4,000 training digits of the bundled ``mnist5k`` with the
augmentations that the Wikipedia article "Convolutional neural network" and Simard et al. (2003)
recommend for small data: small affine distortions and elastic deformation. It then tests
on the 1,000 held-out digits and leaves a run folder that ``cnnkit eval`` and
``cnnkit predict`` accept.
"""

from __future__ import annotations

import argparse
import time

from .._validation import ArgumentError

__all__ = ["DEMO_CONFIG", "add_parser", "run"]

# Settings of the demo run; units as in TrainConfig. 40 epochs of 62 steps of 64 digits.
DEMO_CONFIG = {
    "epochs": 40,
    "batch_size": 64,
    "optimizer": "sgd",
    "lr": 0.05,
    "momentum": 0.9,
    "nesterov": True,
    "weight_decay": 5e-4,
    "schedule": "onecycle",
    "label_smoothing": 0.1,
    "val_fraction": 0.0,  # the 1,000 test digits are never seen in training
    "augment": [{"affine": {"degrees": 12, "scale": 0.1, "translate": 0.1}},
                {"elastic": {"alpha": 8.0, "sigma": 3.0}}],
    "seed": 0,
}


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo", help="train LeNet-5 on 5,000 real MNIST digits and report the test accuracy",
        description="Train LeNet-5 on the bundled mnist5k digits (4,000 train, 1,000 test), "
                    "print the test accuracy and the run folder.")
    parser.add_argument("--epochs", type=int, default=DEMO_CONFIG["epochs"],
                        help=f"epochs (default {DEMO_CONFIG['epochs']})")
    parser.add_argument("--seed", type=int, default=DEMO_CONFIG["seed"], help="random seed (default 0)")
    parser.add_argument("--runs", default="runs", help="folder for the run (default: runs)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..inspect import summary
    from ..models import create_model
    from ..workflow import train_and_report

    if args.epochs < 1:
        raise ArgumentError(f"--epochs must be a positive int. Received: --epochs {args.epochs}.")
    network = create_model("lenet5", activation="relu", pool="max")
    print("LeNet-5 on mnist5k: 4,000 training and 1,000 test digits (28x28)\n")
    print(summary(network))
    print()
    started = time.perf_counter()
    result = train_and_report(network.spec(), "mnist5k", dict(DEMO_CONFIG, epochs=args.epochs, seed=args.seed),
                   runs_root=args.runs, name="lenet5-demo")
    wall = time.perf_counter() - started
    test = result.test
    print(f"\ntest accuracy: {100 * test['accuracy']:.2f}% on {test['count']} held-out digits "
          f"(loss {test['loss']:.4f})")
    print(f"training time: {result.train_seconds:.1f} s for {result.epochs_run} epochs "
          f"({result.epochs_run * 4000 / max(result.train_seconds, 1e-9):,.0f} images/s); "
          f"{wall:.1f} s in all")
    print(f"run folder:    {result.run_dir}")
    report = result.run_dir / "report" / "index.html"
    if report.exists():
        print(f"report:        {report}  (open it in a browser)")
    print(f"next:          cnnkit eval {result.run_dir}")
    print(f"               cnnkit predict {result.run_dir} some_digit.png")
    print(f"               cnnkit serve {result.run_dir}   (draw digits, watch the network)")
    return 0
