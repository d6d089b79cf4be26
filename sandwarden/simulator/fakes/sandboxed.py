"""
A process "inside" a fake sandbox: ``python -m ...fakes.sandboxed``.

The fake ``exec`` starts this module in a session of its own, with the
in-sandbox environment (``SANDWARDEN_RUN`` included), in the host
directory that stands for the sandbox's working directory. It records
itself in the state file as alive in the sandbox, then either

- plays the simulator's script for ``claude`` with real delays scaled by
  ``SANDWARDEN_FAKE_TIME_SCALE``, going on (output dropped) if the client
  that relayed its output went away, exiting 143 on SIGTERM like the real
  CLI; or
- execs the real claude named by ``SANDWARDEN_FAKE_CLAUDE``; or
- execs any other command for real.

Usage: ``sandboxed SANDBOX WORKDIR COMMAND [ARG...]``, where WORKDIR is
the path the sandbox sees (the host directory is the current one).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Sequence

from sandwarden.domain.sandbox import Stream
from sandwarden.simulator.claude import plan_claude
from sandwarden.simulator.fakes.sandboxes import forget_process, record_process
from sandwarden.simulator.fakes.state import (
    CLAUDE_ENV,
    TIME_SCALE_ENV,
    StateFile,
    StateFileError,
)
from sandwarden.simulator.scripts import Script

__all__ = ["main", "not_found_text", "time_scale"]

# The exit status of a process ended by SIGTERM, as shells report it.
_TERMINATED = 128 + signal.SIGTERM


class _TerminatedError(Exception):
    """SIGTERM arrived; unwinds so the record is dropped outside a lock."""


def time_scale() -> float:
    """The factor for scripted delays, from the environment (default 1)."""
    raw = os.environ.get(TIME_SCALE_ENV, "")
    try:
        scale = float(raw) if raw else 1.0
    except ValueError:
        scale = -1.0
    if scale < 0:
        msg = f"{TIME_SCALE_ENV}={raw!r}; expected a number of at least 0"
        raise StateFileError(msg)

    return scale


def not_found_text(program: str) -> str:
    """What the container runtime says when ``program`` does not exist."""
    return (
        "OCI runtime exec failed: exec failed: unable to start container "
        f'process: exec: "{program}": executable file not found in $PATH: '
        "unknown\n"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run one in-sandbox command; return its exit status."""
    name, workdir, *command = list(sys.argv[1:] if argv is None else argv)
    state_file = StateFile.from_environment()
    marker = os.environ.get("SANDWARDEN_RUN", "")
    pid = os.getpid()
    with state_file.transaction() as state:
        sandbox = state.world.sandboxes.get(name)
        if sandbox is None:
            return 137
        record_process(sandbox, pid, command, marker)

    real_claude = os.environ.get(CLAUDE_ENV, "")
    if command[0] == "claude" and not real_claude:
        return _play_claude(state_file, name, workdir, command[1:])
    program = real_claude if command[0] == "claude" else command[0]
    # Python ignores SIGPIPE and exec would pass that on to the command.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    try:
        os.execvp(program, [program, *command[1:]])  # noqa: S606
    except OSError as error:
        with state_file.transaction() as state:
            forget_process(state.world, name, pid)
        if isinstance(error, PermissionError):
            sys.stderr.write(f"exec {program}: permission denied\n")
            return 126
        sys.stderr.write(not_found_text(program))
        return 127


def _play_claude(
    state_file: StateFile,
    name: str,
    workdir: str,
    args: Sequence[str],
) -> int:
    signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        stdin = sys.stdin.buffer.read()
        with state_file.transaction() as state:
            sandbox = state.world.sandboxes[name]
            script = plan_claude(
                state.world,
                sandbox,
                args,
                stdin=stdin,
                workdir=workdir,
                now=time.time(),
            )
        code = _play(script, time_scale())
    except _TerminatedError:
        code = _TERMINATED
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        with state_file.transaction() as state:
            forget_process(state.world, name, os.getpid())

    return code


def _play(script: Script, scale: float) -> int:
    outputs = {Stream.STDOUT: 1, Stream.STDERR: 2}
    broken: set[int] = set()
    for step in script.steps:
        if step.delay > 0:
            time.sleep(step.delay * scale)
        descriptor = outputs[step.stream]
        if descriptor not in broken and not _write(descriptor, step.data):
            broken.add(descriptor)
    if script.exit_code is None:
        while True:
            # A hang: only a signal ends it.
            signal.pause()

    return script.exit_code


def _write(descriptor: int, data: bytes) -> bool:
    """Write all of ``data``; False once the reader has gone away."""
    view = memoryview(data)
    while view:
        try:
            written = os.write(descriptor, view)
        except (BrokenPipeError, ConnectionResetError):
            return False
        view = view[written:]

    return True


def _raise_terminated(signum: int, frame: object) -> None:
    raise _TerminatedError


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
    sys.exit(130)
