"""
`sandwarden login`: the one-time interactive set-up of the sandbox.

Runs Claude in the configured sandbox with this terminal attached
(`docker sandbox run --name N claude WORKSPACE`, or `sbx run ...`),
creating the sandbox when it is missing. The operator completes
``/login`` in the browser and leaves Claude with ``/exit``; then the
sandbox is probed and the verdict printed, with the next steps (save
the template, back it up). It logs in the configured sandbox, never
the active one a heal swapped in: that one is `--sandbox NAME-heal`,
and a note says so when it is active. On the simulator there is nothing to do:
its sandbox is logged in already, and the probe says so.
"""

from __future__ import annotations

import argparse
import os
import sys

from returns.pipeline import is_successful
from returns.result import Failure, Result, Success

from sandwarden.adapters.login import LoginSession, login_argv, run_login
from sandwarden.cli.common import (
    Output,
    Session,
    add_command,
    load,
    logging_to_stderr,
    run_with_warden,
)
from sandwarden.cli.status import health_json, health_line
from sandwarden.domain.errors import WardenError
from sandwarden.domain.values import ImageTag
from sandwarden.service.probe import login_command
from sandwarden.settings import Runtime, Settings

__all__ = ["register"]

_NEXT_STEPS = (
    ("sandwarden template save", "heals create logged-in sandboxes from it"),
    ("sandwarden backup create", "keeps it beyond Docker's image store"),
)


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """Add the ``login`` subcommand."""
    parser = add_command(
        subparsers,
        "login",
        summary="create the sandbox and log Claude in, interactively",
        description=(
            "Start Claude in the configured sandbox with this terminal "
            "attached, creating the sandbox over the workspace when it "
            "is missing. Complete /login in the browser, leave Claude "
            "with /exit, and the login is verified. Needs a terminal. "
            "It always logs in the configured sandbox (--sandbox NAME "
            "picks another): after a heal swapped in NAME-heal, log that "
            "one in with `sandwarden login --sandbox NAME-heal`, as every "
            "hint about it says."
        ),
    )
    parser.add_argument(
        "--image",
        metavar="IMAGE",
        help="create a missing sandbox from this image (default: the "
        "tool's own claude image)",
    )
    parser.add_argument(
        "--no-tty-check",
        action="store_true",
        help="run even when standard input is not a terminal (tests)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Log in, verify; return the exit code."""
    output = Output.current(json=args.json)
    settings = load(args, output)
    if settings is None:
        return 2
    if settings.runtime is Runtime.SIM:
        output.note(
            "the simulator's sandbox is logged in already; nothing to set "
            "up, checking it",
        )
        return run_with_warden(args, lambda session: _verify(session, None))
    session = _session(settings, args.image)
    if not is_successful(session):
        return output.fail(session.failure())
    if not args.no_tty_check and not sys.stdin.isatty():
        return output.fail(
            WardenError.invalid(
                "login is interactive and standard input is not a "
                "terminal; run it from a terminal (or, for tests, pass "
                "--no-tty-check)",
            ),
        )
    login = session.unwrap()

    output.note(
        f"starting Claude in sandbox {login.sandbox} over "
        f"{login.workspace}: {' '.join(login_argv(login))}",
    )
    output.note(
        "complete /login in the browser window Claude opens, then leave "
        "Claude with /exit",
    )
    with logging_to_stderr(settings.log_level):
        ran = run_login(login, env=os.environ)
    if not is_successful(ran):
        return output.fail(ran.failure())
    if ran.unwrap() != 0:
        output.note(f"the session ended with exit code {ran.unwrap()}")

    return run_with_warden(
        args,
        lambda session: _verify(session, ran.unwrap()),
    )


def _session(
    settings: Settings,
    image: str | None,
) -> Result[LoginSession, WardenError]:
    chosen: ImageTag | None = None
    if image is not None:
        parsed = ImageTag.parse(image)
        if not is_successful(parsed):
            return Failure(parsed.failure())
        chosen = parsed.unwrap()
    sbx = settings.runtime is Runtime.SBX

    return Success(
        LoginSession(
            tool=settings.sbx if sbx else settings.docker,
            sbx=sbx,
            sandbox=settings.sandbox,
            workspace=settings.workspace,
            image=chosen,
        ),
    )


async def _verify(session: Session, tool_exit: int | None) -> int:
    output = session.output
    name = session.settings.sandbox
    payload = {
        "sandbox": name.value,
        "workspace": str(session.settings.workspace),
        "tool_exit_code": tool_exit,
    }

    health = await session.warden.probe(name)
    await _note_other_active(session)
    if not is_successful(health):
        return output.fail(health.failure(), {**payload, "auth": None})
    output.say(health_line(health.unwrap()))
    output.say("next:")
    for command, why in _NEXT_STEPS:
        output.say(f"  {command:<27}{why}")

    return output.emit(
        {
            **payload,
            "auth": health_json(health.unwrap()),
            "next": [command for command, _ in _NEXT_STEPS],
        },
    )


async def _note_other_active(session: Session) -> None:
    """Say so when prompts go to a sandbox other than the one logged in."""
    found = await session.warden.status()
    if not is_successful(found):
        return
    status = found.unwrap()
    if status.active == status.configured:
        return

    session.output.note(
        f"prompts go to the active sandbox {status.active} (a heal swapped "
        f"it in for {status.configured}); if it needs a login too: "
        f"{login_command(status.active, status.configured)}",
    )
