"""
`sandwarden watch`: the health watchdog in the foreground.

Probes the active sandbox every watchdog interval, heals it when it
breaks, and prints each journal note as it happens (one JSON object per
line with ``--json``). Ctrl-C or SIGTERM stops it after the check in
progress, and it exits 0; a second one stops it at once (exit 5).
``--checks N`` stops after N checks.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
from typing import Any

from sandwarden.cli.common import (
    Session,
    add_command,
    run_with_warden,
    utc,
)
from sandwarden.service.journal import Note

__all__ = ["note_json", "register"]


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """Add the ``watch`` subcommand."""
    parser = add_command(
        subparsers,
        "watch",
        summary="run the health watchdog, printing what it sees and does",
        description=(
            "Probe the active sandbox on the watchdog interval "
            "(SANDBOX_HEALTH_WATCHDOG_INTERVAL_MS), heal it when it "
            "breaks, alert when a human is needed. Each note is printed "
            "as it happens. Ctrl-C stops it cleanly (exit 0). With "
            "--json the output is JSON Lines: one object per note, then "
            'a closing {"ok": true, "checks": N}.'
        ),
        json_help=(
            "print JSON Lines on stdout: one object per note, then a "
            "closing one"
        ),
    )
    parser.add_argument(
        "--checks",
        type=_positive,
        metavar="N",
        help="stop after N checks (default: run until stopped)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Watch until stopped; return the exit code."""
    # An endless watch of the simulator waits in real time, not virtual.
    return run_with_warden(
        args,
        lambda session: _watch(session, args.checks),
        virtual_time=args.checks is not None,
        # The notes are printed as they come; the log would repeat them.
        journal_logs=False,
    )


async def _watch(session: Session, checks: int | None) -> int:
    output = session.output
    settings = session.settings
    if not settings.watchdog_enabled:
        output.note(
            "the watchdog is disabled (SANDBOX_HEALTH_WATCHDOG_ENABLED is "
            "false); not watching",
        )
        return output.emit({"checks": 0, "enabled": False})
    session.warden.subscribe(lambda note: _print_note(session, note))
    stop = asyncio.Event()
    _stop_on_signals(stop)
    # A heal may have swapped in another sandbox: name the one probed.
    active = await session.warden.services.healer.active()
    output.note(
        f"watching {active} every {settings.watchdog_interval:g} s; "
        "Ctrl-C stops",
    )

    done = await session.warden.watch(stop=stop, checks=checks)

    if output.json:
        line = {"ok": True, "checks": done, "enabled": True}
        print(json.dumps(line), file=output.out, flush=True)
    else:
        output.say(f"stopped after {done} check(s)")

    return 0


def _print_note(session: Session, note: Note) -> None:
    output = session.output
    if output.json:
        print(json.dumps(note_json(note)), file=output.out, flush=True)
    else:
        output.say(f"{utc(note.at)}  {note.topic}: {note.message}")


def note_json(note: Note) -> dict[str, Any]:
    """A journal note as one JSON line."""
    return {
        "at": utc(note.at),
        "topic": str(note.topic),
        "message": note.message,
        "data": dict(note.data),
    }


def _stop_on_signals(stop: asyncio.Event) -> None:
    """The first signal stops after this check; a second one at once."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()

    def stop_now() -> None:
        if stop.is_set() and task is not None:
            task.cancel()
        stop.set()

    for number in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(number, stop_now)
        except (NotImplementedError, RuntimeError, ValueError):
            # Not the main thread, or a loop without signals: Ctrl-C
            # then cancels the watch, which is clean too.
            return


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        msg = f"expected a whole number of checks from 1, not {text!r}"
        raise argparse.ArgumentTypeError(msg)

    return value
