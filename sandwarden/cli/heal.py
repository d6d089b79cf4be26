"""
`sandwarden heal`: heal now, as the watchdog would, and show each step.

The breaker counts an operator's heal, and refuses one while it is open
(exit 6) unless ``--force`` is given. A healthy active sandbox is left
alone (exit 0, nothing recorded). A heal that ran to its end exits 0
when the active sandbox is usable, 3 when a fresh sandbox waits for a
human's login (the output names the command that logs it in) and 4 when
no usable sandbox was found.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import Any

from returns.pipeline import is_successful

from sandwarden.cli.common import Exit, Session, add_command, run_with_warden
from sandwarden.domain.errors import ErrorKind, WardenError
from sandwarden.domain.healplan import HealOutcome
from sandwarden.service.heal import HealReport

__all__ = ["heal_exit", "register", "report_json"]


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """Add the ``heal`` subcommand."""
    parser = add_command(
        subparsers,
        "heal",
        summary="heal the active sandbox now and print the steps taken",
        description=(
            "Probe the active sandbox and, unless it is healthy, run the "
            "heal plan now: reuse the heal sandbox, create it from "
            "the template, adopt a healthy sandbox of the workspace, or "
            "create a fresh one and ask for a login. The circuit breaker "
            "counts the attempt, and refuses it while open (exit 6) "
            "unless --force is given."
        ),
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="heal even while the circuit breaker is open",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Heal; return the exit code."""
    return run_with_warden(args, lambda session: _heal(session, args.force))


async def _heal(session: Session, force: bool) -> int:
    output = session.output
    healed = await session.warden.heal(force=force)
    if not is_successful(healed):
        return output.fail(_refusal(healed.failure()))
    report = healed.unwrap()

    for number, step in enumerate(report.steps, start=1):
        output.say(f"{number}. {step}")
    output.say(report.summary)
    if report.login_action is not None:
        output.say(f"to log in: {report.login_action}")

    return output.emit(report_json(report), code=heal_exit(report))


def _refusal(error: WardenError) -> WardenError:
    """The breaker's refusal, saying how an operator heals anyway."""
    if error.kind is not ErrorKind.BREAKER_OPEN:
        return error

    return replace(
        error,
        message=f"{error.message}; `sandwarden heal --force` heals now anyway",
    )


def heal_exit(report: HealReport) -> int:
    """The exit code of a heal that ran."""
    if report.usable:
        return int(Exit.OK)
    if report.outcome is HealOutcome.NEEDS_LOGIN:
        return int(Exit.HUMAN)

    return int(Exit.UNAVAILABLE)


def report_json(report: HealReport) -> dict[str, Any]:
    """A heal report as JSON."""
    return {
        "outcome": None if report.outcome is None else str(report.outcome),
        "sandbox": None if report.sandbox is None else report.sandbox.value,
        "usable": report.usable,
        "swapped": report.swapped,
        "by_other_process": report.by_other_process,
        "summary": report.summary,
        "steps": list(report.steps),
        "login_action": report.login_action,
    }
