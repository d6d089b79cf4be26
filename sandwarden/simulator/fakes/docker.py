"""
A fake ``docker``: the ``sandbox`` plugin and the image commands.

Run as ``python -m sandwarden.simulator.fakes.docker`` (``install_fakes``
writes a launcher named ``docker``). Output and errors follow
``reference/docker-sandbox-cli.md``: errors on stderr without a prefix,
exit 1; a flag error ``unknown flag: --x`` plus usage, exit 125.

Two switches of the world are kept apart, as the specification's table
"Docker Desktop vs Docker CLI" requires:

- ``daemon_up`` off: the sandbox daemon (and with it Docker Desktop) is
  gone; every ``docker sandbox`` command but ``version`` and every image
  command fails with "Cannot connect to the Docker daemon ...".
- ``image_store_up`` off: Docker Desktop's engine is down but sandboxes
  work: ``create``, ``exec``, ``ls``, ``stop``, ``rm`` succeed; ``save``
  (without ``-o``), ``docker image ...``, ``docker tag``, ``docker info``
  and the server half of ``docker version`` fail.
- ``daemon_wedged``: every ``docker sandbox`` command hangs until killed.
- ``plugin_present`` off: ``docker sandbox`` is an unknown command.

``exec`` on a stopped sandbox fails (``is not running``): the plugin's
behaviour is undocumented and wrappers check for ``running`` first.
``exec -w`` with a directory outside the sandbox's workspaces prints
nothing and exits 1: the specification's "sneakiest failure".
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from sandwarden.simulator.fakes.common import (
    ToolError,
    hang,
    out,
    run_entry,
)
from sandwarden.simulator.fakes.state import (
    DockerGeneration,
    FakeState,
    StateFile,
)

__all__ = ["CANNOT_CONNECT", "main"]

CANNOT_CONNECT = (
    "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. "
    "Is the docker daemon running?"
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one fake ``docker`` command line; return the exit status."""
    words = list(sys.argv[1:] if argv is None else argv)
    return run_entry(lambda state_file: _dispatch(state_file, words))


def _dispatch(state_file: StateFile, words: list[str]) -> int:
    if not words:
        out("Usage:  docker [OPTIONS] COMMAND\n")
        return 0
    command, rest = words[0], words[1:]
    state = state_file.read()
    if command == "sandbox":
        return _sandbox(state_file, state, rest)
    # Imported here, as the sandbox commands are: each run of the fake is
    # a fresh interpreter, and it pays only for the commands it serves.
    from sandwarden.simulator.fakes import dockerimage  # noqa: PLC0415

    handlers: dict[str, Callable[[StateFile, list[str]], int]] = {
        "image": dockerimage.image_command,
        "tag": dockerimage.tag_command,
        "info": dockerimage.info_command,
        "version": dockerimage.version_command,
    }
    handler = handlers.get(command)
    if handler is None:
        raise ToolError(_unknown_command(state, command), 1)

    return handler(state_file, rest)


def _sandbox(state_file: StateFile, state: FakeState, rest: list[str]) -> int:
    if not state.world.plugin_present:
        raise ToolError(_unknown_command(state, "sandbox"), 1)
    if state.world.daemon_wedged:
        hang()
    from sandwarden.simulator.fakes.dockersandbox import (  # noqa: PLC0415
        sandbox_command,
    )

    return sandbox_command(state_file, rest)


def _unknown_command(state: FakeState, command: str) -> str:
    # Older docker CLIs (the Desktop releases of the legacy plugin) use
    # the first wording; newer ones the second (docker/for-mac#7826).
    if state.fakes.docker_generation is DockerGeneration.LEGACY:
        return (
            f"docker: '{command}' is not a docker command.\n"
            "See 'docker --help'"
        )

    return (
        f"docker: unknown command: docker {command}\n\n"
        "Run 'docker --help' for more information"
    )


if __name__ == "__main__":
    sys.exit(main())
