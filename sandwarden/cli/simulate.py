"""
`sandwarden simulate`: rehearse a failure offline, on virtual time.

Runs a scenario (a built-in name or a TOML file) through the warden's
real services against the simulated world, and prints what the warden
observed and decided, step by step, then a summary. ``--list`` shows the
built-in scenarios. The same scenario and seed print the same bytes.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from returns.pipeline import is_successful

from sandwarden.cli.common import Output
from sandwarden.domain.errors import ErrorKind, WardenError
from sandwarden.scenario.catalog import builtin_scenarios, load
from sandwarden.scenario.render import (
    outcome_json,
    outcome_text,
    scenarios_json,
    scenarios_text,
)
from sandwarden.scenario.runner import run_scenario

__all__ = ["register", "run"]

_EPILOG = """\
examples:
  sandwarden simulate --list
  sandwarden simulate expired-oauth
  sandwarden simulate heal-flapping --seed 7 --json
  sandwarden simulate ./my-scenario.toml

exit codes:
  0  the scenario ran (whatever the warden had to do in it)
  1  the simulation itself failed: a bug, please report it
  2  bad usage, or a scenario file that cannot be used (the message
     names the file and the problem)
"""


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """Add the ``simulate`` subcommand."""
    parser = subparsers.add_parser(
        "simulate",
        help="rehearse a failure offline: run a scenario on virtual time",
        description=(
            "Run a scenario against the simulated world on virtual time "
            "and print the timeline of what the warden observed and "
            "decided (probes, heal steps, breaker, swaps, alerts), then "
            "a summary. SCENARIO is a built-in name (see --list) or the "
            "path of a TOML scenario file."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "scenario",
        nargs="?",
        metavar="SCENARIO",
        help="a built-in scenario name or a scenario file",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=None,
        metavar="N",
        help="the world's seed (default: the scenario's own, else 1)",
    )
    parser.add_argument(
        "--list",
        action="store_true",
        help="list the built-in scenarios instead of running one",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object (or array, with --list)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run or list scenarios as ``args`` say; return the exit code."""
    output = Output.current(json=args.json)
    if args.list:
        if args.scenario is not None or args.seed is not None:
            return _usage(output, "--list takes no SCENARIO and no --seed")
        scenarios = builtin_scenarios()
        _emit(
            scenarios_json(scenarios)
            if args.json
            else scenarios_text(scenarios)
        )
        return 0
    if args.scenario is None:
        return _usage(
            output,
            "expected a SCENARIO (a built-in name or a file) or --list",
        )

    loaded = load(args.scenario)
    if not is_successful(loaded):
        return _usage(output, loaded.failure().message)
    try:
        with _quiet_library_logs():
            outcome = run_scenario(loaded.unwrap(), args.seed)
    except Exception as error:  # the boundary: report, never a traceback
        _report(
            output,
            WardenError(
                ErrorKind.UNKNOWN,
                f"the simulation failed ({error!r}); this is a bug, please "
                "report it with the scenario",
            ),
        )
        return 1

    _emit(outcome_json(outcome) if args.json else outcome_text(outcome))
    return 0


def _usage(output: Output, problem: str) -> int:
    _report(output, WardenError.invalid(problem))
    return 2


def _report(output: Output, error: WardenError) -> None:
    """Say why the command failed: one JSON object, or a line on stderr."""
    if output.json:
        output.fail(error)
    else:
        print(f"sandwarden simulate: {error.message}", file=sys.stderr)


def _emit(text: str) -> None:
    """Write UTF-8 bytes whatever the locale, so every run is identical."""
    stream = sys.stdout
    buffer = getattr(stream, "buffer", None)
    if buffer is None:
        stream.write(text)
        return
    stream.flush()
    buffer.write(text.encode("utf-8"))
    buffer.flush()


@contextmanager
def _quiet_library_logs() -> Iterator[None]:
    """
    Keep the services' warnings off stderr while they rehearse.

    The library configures no handlers, so Python's last-resort handler
    would print every simulated alert; the timeline already shows them.
    A handler the operator configured still sees them.
    """
    logger = logging.getLogger("sandwarden")
    handler = logging.NullHandler()
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
