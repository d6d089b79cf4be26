"""
The `sandwarden` command: argument parsing and rendering only.

Each subcommand lives in a module of this package that offers
``register(subparsers)``; it adds its parser and sets ``handler`` to a
function taking the parsed namespace and returning the exit code.

A reader that stops early (``sandwarden transcript --json RUN | head``)
closes stdout's pipe; ``main`` then ends quietly with 141, the status a
shell shows for a program stopped by SIGPIPE, instead of a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import cast

from sandwarden.cli.common import EXIT_CODES_HELP, HelpFormatter

__all__ = ["EXIT_CLOSED_PIPE", "main"]

# Modules of this package that each add one subcommand, in help order.
_SUBCOMMANDS: tuple[str, ...] = (
    "login",
    "ask",
    "status",
    "doctor",
    "heal",
    "watch",
    "template",
    "backup",
    "restore",
    "parity",
    "config",
    "simulate",
    "transcript",
)

Handler = Callable[[argparse.Namespace], int]

# 128 + SIGPIPE: what `cat` killed by a closed pipe exits with, so a
# pipeline under `set -o pipefail` still sees that the output was cut.
EXIT_CLOSED_PIPE = 141


def build_parser() -> argparse.ArgumentParser:
    """Build the parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="sandwarden",
        description=(
            "Keep Claude Code authenticated and healthy in a Docker "
            "sandbox, and run prompts in it unattended."
        ),
        epilog=(
            f"{EXIT_CODES_HELP}\n\n`config`, `simulate` and `transcript` "
            "keep their own codes; see their --help."
        ),
        formatter_class=HelpFormatter,
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _SUBCOMMANDS:
        module = importlib.import_module(f"sandwarden.cli.{name}")
        module.register(subparsers)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = cast("Handler | None", getattr(args, "handler", None))
    if handler is None:
        parser.print_help(sys.stderr)
        return 2

    # Adapters catch the broken pipes of the processes they feed, so one
    # that reaches here is stdout's. The flush is inside the try: left
    # to the exit, it would fail where only Python can report it.
    try:
        code = handler(args)
        # None when the shell closed it (`>&-`): print() then writes
        # nothing.
        if sys.stdout is not None:
            sys.stdout.flush()
    except BrokenPipeError:
        _discard_stdout()
        return EXIT_CLOSED_PIPE

    return code


def _discard_stdout() -> None:
    """Point stdout at the null device, for the flush at exit."""
    # What the closed pipe did not take stays buffered; Python flushes it
    # at exit and would report a second BrokenPipeError.
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
