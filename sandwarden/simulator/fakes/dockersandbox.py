"""
The fake ``docker sandbox`` plugin's subcommands, per generation.

Legacy (Docker Desktop 4.50-4.57) knows only ``run``, ``ls``, ``rm`` and
``version`` and lists a container table; G1 and G2 (the microVM plugin)
add ``create``, ``exec``, ``stop``, ``save`` and ``reset`` and differ in
the key of ``ls --json`` (``vms``, then ``sandboxes``), in the names they
accept, in the template flag and in the first line ``create`` prints.
See the ``docker`` module for the switches.

``version`` prints the world's ``tool_version`` when it is one of the
generation's releases (legacy: before v0.7; G1: v0.7 to v0.11; G2: v0.12
on), else the generation's own (v0.6.0, v0.11.0, v0.12.0), so that a
switch of generation alone never pairs old commands with a new version.
A G1 release before v0.10.1 has no ``save`` (it came in v0.10.1).
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

from sandwarden.simulator.fakes.common import ToolError, out
from sandwarden.simulator.fakes.flags import (
    Flag,
    FlagError,
    Parsed,
    parse_flags,
)
from sandwarden.simulator.fakes.sandboxes import (
    REGISTRY_TEMPLATES,
    default_name,
    fake_sha,
    kill_processes,
    logged_out,
    new_sandbox,
    prune_processes,
    resolve_workspace,
    snapshot,
    write_image_file,
)
from sandwarden.simulator.fakes.state import (
    DockerGeneration,
    FakeState,
    StateFile,
)
from sandwarden.simulator.fakes.tables import render_table
from sandwarden.simulator.world import Login, Sandbox

__all__ = ["plugin_version", "sandbox_command"]

CANNOT_CONNECT = (
    "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. "
    "Is the docker daemon running?"
)
_USAGE = {
    "create": "create [OPTIONS] AGENT WORKSPACE [EXTRA_WORKSPACE...]",
    "run": "run SANDBOX [-- AGENT_ARGS...] | AGENT [WORKSPACE...]",
    "exec": "exec [OPTIONS] SANDBOX COMMAND [ARG...]",
    "ls": "ls [OPTIONS]",
    "rm": "rm SANDBOX [SANDBOX...]",
    "stop": "stop SANDBOX [SANDBOX...]",
    "save": "save SANDBOX TAG",
    "reset": "reset [OPTIONS]",
    "version": "version",
}
_LEGACY_COMMANDS = frozenset({"run", "ls", "rm", "version"})
# Each generation's releases, [first, next generation's first), and the
# version it prints when the world's is not among them.
_RELEASES = {
    DockerGeneration.LEGACY: ((0, 0, 0), (0, 7, 0), "v0.6.0"),
    DockerGeneration.G1: ((0, 7, 0), (0, 12, 0), "v0.11.0"),
    DockerGeneration.G2: ((0, 12, 0), (10**6, 0, 0), "v0.12.0"),
}
_SAVE_ADDED = (0, 10, 1)
_RELEASE = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")
_AGENTS_G1 = ("cagent", "claude", "codex", "copilot", "gemini", "kiro")
_AGENTS_G2 = (*_AGENTS_G1, "opencode", "shell")
_NAME_G1 = re.compile(r"[A-Za-z0-9_-]+")
_NAME_G2 = re.compile(r"[A-Za-z0-9_.+-]+")
_IN_SANDBOX_HOME = "/home/agent/workspace"

_Handler = Callable[[StateFile, FakeState, Parsed], int]


def sandbox_command(state_file: StateFile, words: list[str]) -> int:
    """Run ``docker sandbox WORDS``; return the exit status."""
    if not words or words[0] in ("-h", "--help"):
        out("Usage:  docker sandbox COMMAND\n")
        return 0
    state = state_file.read()
    generation = state.fakes.docker_generation
    command, rest = words[0], words[1:]
    command = {"list": "ls", "remove": "rm"}.get(command, command)
    known = command in _USAGE and (
        generation is not DockerGeneration.LEGACY
        or command in _LEGACY_COMMANDS
    )
    if command == "save" and _release(plugin_version(state)) < _SAVE_ADDED:
        known = False
    if not known:
        msg = (
            f'unknown command "{command}" for "docker sandbox"\n'
            "Run 'docker sandbox --help' for usage."
        )
        raise ToolError(msg, 1)
    flags, interspersed = _flags(command, generation)
    try:
        parsed = parse_flags(rest, flags, interspersed=interspersed)
    except FlagError as error:
        raise ToolError(_usage_error(str(error), command), 125) from error
    if parsed.has("help"):
        out(f"Usage:  docker sandbox {_USAGE[command]}\n")
        return 0

    return _HANDLERS[command](state_file, state, parsed)


def _flags(
    command: str,
    generation: DockerGeneration,
) -> tuple[list[Flag], bool]:
    template = Flag("template", "t", takes_value=True)
    if generation is DockerGeneration.G2:
        pull = Flag("pull-template", takes_value=True)
    else:
        pull = Flag("load-local-template")
    match command:
        case "create":
            return [
                Flag("name", takes_value=True),
                template,
                pull,
                _QUIET,
            ], True
        case "run":
            return [Flag("name", takes_value=True), template, pull], True
        case "exec":
            return _EXEC_FLAGS, False
        case "ls":
            json_flag = (
                []
                if generation is DockerGeneration.LEGACY
                else [
                    Flag("json"),
                ]
            )
            return [*json_flag, _QUIET, Flag("no-trunc")], True
        case "save":
            return [Flag("output", "o", takes_value=True)], True
        case "reset":
            return [Flag("force", "f")], True
        case _:
            return [], True


_QUIET = Flag("quiet", "q")
_EXEC_FLAGS = [
    Flag("detach", "d"),
    Flag("detach-keys", takes_value=True),
    Flag("env", "e", takes_value=True),
    Flag("env-file", takes_value=True),
    Flag("interactive", "i"),
    Flag("privileged"),
    Flag("tty", "t"),
    Flag("user", "u", takes_value=True),
    Flag("workdir", "w", takes_value=True),
]


def _usage_error(message: str, command: str) -> str:
    return (
        f"{message}\n\nUsage:  docker sandbox {_USAGE[command]}\n\n"
        f"Run 'docker sandbox {command} --help' for more information"
    )


def _arity(parsed: Parsed, command: str, least: int, most: int) -> None:
    count = len(parsed.args)
    if least <= count <= most:
        return
    if least == most:
        need = f"exactly {least} argument{'s' if least != 1 else ''}"
    else:
        need = f"at least {least} argument{'s' if least != 1 else ''}"
    msg = (
        f'"docker sandbox {command}" requires {need}.\n'
        f"See 'docker sandbox {command} --help'.\n\n"
        f"Usage:  docker sandbox {_USAGE[command]}"
    )
    raise ToolError(msg, 1)


def _need_daemon(state: FakeState) -> None:
    if not state.world.daemon_up:
        raise ToolError(CANNOT_CONNECT, 1)


def _missing(name: str) -> ToolError:
    return ToolError(f"no sandbox found in '{name}'", 1)


def plugin_version(state: FakeState) -> str:
    """The version the plugin of this generation says it is."""
    first, beyond, own = _RELEASES[state.fakes.docker_generation]
    version = state.world.tool_version
    if first <= _release(version) < beyond:
        return version

    return own


def _release(version: str) -> tuple[int, int, int]:
    found = _RELEASE.match(version)
    if found is None:
        return (0, 0, 0)
    major, minor, patch = found.groups()

    return (int(major), int(minor), int(patch))


def _version(state_file: StateFile, state: FakeState, parsed: Parsed) -> int:
    version = plugin_version(state)
    sha = fake_sha(version)
    out(f"github.com/docker/sandboxes/cli-plugin {version} {sha}\n")

    return 0


def _ls(state_file: StateFile, state: FakeState, parsed: Parsed) -> int:
    _need_daemon(state)
    with state_file.transaction() as fresh:
        prune_processes(fresh.world)
        sandboxes = sorted(
            fresh.world.sandboxes.values(), key=lambda s: s.name
        )
    generation = state.fakes.docker_generation
    if parsed.has("quiet"):
        out("".join(f"{sandbox.name}\n" for sandbox in sandboxes))
    elif parsed.has("json"):
        out(_ls_json(sandboxes, generation) + "\n")
    elif generation is DockerGeneration.LEGACY:
        out(_legacy_table(sandboxes))
    else:
        rows = [["SANDBOX", "AGENT", "STATUS", "WORKSPACE"]] + [
            [s.name, s.agent, s.status, ", ".join(s.workspaces) or "-"]
            for s in sandboxes
        ]
        out(render_table(rows, padding=3))

    return 0


def _ls_json(sandboxes: list[Sandbox], generation: DockerGeneration) -> str:
    if generation is DockerGeneration.G2:
        entries = [
            {
                "name": s.name,
                "agent": s.agent,
                "status": s.status,
                "workspaces": list(s.workspaces),
            }
            for s in sandboxes
        ]
        return json.dumps({"sandboxes": entries})
    home = os.environ.get("HOME", "/root")
    vms: list[dict[str, object]] = []
    for serial, s in enumerate(sandboxes):
        vm: dict[str, object] = {"name": s.name, "agent": s.agent}
        vm["status"] = s.status
        # The documented example leaves both out for a stopped VM.
        if s.status == "running":
            vm["socket_path"] = (
                f"{home}/.docker/sandboxes/vm/{s.name}/"
                f"docker-{1234567890 + serial}.sock"
            )
            vm["sandbox_count"] = 1
            vm["workspaces"] = list(s.workspaces)
        else:
            vm["sandbox_count"] = 0
        vms.append(vm)

    return json.dumps({"vms": vms})


def _legacy_table(sandboxes: list[Sandbox]) -> str:
    rows = [
        ["SANDBOX ID", "TEMPLATE", "NAME", "WORKSPACE", "STATUS", "CREATED"]
    ]
    for s in sandboxes:
        created = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(s.created_at))
        rows.append(
            [
                fake_sha(s.name)[:12],
                s.template or REGISTRY_TEMPLATES + "claude-code",
                s.name,
                ", ".join(s.workspaces) or "-",
                s.status,
                created,
            ],
        )

    return render_table(rows, padding=3)


def _create(state_file: StateFile, state: FakeState, parsed: Parsed) -> int:
    generation = state.fakes.docker_generation
    agents = _AGENTS_G2 if generation is DockerGeneration.G2 else _AGENTS_G1
    if not parsed.args:
        _arity(parsed, "create", 2, 99)
    agent, *paths = parsed.args
    if agent not in agents:
        msg = (
            f'unknown command "{agent}" for "docker sandbox create"\n'
            "Run 'docker sandbox create --help' for usage."
        )
        raise ToolError(msg, 1)
    if not paths:
        raise ToolError(f"agent '{agent}' requires a workspace path", 1)
    _need_daemon(state)
    workspaces = _workspaces(paths)
    name = parsed.get("name") or default_name(agent, workspaces[0])
    _check_name(name, generation)
    template = parsed.get("template")
    with state_file.transaction() as fresh:
        if name in fresh.world.sandboxes:
            msg = f'failed to create sandbox: sandbox "{name}" already exists'
            raise ToolError(msg, 1)
        _check_template(fresh, template, parsed.get("pull-template"))
        new_sandbox(
            fresh.world,
            name,
            agent,
            workspaces,
            template=template,
            login=logged_out(),
        )
    if parsed.has("quiet"):
        out(f"{name}\n")
        return 0
    inner = name
    if generation is DockerGeneration.G1:
        stamp = time.strftime("%Y-%m-%d-%H%M%S", time.localtime())
        inner = f"{agent}-sandbox-{stamp}"
    lines = [f"✓ Created sandbox {inner} in VM {name}"]
    lines += [f"  Workspace: {path}" for path in workspaces]
    lines += [
        f"  Agent: {agent}",
        "",
        "To connect to this sandbox, run:",
        f"  docker sandbox run {name}",
    ]
    out("\n".join(lines) + "\n")

    return 0


def _workspaces(paths: list[str]) -> list[str]:
    cwd = os.getcwd()
    workspaces = [resolve_workspace(path, cwd) for path in paths]
    # The primary workspace is always read-write.
    workspaces[0] = workspaces[0].removesuffix(":ro")
    if not Path(workspaces[0]).is_dir():
        msg = (
            "failed to create sandbox: workspace "
            f"{workspaces[0]}: no such file or directory"
        )
        raise ToolError(msg, 1)

    return workspaces


def _check_name(name: str, generation: DockerGeneration) -> None:
    if generation is DockerGeneration.G2:
        pattern, allowed = (
            _NAME_G2,
            (
                "letters, numbers, hyphens, underscores, periods, plus signs "
                "and minus signs"
            ),
        )
    else:
        pattern, allowed = (
            _NAME_G1,
            ("letters, numbers, hyphens, and underscores"),
        )
    if not pattern.fullmatch(name):
        msg = f'invalid sandbox name "{name}": use {allowed} only'
        raise ToolError(msg, 1)


def _check_template(
    state: FakeState,
    template: str | None,
    pull: str | None,
) -> None:
    if pull not in (None, "always", "missing", "never"):
        msg = (
            f'invalid argument "{pull}" for "--pull-template" flag: '
            "must be one of always, missing, never"
        )
        raise ToolError(msg, 125)
    if template is None or template.startswith(REGISTRY_TEMPLATES):
        return
    if template in state.world.tags and pull != "always":
        return
    msg = (
        f"failed to create sandbox: pull template {template}: pull access "
        f"denied for {template.partition(':')[0]}, repository does not "
        "exist or may require 'docker login'"
    )
    raise ToolError(msg, 1)


def _run(state_file: StateFile, state: FakeState, parsed: Parsed) -> int:
    _need_daemon(state)
    generation = state.fakes.docker_generation
    if not parsed.args and not parsed.get("name"):
        _arity(parsed, "run", 1, 99)
    first = parsed.args[0] if parsed.args else ""
    with state_file.transaction() as fresh:
        sandboxes = fresh.world.sandboxes
        name = first if first in sandboxes else parsed.get("name")
        if name is None or name not in sandboxes:
            paths = parsed.args[1:]
            if not paths and generation is DockerGeneration.G1:
                raise ToolError(
                    f"agent '{first}' requires a workspace path", 1
                )
            workspaces = _workspaces(paths or [os.getcwd()])
            name = name or default_name(first, workspaces[0])
            _check_name(name, generation)
            out(f"Creating new sandbox '{name}'...\n")
            template = parsed.get("template")
            _check_template(fresh, template, parsed.get("pull-template"))
            new_sandbox(
                fresh.world,
                name,
                first,
                workspaces,
                template=template,
                login=logged_out(),
            )
        sandbox = sandboxes[name]
        sandbox.status = "running"
        # The interactive session stands for an operator's `/login`.
        if sandbox.login.state_at(time.time()).value != "oauth":
            sandbox.login = Login()
    out(f"Starting {sandbox.agent} agent in sandbox '{name}'...\n")
    out(f"Workspace: {sandbox.primary_workspace() or '-'}\n")

    return 0


def _exec(state_file: StateFile, state: FakeState, parsed: Parsed) -> int:
    # Only exec needs it: the other commands start faster without.
    from sandwarden.simulator.fakes import execution  # noqa: PLC0415

    _arity(parsed, "exec", 2, 10**6)
    name, *command = parsed.args
    interactive = parsed.has("interactive")
    if parsed.has("tty") and interactive and not sys.stdin.isatty():
        raise ToolError("the input device is not a TTY", 1)
    _need_daemon(state)
    workdir = parsed.get("workdir")
    if workdir is not None and not workdir.startswith("/"):
        msg = (
            f"the working directory '{workdir}' is invalid, it needs to be "
            "an absolute path"
        )
        raise ToolError(msg, 1)
    with state_file.transaction() as fresh:
        prune_processes(fresh.world)
        sandbox = fresh.world.sandboxes.get(name)
        if sandbox is None:
            raise _missing(name)
        if sandbox.status != "running":
            raise ToolError(f"sandbox '{name}' is not running", 1)
        if workdir is not None and not sandbox.mounts(workdir):
            # The sneakiest failure: the directory does not exist in the
            # VM, and nothing says so.
            raise ToolError("", 1)
        seen = workdir or _IN_SANDBOX_HOME
        answer = execution.answer_git_head(fresh.world, sandbox, command, seen)
    if answer is not None:
        return execution.print_script(answer)
    if workdir is None:
        host_dir = execution.home_dir(state_file, name)
    else:
        host_dir = Path(workdir)
    if not host_dir.is_dir():
        msg = (
            "OCI runtime exec failed: exec failed: unable to start container "
            f'process: chdir to cwd ("{workdir}") set in config.json failed: '
            "no such file or directory: unknown"
        )
        raise ToolError(msg, 126)
    environment = execution.in_sandbox_environment(
        parsed.every("env") + _env_file(parsed.every("env-file")),
        os.environ,
    )

    return execution.relay(
        state_file,
        name,
        command,
        workdir=seen,
        host_dir=host_dir,
        environment=environment,
        interactive=interactive,
        detach=parsed.has("detach"),
    )


def _env_file(paths: list[str]) -> list[str]:
    entries = []
    for path in paths:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as error:
            msg = f"open {path}: {(error.strerror or str(error)).lower()}"
            raise ToolError(msg, 1) from error
        entries += [
            line.strip()
            for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")
        ]

    return entries


def _stop_or_rm(
    state_file: StateFile,
    state: FakeState,
    parsed: Parsed,
    *,
    remove: bool,
) -> int:
    _arity(parsed, "rm" if remove else "stop", 1, 10**6)
    _need_daemon(state)
    code = 0
    with state_file.transaction() as fresh:
        for name in parsed.args:
            sandbox = fresh.world.sandboxes.get(name)
            if sandbox is None:
                sys.stderr.write(f"no sandbox found in '{name}'\n")
                code = 1
                continue
            kill_processes(sandbox)
            if remove:
                del fresh.world.sandboxes[name]
            else:
                sandbox.status = "stopped"
            out(f"{name}\n")

    return code


def _stop(state_file: StateFile, state: FakeState, parsed: Parsed) -> int:
    return _stop_or_rm(state_file, state, parsed, remove=False)


def _rm(state_file: StateFile, state: FakeState, parsed: Parsed) -> int:
    return _stop_or_rm(state_file, state, parsed, remove=True)


def _save(state_file: StateFile, state: FakeState, parsed: Parsed) -> int:
    _arity(parsed, "save", 2, 2)
    name, tag = parsed.args
    output = parsed.get("output")
    _need_daemon(state)
    if output is None and not state.world.image_store_up:
        raise ToolError(CANNOT_CONNECT, 1)
    with state_file.transaction() as fresh:
        sandbox = fresh.world.sandboxes.get(name)
        if sandbox is None:
            raise _missing(name)
        image = snapshot(fresh.world, sandbox, tag, store=output is None)
    if output is not None:
        try:
            write_image_file(Path(output), [tag], image)
        except OSError as error:
            raise ToolError(
                f"failed to write {output}: {error.strerror}"
            ) from error
    out(f"✓ Saved sandbox as {tag}\n")

    return 0


def _reset(state_file: StateFile, state: FakeState, parsed: Parsed) -> int:
    if not parsed.has("force"):
        out(
            "⚠️  WARNING: This will permanently delete all VM data and stop "
            "all running agents!\nAre you sure you want to continue? (y/N): ",
        )
        answer = sys.stdin.readline().strip().lower()
        if answer not in ("y", "yes"):
            return 1
    with state_file.transaction() as fresh:
        for sandbox in fresh.world.sandboxes.values():
            kill_processes(sandbox)
        fresh.world.sandboxes.clear()
    out("All VMs reset successfully\n")

    return 0


_HANDLERS: dict[str, _Handler] = {
    "create": _create,
    "exec": _exec,
    "ls": _ls,
    "reset": _reset,
    "rm": _rm,
    "run": _run,
    "save": _save,
    "stop": _stop,
    "version": _version,
}
