"""``cnnkit serve RUN``: the local web viewer of a trained run."""

from __future__ import annotations

import argparse

from ._weights import add_weights_argument, choose_weights

__all__ = ["FLAGS", "add_parser", "run"]

# Python argument -> the flag a user of this command types (see cnnkit.cli.main).
FLAGS = {"run_dir": "RUN", "which": "--which"}


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "serve", help="a local web page to try a run's network and watch its layers",
        description="Serve a web page where you draw on a canvas (or drop an image, or pick a "
                    "test example) and see the prediction as the run's task gives it (class "
                    "or label probabilities, values, a mask or boxes over the input, a "
                    "reconstruction, beside the truth for a test example), every layer's "
                    "activations (traces over time for 1-D networks, the middle slice of 3-D "
                    "ones), the first-layer filters, and the receptive field and saliency of "
                    "a clicked unit. Listens on 127.0.0.1 unless --host is given.")
    parser.add_argument("run_dir", metavar="RUN", help="a run folder made by `cnnkit train`")
    parser.add_argument("--port", type=int, default=8000,
                        help="TCP port (default 8000; 0 picks a free one)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1: this machine only)")
    add_weights_argument(parser)
    parser.add_argument("--quiet", action="store_true", help="do not log each request")
    limits = parser.add_argument_group("limits (more load is answered 503 with Retry-After)")
    limits.add_argument("--workers", type=int, default=4,
                        help="threads that compute answers (default 4; the model itself runs "
                             "one request at a time)")
    limits.add_argument("--queue", type=int, default=64,
                        help="requests taken on at once, computing or waiting (default 64)")
    limits.add_argument("--memory-budget", type=int, default=256, metavar="MIB",
                        help="MiB that request bodies, decoded images and parsed JSON may hold "
                             "at once (default 256)")
    limits.add_argument("--request-timeout", type=float, default=10.0, metavar="SECONDS",
                        help="seconds a client may take to send one request (default 10)")
    limits.add_argument("--threads", type=int, default=1,
                        help="PyTorch threads (default 1: one small image at a time gains "
                             "nothing from more)")
    limits.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                        help="another name the Host header may give (besides the --host "
                             "address, localhost, 127.0.0.1 and [::1]); repeatable")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from .._validation import ArgumentError
    from ..serve import ServerLimits, make_server

    if not 0 <= args.port <= 65535:
        raise ArgumentError(f"--port must be 0 to 65535. Received: --port {args.port}.")
    for flag, value in (("--workers", args.workers), ("--queue", args.queue),
                        ("--threads", args.threads)):
        if value < 1:
            raise ArgumentError(f"{flag} must be at least 1. Received: {flag} {value}.")
    if args.memory_budget < 16:
        raise ArgumentError(f"--memory-budget must be at least 16 (MiB). Received: "
                            f"--memory-budget {args.memory_budget}.")
    if not args.request_timeout > 0:
        raise ArgumentError(f"--request-timeout must be a positive number of seconds. "
                            f"Received: --request-timeout {args.request_timeout}.")
    limits = ServerLimits(workers=args.workers, queue=args.queue,
                          memory_budget=args.memory_budget * 2 ** 20,
                          request_timeout=args.request_timeout)
    try:
        choice = choose_weights(args.run_dir, args.which, show=False)
        server = make_server(args.run_dir, host=args.host, port=args.port, which=choice.which,
                             quiet=args.quiet, limits=limits, allowed_hosts=args.allow_host,
                             threads=args.threads)
    except OSError as error:
        reason = error.strerror or str(error)
        raise ArgumentError(f"cannot listen on {args.host}:{args.port} ({reason}). Received: "
                            f"--host {args.host} --port {args.port}. Pick another --port, or 0 "
                            f"for a free one.") from None
    print(f"serving {args.run_dir} at {server.url} (Ctrl-C stops); weights: {choice}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
