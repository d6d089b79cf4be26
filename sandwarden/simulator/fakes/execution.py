"""
The client side of a fake ``exec``: start the in-sandbox process, relay.

Like the real tools, the client is only a relay: the command runs in a
session of its own (``sandboxed``), so killing the client, even with
SIGKILL, leaves the command running "inside the sandbox" until something
stops it there (the clean-up script of the in-sandbox protocol, ``stop``
or ``rm``). The client passes its stdin on with ``-i`` (else the command
reads an empty stdin), copies the command's stdout and stderr to its own,
and exits with the command's status (128 + N for a signal N).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from sandwarden.simulator.fakes.sandboxes import forget_process
from sandwarden.simulator.fakes.state import StateFile
from sandwarden.simulator.inside import plan_inside
from sandwarden.simulator.scripts import Script
from sandwarden.simulator.world import Sandbox, World

__all__ = [
    "answer_git_head",
    "home_dir",
    "in_sandbox_environment",
    "print_script",
    "relay",
]

_CHUNK = 64 * 1024


def home_dir(state_file: StateFile, name: str) -> Path:
    """
    The host directory standing for the sandbox's home, created on use.

    The plugin's ``exec`` without ``-w`` starts outside the workspace.
    """
    path = state_file.path.with_name(state_file.path.name + ".homes") / name
    path.mkdir(parents=True, exist_ok=True)

    return path


def answer_git_head(
    world: World,
    sandbox: Sandbox,
    command: Sequence[str],
    workdir: str,
) -> Script | None:
    """
    The world's answer to ``git rev-parse HEAD`` in ``workdir``, if any.

    Only a workspace the world gives a HEAD (or ``None``: no repository)
    is answered; elsewhere git runs for real.
    """
    if list(command) != ["git", "rev-parse", "HEAD"]:
        return None
    known = any(
        workdir == root or workdir.startswith(root.rstrip("/") + "/")
        for root in sandbox.heads
    )
    if not known:
        return None

    return plan_inside(
        world, sandbox, command, stdin=b"", workdir=workdir, now=0.0
    )


def print_script(script: Script) -> int:
    """Write a short script's output at once; return its exit status."""
    for step in script.steps:
        target = sys.stdout if step.stream.value == "stdout" else sys.stderr
        target.flush()
        target.buffer.write(step.data)
        target.buffer.flush()

    return script.exit_code if script.exit_code is not None else 0


def in_sandbox_environment(
    flags: Sequence[str],
    client: Mapping[str, str],
) -> dict[str, str]:
    """
    The environment of the in-sandbox process.

    The host's environment stands for the sandbox's own (the command runs
    on the host); ``IS_SANDBOX=1`` as in the real sandboxes; then each
    ``-e K=V``, and ``-e K`` copies K from the client when it has it.
    """
    environment = dict(client)
    environment["IS_SANDBOX"] = "1"
    for flag in flags:
        key, equals, value = flag.partition("=")
        if equals:
            environment[key] = value
        elif key in client:
            environment[key] = client[key]

    return environment


def relay(
    state_file: StateFile,
    name: str,
    command: Sequence[str],
    *,
    workdir: str,
    host_dir: Path,
    environment: Mapping[str, str],
    interactive: bool,
    detach: bool = False,
) -> int:
    """Run ``command`` in sandbox ``name`` and relay its streams."""
    argv = [
        sys.executable,
        "-m",
        "sandwarden.simulator.fakes.sandboxed",
        name,
        workdir,
        *command,
    ]
    if detach:
        subprocess.Popen(
            argv,
            cwd=host_dir,
            env=dict(environment),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        return 0
    child = subprocess.Popen(
        argv,
        cwd=host_dir,
        env=dict(environment),
        stdin=subprocess.PIPE if interactive else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    pumps = [
        threading.Thread(target=_pump, args=(child.stdout, 1), daemon=True),
        threading.Thread(target=_pump, args=(child.stderr, 2), daemon=True),
    ]
    if interactive:
        feeder = threading.Thread(target=_feed, args=(child,), daemon=True)
        feeder.start()
    for pump in pumps:
        pump.start()
    code = child.wait()
    for pump in pumps:
        pump.join()
    with state_file.transaction() as state:
        forget_process(state.world, name, child.pid)

    return code if code >= 0 else 128 - code


def _pump(source: object, descriptor: int) -> None:
    """Copy a pipe to our own stream; drop output once nobody reads it."""
    assert hasattr(source, "fileno")
    reading = source.fileno()
    open_ = True
    while data := os.read(reading, _CHUNK):
        view = memoryview(data)
        while open_ and view:
            try:
                view = view[os.write(descriptor, view) :]
            except (BrokenPipeError, ConnectionResetError):
                open_ = False


def _feed(child: subprocess.Popen[bytes]) -> None:
    """Copy our stdin to the command's, then close it (EOF)."""
    target = child.stdin
    assert target is not None
    with contextlib.suppress(OSError):
        while data := os.read(0, _CHUNK):
            target.write(data)
            target.flush()
    with contextlib.suppress(OSError):
        target.close()
