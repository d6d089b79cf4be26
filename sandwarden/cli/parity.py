"""
`sandwarden parity`: do the host and the sandbox see the same commit?

Exit 0 when they do or when the workspace is no git repository, 4 on
drift (``parity_mismatch``), 1 when a side's HEAD could not be read.
"""

from __future__ import annotations

import argparse

from sandwarden.cli.common import Session, add_command, run_with_warden
from sandwarden.cli.status import parity_json
from sandwarden.domain.errors import ErrorKind, WardenError
from sandwarden.domain.parity import ParityVerdict, as_error

__all__ = ["register"]


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """Add the ``parity`` subcommand."""
    parser = add_command(
        subparsers,
        "parity",
        summary="compare the host's and the sandbox's git HEAD",
        description=(
            "Read `git rev-parse HEAD` of the workspace on the host and "
            "inside the active sandbox and compare them. Drift means "
            "Claude works on other code than the host has."
        ),
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Compare; return the exit code."""
    return run_with_warden(args, _parity)


async def _parity(session: Session) -> int:
    output = session.output
    parity = await session.warden.parity()
    payload = {"parity": parity_json(parity)}

    output.say(f"host:    {parity.host or '-'}")
    output.say(f"sandbox: {parity.sandbox or '-'}")
    output.say(f"{parity.verdict}: {parity.why}")
    drift = as_error(parity)
    if drift is not None:
        return output.fail(drift, payload)
    if parity.verdict is ParityVerdict.UNKNOWN:
        return output.fail(
            WardenError(ErrorKind.UNKNOWN, f"parity is unknown: {parity.why}"),
            payload,
        )

    return output.emit(payload)
