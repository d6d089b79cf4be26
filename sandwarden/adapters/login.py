"""
The one-time interactive login: Claude in a sandbox, on the operator's tty.

The warden never types a password: the operator does, once, in the
session this starts (`docker sandbox run --name N claude WORKSPACE`, or
`sbx run --name N claude WORKSPACE`), which creates the sandbox when it
is missing and attaches Claude to the terminal. Standard input, output
and error are inherited; Ctrl-C belongs to Claude while it runs, so
this process does not die of it.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import signal
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import FrameType

from returns.result import Failure, Result, Success

from sandwarden.domain.errors import UnavailableReason, WardenError
from sandwarden.domain.values import ImageTag, SandboxName, Workspace

__all__ = ["LoginSession", "login_argv", "run_login"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LoginSession:
    """What an interactive login runs: which tool, sandbox, workspace."""

    tool: str
    sbx: bool
    sandbox: SandboxName
    workspace: Workspace
    image: ImageTag | None = None


def login_argv(session: LoginSession) -> tuple[str, ...]:
    """
    The command line that attaches Claude in the sandbox to the terminal.

    ``run`` creates the sandbox when it is missing and reuses it when it
    exists (same name), so the same line serves a first login and a
    renewed one.
    """
    head = ("run",) if session.sbx else ("sandbox", "run")
    image = () if session.image is None else ("-t", str(session.image))

    return (
        session.tool,
        *head,
        "--name",
        session.sandbox.value,
        *image,
        "claude",
        session.workspace.path,
    )


def run_login(
    session: LoginSession,
    *,
    env: Mapping[str, str] | None = None,
) -> Result[int, WardenError]:
    """
    Run the interactive session to its end; return the tool's exit code.

    Fails only when the tool cannot be started; what its exit code
    means is for a probe to tell (an operator who leaves with Ctrl-C
    may well be logged in).
    """
    path = None if env is None else env.get("PATH")
    found = shutil.which(session.tool, path=path)
    if found is None:
        return Failure(
            WardenError.unavailable(
                UnavailableReason.TOOL_MISSING,
                f"`{session.tool}` was not found on PATH; install it, or "
                "configure the runtime for the tool you have",
            ),
        )
    argv = (found, *login_argv(session)[1:])
    fields = {
        "sandwarden.tool": session.tool,
        "sandwarden.sandbox": session.sandbox.value,
    }

    _log.debug("login.started", extra=fields)
    try:
        with _interrupts_left_to_child():
            completed = subprocess.run(
                argv,
                env=None if env is None else dict(env),
                check=False,
            )
    except OSError as error:
        _log.debug("login.failed", extra=fields)
        return Failure(
            WardenError.unavailable(
                UnavailableReason.TOOL_MISSING,
                f"could not start `{session.tool}`: {error.strerror}",
            ),
        )
    _log.debug(
        "login.complete",
        extra={**fields, "sandwarden.exit_code": completed.returncode},
    )

    return Success(completed.returncode)


@contextlib.contextmanager
def _interrupts_left_to_child() -> Iterator[None]:
    """
    Let the terminal's Ctrl-C reach only the child.

    A handler, not ``SIG_IGN``: an ignored signal stays ignored across
    ``exec``, a handled one is reset to the default in the child.
    """

    def ignore(_signal: int, _frame: FrameType | None) -> None:
        return None

    try:
        previous = signal.signal(signal.SIGINT, ignore)
    except ValueError:  # not the main thread: nothing to protect
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
