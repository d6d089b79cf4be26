"""
`sandwarden doctor`: every check of the installation, each with its fix.

Exit 0 when no check failed (warnings allowed), 1 when any did. The
checks themselves never fail the command: a missing tool or a stopped
daemon is a finding, and the checks that depend on it are skipped with
the reason.
"""

from __future__ import annotations

import argparse
from typing import Any

from sandwarden.cli.common import Exit, Session, add_command, run_with_warden
from sandwarden.service.doctor import CheckStatus, Finding, Report

__all__ = ["register", "report_json"]

_MARKS = {
    CheckStatus.OK: "ok  ",
    CheckStatus.WARN: "warn",
    CheckStatus.FAIL: "FAIL",
    CheckStatus.SKIPPED: "skip",
}


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """Add the ``doctor`` subcommand."""
    parser = add_command(
        subparsers,
        "doctor",
        summary="check the tool, daemon, sandbox, login, template, backups",
        description=(
            "Run every check in order: the sandbox tool, its daemon, the "
            "image store, the sandbox and its workspace, Claude's login "
            "and billing, git parity, the template and the backups. Each "
            "problem comes with the command that fixes it."
        ),
        epilog=(
            "doctor's own exit codes: 0 no check failed (warnings "
            "allowed), 1 a check failed, 2 bad usage or configuration."
        ),
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Diagnose; return 0 without failures, 1 with any."""
    return run_with_warden(args, _doctor)


async def _doctor(session: Session) -> int:
    output = session.output
    report = await session.warden.doctor()

    for finding in report.findings:
        _print_finding(session, finding)
    output.say(f"verdict: {report.status}")
    failed = report.status is CheckStatus.FAIL
    code = int(Exit.FAILED if failed else Exit.OK)

    return output.emit(report_json(report), code=code)


def _print_finding(session: Session, finding: Finding) -> None:
    say = session.output.say
    say(f"[{_MARKS[finding.status]}] {finding.check}: {finding.summary}")
    if finding.fix:
        say(f"       fix: {finding.fix}")
    if finding.detail and finding.status is not CheckStatus.OK:
        for line in finding.detail.strip().splitlines()[-5:]:
            say(f"       | {line}")


def report_json(report: Report) -> dict[str, Any]:
    """The doctor's report as JSON."""
    return {
        "status": str(report.status),
        "findings": [
            {
                "check": str(finding.check),
                "status": str(finding.status),
                "summary": finding.summary,
                "fix": finding.fix,
                "detail": finding.detail,
            }
            for finding in report.findings
        ],
    }
