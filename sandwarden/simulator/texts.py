"""
What the sandbox tools print, per tool, for the simulated runtime.

The sentences come from the references (`docker-sandbox-cli.md`,
`sbx-cli.md`): the `docker sandbox` plugin prints bare messages, `sbx`
prefixes ``ERROR: ``. Each function returns the stderr bytes; exit codes
are the callers' (1 for every failure, as both tools are cobra CLIs).
"""

from __future__ import annotations

from sandwarden.simulator.world import Tool

__all__ = [
    "already_exists",
    "created",
    "daemon_down",
    "no_such_file",
    "no_such_image",
    "no_such_sandbox",
    "no_template",
    "tool_missing",
    "version_line",
]


def _line(text: str) -> bytes:
    return (text + "\n").encode()


def tool_missing(tool: Tool) -> bytes:
    """The plugin is not installed (or `sbx` is not on the PATH)."""
    match tool:
        case Tool.DOCKER_SANDBOX:
            return _line(
                "docker: unknown command: docker sandbox\n\n"
                "Run 'docker --help' for more information",
            )
        case Tool.SBX:
            return _line("sh: 1: sbx: command not found")


def daemon_down(tool: Tool) -> bytes:
    """The daemon (Docker Desktop, or sbx's sandboxd) does not answer."""
    match tool:
        case Tool.DOCKER_SANDBOX:
            return _line(
                "Cannot connect to the Docker daemon at "
                "unix:///var/run/docker.sock. Is the docker daemon running?",
            )
        case Tool.SBX:
            return _line(
                "ERROR: ensure daemon: daemon failed to start properly "
                "after 10 retries, check logs at: "
                "~/.local/state/sandboxes/sandboxes/sandboxd/daemon.log",
            )


def no_such_sandbox(tool: Tool, name: str) -> bytes:
    """A command named a sandbox that does not exist."""
    match tool:
        case Tool.DOCKER_SANDBOX:
            return _line(f"no sandbox found in '{name}'")
        case Tool.SBX:
            return _line(
                f"ERROR: no sandbox named '{name}'\n\nTo create one:\n"
                "  sbx create AGENT WORKSPACE",
            )


def already_exists(tool: Tool, name: str) -> bytes:
    """`create` of a name that is taken."""
    match tool:
        case Tool.DOCKER_SANDBOX:
            return _line(
                f"failed to create sandbox: sandbox '{name}' already exists",
            )
        case Tool.SBX:
            return _line(
                f'ERROR: sandbox "{name}" already exists for this '
                f"workspace; use 'sbx run --name {name}' to start it, "
                "or pass --name to create another",
            )


def no_template(tool: Tool, tag: str) -> bytes:
    """`create --template` of an image the store does not hold."""
    repository = tag.rsplit(":", 1)[0]
    match tool:
        case Tool.DOCKER_SANDBOX:
            return _line(
                f"failed to create sandbox: pull access denied for "
                f"{repository}, repository does not exist or may require "
                "'docker login'",
            )
        case Tool.SBX:
            return _line(f"ERROR: template {tag} not found")


def no_such_image(tool: Tool, tag: str) -> bytes:
    """An image operation named a tag the store does not hold."""
    match tool:
        case Tool.DOCKER_SANDBOX:
            return _line(f"Error response from daemon: No such image: {tag}")
        case Tool.SBX:
            return _line(f"ERROR: template {tag} not found")


def no_such_file(tool: Tool, path: str) -> bytes:
    """A tar file to load is missing."""
    match tool:
        case Tool.DOCKER_SANDBOX:
            return _line(f"open {path}: no such file or directory")
        case Tool.SBX:
            return _line(f"ERROR: open {path}: no such file or directory")


def version_line(tool: Tool, version: str) -> bytes:
    """What `version` prints."""
    sha = "f00f0d6473647c2201cd0507ce31613345c48ae6"
    match tool:
        case Tool.DOCKER_SANDBOX:
            return _line(
                f"github.com/docker/sandboxes/cli-plugin {version} {sha}"
            )
        case Tool.SBX:
            return _line(f"sbx version: {version} {sha}")


def created(tool: Tool, name: str, workspace: str, agent: str) -> bytes:
    """What a successful `create` prints."""
    match tool:
        case Tool.DOCKER_SANDBOX:
            return _line(
                f"✓ Created sandbox {name} in VM {name}\n"
                f"  Workspace: {workspace}\n  Agent: {agent}\n\n"
                f"To connect to this sandbox, run:\n"
                f"  docker sandbox run {name}",
            )
        case Tool.SBX:
            return _line(
                f"✓ Created sandbox '{name}'\n"
                f"  Workspace: {workspace} (direct mount)\n  Agent: {agent}\n"
                f"\nTo connect to this sandbox, run:\n  sbx run {name}",
            )
