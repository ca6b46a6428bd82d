"""``cnnkit serve RUN``: the local web viewer of a trained run."""

from __future__ import annotations

import argparse

__all__ = ["FLAGS", "add_parser", "run"]

# Python argument -> the flag a user of this command types (see cnnkit.cli.main).
FLAGS = {"run_dir": "RUN", "which": "--which"}


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "serve", help="a local web page to draw digits and watch the network's layers",
        description="Serve a web page where you draw on a canvas (or drop an image, or pick a "
                    "test example) and see the prediction, every layer's activation maps, the "
                    "first-layer filters, and the receptive field and saliency of a clicked "
                    "unit. Listens on 127.0.0.1 unless --host is given.")
    parser.add_argument("run_dir", metavar="RUN", help="a run folder made by `cnnkit train`")
    parser.add_argument("--port", type=int, default=8000,
                        help="TCP port (default 8000; 0 picks a free one)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1: this machine only)")
    parser.add_argument("--which", choices=("best", "last"), default=None,
                        help="weights to use (default: those results.json describes)")
    parser.add_argument("--quiet", action="store_true", help="do not log each request")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from .._validation import ArgumentError
    from ..serve import make_server

    if not 0 <= args.port <= 65535:
        raise ArgumentError(f"--port must be 0 to 65535. Received: --port {args.port}.")
    try:
        server = make_server(args.run_dir, host=args.host, port=args.port, which=args.which,
                             quiet=args.quiet)
    except OSError as error:
        reason = error.strerror or str(error)
        raise ArgumentError(f"cannot listen on {args.host}:{args.port} ({reason}). Received: "
                            f"--host {args.host} --port {args.port}. Pick another --port, or 0 "
                            f"for a free one.") from None
    print(f"serving {args.run_dir} at {server.url} (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
