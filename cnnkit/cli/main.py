"""``cnnkit`` entry point: argparse sub-commands; every failure is one line on stderr.

- A cnnkit error (bad spec, bad argument, bad data) prints ``cnnkit <command>: error:
  <message>`` and exits 2. The library names Python arguments (``Received:
  run_dir='x'``); each command lists the flag of each argument (:data:`FLAGS` of its
  module, or ``args.flags``), and the message is reworded with the flags a user typed
  (``Received: --resume x``).
- Ctrl-C prints ``interrupted`` (with the command that resumes a training run) and exits
  130; a file system error (full or read-only disk) names the path and exits 1.
- Anything else is a fault in cnnkit: one line with the exception's type, the full
  traceback written to a log file whose path the line gives (``CNNKIT_DEBUG=1`` prints it
  as well); exit 1.
- Warnings print as ``cnnkit <command>: warning: <message>``.

Example:
    >>> main(["summary", "no-such-file.yaml"])
    2
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import importlib
import os
import re
import shlex
import sys
import tempfile
import time
import traceback
import warnings

from .._validation import CnnkitError
from .._version import __version__
from ._hints import reword_python_hints

__all__ = ["COMMANDS", "COMMON_FLAGS", "DefaultsHelpFormatter", "build_parser", "cli_message", "main"]

# One module per sub-command, each with add_parser(subparsers) and run(args) -> int.
COMMANDS = ("summary", "demo", "train", "evaluate", "predict", "experiment", "report", "inspect",
            "serve", "export", "rl")

# Wording of the library that reads the same for every command.
COMMON_FLAGS = {"resume()": "`cnnkit train --resume {}`", "which": "--weights",
                "on_error": {"'skip'": "--skip-bad-images", "'raise'": "no --skip-bad-images"}}

# A value as a message echoes it: 'quoted', "quoted", or a bare token (a final full stop is
# the sentence's, not the value's).
_VALUE = r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^\s,;)]+?(?=[\s,;)]|\.(?:\s|$)|$)"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command of :data:`COMMANDS`."""
    parser = argparse.ArgumentParser(
        prog="cnnkit", description="Convolutional neural networks: specs, summaries, training, "
                                   "evaluation and prediction.")
    parser.add_argument("--version", action="version", version=f"cnnkit {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name in COMMANDS:
        module = importlib.import_module(f"{__package__}.{name}")
        before = set(subparsers.choices)
        module.add_parser(subparsers)
        for added in set(subparsers.choices) - before:
            subparsers.choices[added].set_defaults(
                flags={**COMMON_FLAGS, **getattr(module, "FLAGS", {})})
            subparsers.choices[added].formatter_class = DefaultsHelpFormatter
    return parser


class DefaultsHelpFormatter(argparse.RawDescriptionHelpFormatter):
    """``--help`` that shows each option's default, unless its help already says it or
    there is none to show (None, False, an empty list)."""

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        if ("default" in text.lower() or default is None or default is False
                or default == argparse.SUPPRESS or default == [] or not action.option_strings):
            return text
        return f"{text} (default: %(default)s)" if text else "default: %(default)s"


def _as_typed(value: str) -> str:
    """A value echoed by the library (``'runs/x'``, ``3``) as a user types it."""
    if value[:1] in "'\"":
        try:
            value = str(ast.literal_eval(value))
        except (ValueError, SyntaxError):
            value = value[1:-1]
        return shlex.quote(value) if value else "''"
    return value


def cli_message(error: BaseException, flags: dict) -> str:
    """The message of ``error`` on one line, with Python argument names turned into flags.

    Args:
        error: the error; its ``argument`` (see :class:`~cnnkit.CnnkitError`) is the
            argument the message is about.
        flags: argument name -> flag (``{"run_dir": "--resume"}``), or -> a mapping of
            echoed values to what a user types (``{"on_error": {"'skip'":
            "--skip-bad-images"}}``); a function name with ``()`` -> the command that does
            the same, ``{}`` standing for its argument (``{"resume()": "`cnnkit train
            --resume {}`"}``).

    Example:
        >>> from cnnkit import ArgumentError
        >>> error = ArgumentError("run_dir 'r' is not a run folder. Received: run_dir='r'.",
        ...                       argument="run_dir")
        >>> cli_message(error, {"run_dir": "--resume"})
        "--resume 'r' is not a run folder. Received: --resume r."
        >>> cli_message(ArgumentError("pass on_error='skip' to leave them out."),
        ...             {"on_error": {"'skip'": "--skip-bad-images"}})
        'pass --skip-bad-images to leave them out.'
        >>> cli_message(ArgumentError("Continue it with resume('runs/a')."),
        ...             {"resume()": "`cnnkit train --resume {}`"})
        'Continue it with `cnnkit train --resume runs/a`.'
    """
    message = reword_python_hints(" ".join(str(error).split()))
    for name, flag in flags.items():
        if name.endswith("()"):
            pattern = rf"(?<![\w.]){re.escape(name[:-2])}\(({_VALUE})\)"
            message = re.sub(pattern, lambda m, f=flag: f.format(_as_typed(m.group(1))), message)
            continue
        pattern = rf"(?<![\w.\-]){re.escape(name)}=({_VALUE})"
        if isinstance(flag, dict):
            message = re.sub(pattern, lambda m, f=flag: f.get(m.group(1), m.group(0)), message)
        else:
            message = re.sub(pattern, lambda m, f=flag: f"{f} {_as_typed(m.group(1))}", message)
    # The subject of the sentence: "run_dir 'x' is ...", "opset must be ...".
    argument = getattr(error, "argument", None)
    flag = flags.get(argument) if argument else None
    if isinstance(flag, str) and re.match(rf"{re.escape(argument)} (must |'|\")", message):
        message = flag + message[len(argument):]
    return message


@contextlib.contextmanager
def _one_line_warnings(command: str):
    def show(message, category, filename, lineno, file=None, line=None):
        text = " ".join(str(message).split())
        _emit(f"cnnkit {command}: warning: {text}", error=False)

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


def _emit(line: str, *, error: bool = True) -> None:
    """Print one line to stderr; under ``cnnkit train --nproc`` a worker process hands its
    errors to the launcher instead, which prints each distinct one once."""
    folder = os.environ.get("CNNKIT_ERROR_DIR")
    rank = os.environ.get("RANK")
    if error and folder and rank is not None:
        try:
            with open(os.path.join(folder, f"rank{rank}.txt"), "a") as handle:
                handle.write(line + "\n")
            return
        except OSError:
            pass
    if not error and rank not in (None, "0"):
        return  # every worker would warn alike
    print(line, file=sys.stderr, flush=True)


def _log_traceback(command: str) -> str | None:
    """Write the current exception's traceback to a log file; its path, or None."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = os.path.join(tempfile.gettempdir(), f"cnnkit-{command}-{stamp}-{os.getpid()}.log")
    try:
        with open(path, "w") as handle:
            handle.write(f"cnnkit {__version__}: {' '.join(sys.argv)}\n")
            traceback.print_exc(file=handle)
    except OSError:
        return None
    return path


def _unexpected(command: str, error: BaseException) -> int:
    first = (str(error).strip().splitlines() or [""])[0][:300]
    if os.environ.get("CNNKIT_DEBUG") == "1":
        traceback.print_exc()
    if isinstance(error, MemoryError) or (isinstance(error, RuntimeError) and (
            "out of memory" in first.lower() or "not enough memory" in first.lower())):
        _emit(f"cnnkit {command}: error: out of memory ({type(error).__name__}: {first}). Lower "
              f"the batch size, or make the network smaller.")
        return 1
    where = _log_traceback(command)
    told = (f" The full traceback is in {where} (CNNKIT_DEBUG=1 prints it)." if where
            else " Set CNNKIT_DEBUG=1 to print the full traceback.")
    _emit(f"cnnkit {command}: error: unexpected {type(error).__name__}: {first}.{told} This is "
          f"a fault in cnnkit; please report it with that file.")
    return 1


def main(argv: list[str] | None = None) -> int:
    """Run ``cnnkit`` with ``argv`` (default: ``sys.argv[1:]``); returns the exit status.

    2: a usage or cnnkit error; 1: a file system error or a fault in cnnkit; 130: Ctrl-C.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = argv
    command = args.command
    with _one_line_warnings(command):
        try:
            return int(args.run(args) or 0)
        except CnnkitError as error:
            _emit(f"cnnkit {command}: error: {cli_message(error, getattr(args, 'flags', {}))}")
            return 2
        except KeyboardInterrupt as interrupt:
            run_dir = getattr(interrupt, "run_dir", None)
            hint = (f"; resume with `cnnkit train --resume {shlex.quote(str(run_dir))}`"
                    if run_dir is not None else "")
            _emit(f"cnnkit {command}: interrupted{hint}")
            return 130
        except BrokenPipeError:
            # The reader went away (`cnnkit summary x.yaml | head`): not an error.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
        except OSError as error:
            where = f" {error.filename}" if error.filename else ""
            reason = error.strerror or str(error)
            _emit(f"cnnkit {command}: error: cannot use{where}: {reason}.")
            return 1
        except Exception as error:  # noqa: BLE001 - no traceback reaches a user; see above
            return _unexpected(command, error)


if __name__ == "__main__":
    sys.exit(main())
