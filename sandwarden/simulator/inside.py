"""
Commands run inside a simulated sandbox: which script each one plays.

``plan_inside`` is the one entry point for ``exec``: ``claude`` goes to
``plan_claude``; ``git rev-parse HEAD`` answers from the sandbox's view of
the workspace; the clean-up script of the in-sandbox protocol
(``sh -c <script> sandwarden-stop <run id> <signal>``) removes the run's
processes; a few shell basics (``true``, ``false``, ``echo``, ``cat``,
``pwd``, ``sleep``, ``printenv``) work; anything else is not found, as in
a container.
The fake executables use only the ``claude`` and ``git`` branches and run
everything else for real.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from sandwarden.domain.sandbox import Stream
from sandwarden.simulator.claude import plan_claude
from sandwarden.simulator.scripts import Script, Step
from sandwarden.simulator.world import Sandbox, World

__all__ = ["NOT_A_REPOSITORY", "plan_inside", "stop_marked"]

NOT_A_REPOSITORY = (
    "fatal: not a git repository (or any of the parent directories): .git"
)
_STOP_WORD = "sandwarden-stop"


def plan_inside(
    world: World,
    sandbox: Sandbox,
    command: Sequence[str],
    *,
    stdin: bytes,
    workdir: str,
    now: float,
    env: Mapping[str, str] | None = None,
) -> Script:
    """
    The script of ``command`` run in ``workdir`` of ``sandbox``.

    ``env`` is what `exec -e` forwarded: all ``printenv`` can show.
    """
    if not command:
        return _fails(b"", 126)
    program, *args = command
    if program == "claude":
        return plan_claude(
            world, sandbox, args, stdin=stdin, workdir=workdir, now=now
        )
    if program == "git" and args == ["rev-parse", "HEAD"]:
        return _git_head(sandbox, workdir)
    if program == "sh" and _STOP_WORD in args:
        return _stop(sandbox, args)

    return _basic(program, args, stdin, workdir, env or {}) or _fails(
        _not_found(program),
        127,
    )


def stop_marked(sandbox: Sandbox, marker: str) -> list[int]:
    """Remove the processes carrying ``marker``; return their pids."""
    pids = [
        process.pid
        for process in sandbox.processes.values()
        if process.marker == marker
    ]
    for pid in pids:
        del sandbox.processes[str(pid)]

    return sorted(pids)


def _git_head(sandbox: Sandbox, workdir: str) -> Script:
    head = _head_for(sandbox, workdir)
    if head is None:
        return _fails((NOT_A_REPOSITORY + "\n").encode(), 128)

    return _prints(head + "\n")


def _head_for(sandbox: Sandbox, workdir: str) -> str | None:
    """The HEAD of the deepest recorded workspace containing ``workdir``."""
    best: tuple[int, str | None] = (-1, None)
    for root, head in sandbox.heads.items():
        inside = workdir == root or workdir.startswith(root.rstrip("/") + "/")
        if inside and len(root) > best[0]:
            best = (len(root), head)

    return best[1]


def _stop(sandbox: Sandbox, args: list[str]) -> Script:
    position = args.index(_STOP_WORD)
    marker = args[position + 1] if len(args) > position + 1 else ""
    stop_marked(sandbox, marker)

    return Script((), 0)


def _basic(
    program: str,
    args: list[str],
    stdin: bytes,
    workdir: str,
    env: Mapping[str, str],
) -> Script | None:
    match program:
        case "true":
            return Script((), 0)
        case "false":
            return Script((), 1)
        case "echo":
            return _prints(" ".join(args) + "\n")
        case "pwd":
            return _prints(workdir + "\n")
        case "printenv":
            return _printenv(args, env)
        case "cat" if not args:
            step = Step(0.0, Stream.STDOUT, stdin)
            return Script((step,) if stdin else (), 0)
        case "sleep" if len(args) == 1:
            seconds = _seconds(args[0])
            if seconds is None:
                return _fails(b"sleep: invalid time interval\n", 1)
            return Script((Step(seconds, Stream.STDOUT, b""),), 0)
        case _:
            return None


def _printenv(names: list[str], env: Mapping[str, str]) -> Script:
    """As coreutils: the named values (exit 1 if one is unset), or all."""
    if not names:
        return _prints("".join(f"{k}={v}\n" for k, v in sorted(env.items())))
    found = [env[name] for name in names if name in env]
    steps = (
        Step(0.0, Stream.STDOUT, "".join(f"{v}\n" for v in found).encode()),
    )

    return Script(steps if found else (), 0 if len(found) == len(names) else 1)


def _seconds(raw: str) -> float | None:
    try:
        seconds = float(raw)
    except ValueError:
        return None
    if not math.isfinite(seconds) or seconds < 0:
        return None

    return seconds


def _not_found(program: str) -> bytes:
    # The text `docker exec` prints when the binary is missing.
    return (
        "OCI runtime exec failed: exec failed: unable to start container "
        f'process: exec: "{program}": executable file not found in $PATH: '
        "unknown\n"
    ).encode()


def _prints(text: str) -> Script:
    return Script((Step(0.0, Stream.STDOUT, text.encode()),), 0)


def _fails(stderr: bytes, code: int) -> Script:
    steps = (Step(0.0, Stream.STDERR, stderr),) if stderr else ()
    return Script(steps, code)
