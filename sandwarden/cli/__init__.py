"""
The `sandwarden` command: argument parsing and rendering only.

Each subcommand lives in a module of this package that offers
``register(subparsers)``; it adds its parser and sets ``handler`` to a
function taking the parsed namespace and returning the exit code.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from typing import cast

from sandwarden.cli.common import EXIT_CODES_HELP, HelpFormatter

__all__ = ["main"]

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

    return handler(args)
