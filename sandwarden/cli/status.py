"""
`sandwarden status`: which sandbox serves, the breaker, the last heals.

Reads the state store only, unless ``--probe`` asks for a probe of the
active sandbox now; then the exit code is the probe's, so the command
doubles as a health check for a scheduler.
"""

from __future__ import annotations

import argparse
from typing import Any

from returns.pipeline import is_successful

from sandwarden.cli.common import Session, add_command, run_with_warden, utc
from sandwarden.domain.breaker import BreakerDecision
from sandwarden.domain.healing import HealRecord
from sandwarden.domain.parity import Parity
from sandwarden.service.probe import Health
from sandwarden.warden import Status

__all__ = [
    "breaker_json",
    "heal_json",
    "health_json",
    "health_line",
    "parity_json",
    "register",
]

# Heals shown on a terminal; --json carries the ten the warden returns.
_SHOWN_HEALS = 5


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """Add the ``status`` subcommand."""
    parser = add_command(
        subparsers,
        "status",
        summary="show the active sandbox, the breaker and the last heals",
        description=(
            "Show the configured and the active sandbox (a heal may have "
            "swapped them), the circuit breaker's verdict, its failures "
            "and next trial, and the last heals. With --probe, probe the "
            "active sandbox now and exit with the probe's code."
        ),
    )
    parser.add_argument(
        "--probe",
        action="store_true",
        help="also probe the active sandbox now (not cached)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print the status; return the exit code."""
    return run_with_warden(args, lambda session: _status(session, args))


async def _status(session: Session, args: argparse.Namespace) -> int:
    output = session.output
    warden = session.warden
    found = await warden.status()
    if not is_successful(found):
        return output.fail(found.failure())
    status = found.unwrap()
    payload = _status_json(status)
    _print_status(session, status)
    if not args.probe:
        return output.emit(payload)

    health = await warden.probe(status.active)
    if not is_successful(health):
        error = health.failure()
        output.say(f"probe:      unhealthy ({error.kind})")
        return output.fail(error, {**payload, "probe": None})
    output.say(f"probe:      {health_line(health.unwrap())}")

    return output.emit({**payload, "probe": health_json(health.unwrap())})


def _status_json(status: Status) -> dict[str, Any]:
    return {
        "configured": status.configured.value,
        "active": status.active.value,
        "swapped": status.active != status.configured,
        "breaker": breaker_json(status.breaker),
        "heals": [heal_json(record) for record in status.heals],
    }


def _print_status(session: Session, status: Status) -> None:
    say = session.output.say
    breaker = status.breaker
    active = status.active.value
    if status.active != status.configured:
        active = f"{active} (a heal swapped it in for {status.configured})"
    say(f"configured: {status.configured}")
    say(f"active:     {active}")
    say(f"workspace:  {session.warden.config.workspace}")
    say(f"runtime:    {session.settings.runtime}")
    line = f"breaker:    {breaker.verdict}, {breaker.failures} failed heal(s)"
    if breaker.retry_at is not None:
        line += f", next trial at {utc(breaker.retry_at)}"
    say(line)
    if breaker.why:
        say(f"            {breaker.why}")
    if not status.heals:
        say("heals:      none recorded")
    else:
        say("heals:")
    for record in status.heals[:_SHOWN_HEALS]:
        verdict = "succeeded" if record.succeeded else "failed"
        if record.undone_at is not None:
            verdict += f", then flapped at {utc(record.undone_at)}"
        say(
            f"  {utc(record.started_at)}  {record.trigger}: {verdict}, "
            f"active {record.sandbox or '-'}",
        )
        for step in record.steps:
            say(f"      {step}")


def breaker_json(decision: BreakerDecision) -> dict[str, Any]:
    """The breaker's verdict as JSON."""
    return {
        "verdict": str(decision.verdict),
        "failures": decision.failures,
        "retry_at": utc(decision.retry_at),
        "why": decision.why,
    }


def heal_json(record: HealRecord) -> dict[str, Any]:
    """One heal of the history as JSON."""
    return {
        "started_at": utc(record.started_at),
        "ended_at": utc(record.ended_at),
        "trigger": record.trigger,
        "succeeded": record.succeeded,
        "flapped": record.flapped,
        "undone_at": utc(record.undone_at),
        "sandbox": record.sandbox,
        "steps": list(record.steps),
    }


def health_json(health: Health) -> dict[str, Any]:
    """A healthy probe's answer as JSON."""
    auth = health.auth
    parity = health.parity

    return {
        "sandbox": health.sandbox.value,
        "logged_in": auth.logged_in,
        "auth_method": auth.auth_method,
        "api_provider": auth.api_provider,
        "subscription": auth.subscription_type,
        "email": auth.email,
        "parity": None if parity is None else parity_json(parity),
    }


def health_line(health: Health) -> str:
    """A healthy probe's answer in one line."""
    auth = health.auth
    how = ", ".join(
        part
        for part in (auth.auth_method, auth.api_provider, auth.email)
        if part
    )

    return f"healthy: {health.sandbox} is logged in ({how or 'no detail'})"


def parity_json(parity: Parity) -> dict[str, Any]:
    """A parity comparison as JSON."""
    return {
        "verdict": str(parity.verdict),
        "host": parity.host,
        "sandbox": parity.sandbox,
        "why": parity.why,
    }
