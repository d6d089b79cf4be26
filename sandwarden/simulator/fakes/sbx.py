"""
A fake ``sbx``, the standalone Docker Sandboxes CLI.

Run as ``python -m sandwarden.simulator.fakes.sbx``. Errors go to stderr
with sbx's ``ERROR: `` prefix, exit 1 (flag errors too). Switches:

- ``daemon_up`` off: sbx starts its daemon itself; the command prints the
  start banner on stdout first (it corrupts ``--json``, as in
  docker/sbx-releases#201) and the daemon is up afterwards.
- ``daemon_wedged``: every command hangs until killed.
- ``image_store_up`` and ``plugin_present`` do not matter: sbx needs no
  Docker Desktop and keeps templates in its own store.

``exec`` starts a stopped sandbox first, as sbx documents; ``rm`` without
``-f`` refuses when stdin is not a terminal (the real one would prompt).
A new sandbox is logged in when an ``anthropic`` host secret exists.
``secret ls [--service S]`` lists the host secrets: ``--json`` as
``{"secrets": [...]}`` (not in the early generation, as before v0.42),
the table with ``(oauth configured)`` for a /login token.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from sandwarden.simulator.fakes.common import ToolError, hang, out, run_entry
from sandwarden.simulator.fakes.flags import (
    Flag,
    FlagError,
    Parsed,
    parse_flags,
)
from sandwarden.simulator.fakes.sandboxes import (
    REGISTRY_TEMPLATES,
    ImageFileError,
    default_name,
    fake_sha,
    kill_processes,
    logged_out,
    new_sandbox,
    prune_processes,
    read_image_file,
    resolve_workspace,
    snapshot,
    write_image_file,
)
from sandwarden.simulator.fakes.state import (
    FakeState,
    SbxGeneration,
    StateFile,
)
from sandwarden.simulator.fakes.tables import render_table
from sandwarden.simulator.world import Login, LoginMethod, Tool

__all__ = ["main"]

# At least two characters, a letter or digit first, then letters,
# digits, hyphens and periods (sbx create --help, newest wording).
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]+")


def _valued(long: str, short: str | None = None) -> Flag:
    return Flag(long, short, takes_value=True)


_FLAGS: dict[str, list[Flag]] = {
    "version": [Flag("json"), _valued("format")],
    "ls": [Flag("json"), _valued("format"), Flag("quiet", "q")],
    "create": [
        _valued("name"),
        _valued("template", "t"),
        _valued("pull"),
        Flag("quiet", "q"),
        Flag("no-progress"),
        _valued("env", "e"),
        _valued("cpus"),
        _valued("memory", "m"),
        _valued("publish", "p"),
    ],
    "run": [
        _valued("name"),
        _valued("template", "t"),
        _valued("pull"),
        Flag("detach", "d"),
    ],
    "exec": [
        Flag("detach", "d"),
        _valued("env", "e"),
        Flag("interactive", "i"),
        Flag("privileged"),
        Flag("tty", "t"),
        _valued("user", "u"),
        _valued("workdir", "w"),
    ],
    "stop": [],
    "rm": [Flag("force", "f"), Flag("all")],
    "diagnose": [_valued("format"), Flag("json")],
}
_TEMPLATE_FLAGS: dict[str, list[Flag]] = {
    "save": [_valued("output", "o")],
    "load": [],
    "ls": [Flag("json"), Flag("quiet", "q")],
    "rm": [Flag("force", "f")],
}
_SECRET_FLAGS: dict[str, list[Flag]] = {
    "ls": [_valued("service"), Flag("json"), Flag("global", "g")],
    "set": [
        _valued("token", "t"),
        Flag("oauth"),
        Flag("force", "f"),
        Flag("global", "g"),
    ],
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one fake ``sbx`` command line; return the exit status."""
    words = list(sys.argv[1:] if argv is None else argv)
    return run_entry(lambda state: _dispatch(state, words), "ERROR: ")


def _dispatch(state_file: StateFile, words: list[str]) -> int:
    command = (
        {"list": "ls", "remove": "rm"}.get(words[0], words[0])
        if (words)
        else ""
    )
    if command in ("template", "secret"):
        table = _TEMPLATE_FLAGS if command == "template" else _SECRET_FLAGS
        sub = words[1] if len(words) > 1 else ""
        if sub not in table:
            raise _unknown(f"{command} {sub}".strip())
        flags, rest, key = table[sub], words[2:], f"{command} {sub}"
    elif command in _FLAGS:
        flags, rest, key = _FLAGS[command], words[1:], command
    else:
        raise _unknown(" ".join(words[:1]))
    state = state_file.read()
    if state.world.daemon_wedged:
        hang()
    if command == "exec":
        flags_, interspersed = flags, False
    else:
        flags_, interspersed = flags, True
    if key == "ls" and state.fakes.sbx_generation is SbxGeneration.EARLY:
        flags_ = [flag for flag in flags if flag.long != "format"]
    if (
        key == "secret ls"
        and state.fakes.sbx_generation is SbxGeneration.EARLY
    ):
        # `secret ls --json` came with v0.42's JSON on read-only commands.
        flags_ = [flag for flag in flags if flag.long != "json"]
    try:
        parsed = parse_flags(rest, flags_, interspersed=interspersed)
    except FlagError as error:
        raise ToolError(str(error), 1) from error
    if not state.world.daemon_up and key != "diagnose":
        _start_daemon(state_file)

    return _HANDLERS[key](state_file, state_file.read(), parsed)


def _unknown(command: str) -> ToolError:
    return ToolError(
        f"sbx: unknown command: sbx {command}\n\nUsage:  sbx COMMAND\n\n"
        "Run 'sbx --help' for more information",
        1,
    )


def _start_daemon(state_file: StateFile) -> None:
    folder = state_file.path.with_name(state_file.path.name + ".sandboxd")
    out(
        "Starting sandboxd daemon...\n"
        f"Daemon started (PID: {os.getpid()}, socket: "
        f"{folder}/sandboxd.sock)\nLogs: {folder}/daemon.log\n",
    )
    with state_file.transaction() as state:
        state.world.daemon_up = True


def _version_of(state: FakeState) -> str:
    if state.world.tool is Tool.SBX:
        return state.world.tool_version
    if state.fakes.sbx_generation is SbxGeneration.EARLY:
        return "v0.31.3"

    return "v0.43.0"


def _version(state_file: StateFile, state: FakeState, parsed: Parsed) -> int:
    version = _version_of(state)
    sha = fake_sha(version)
    early = state.fakes.sbx_generation is SbxGeneration.EARLY
    if early and (parsed.has("json") or parsed.has("format")):
        flag = "--json" if parsed.has("json") else "--format"
        raise ToolError(f"unknown flag: {flag}", 1)
    if parsed.has("json") or parsed.get("format") == "json":
        out(json.dumps({"version": version, "commit": sha}, indent=2) + "\n")
    elif early:
        out(f"Client Version:  {version} {sha}\n")
        out(f"Server Version:  {version} {sha}\n")
    else:
        out(f"sbx version: {version} {sha}\n")

    return 0


def _ls(state_file: StateFile, state: FakeState, parsed: Parsed) -> int:
    with state_file.transaction() as fresh:
        prune_processes(fresh.world)
        sandboxes = sorted(
            fresh.world.sandboxes.values(), key=lambda s: s.name
        )
    if parsed.has("quiet"):
        out("".join(f"{sandbox.name}\n" for sandbox in sandboxes))
    elif parsed.has("json") or parsed.get("format") == "json":
        entries = [
            {
                "name": s.name,
                "agent": s.agent,
                "status": s.status,
                "workspaces": list(s.workspaces),
            }
            for s in sandboxes
        ]
        out(json.dumps({"sandboxes": entries}, indent=2) + "\n")
    elif not sandboxes:
        out("No sandboxes found.\nLaunch one: sbx run claude\n")
    else:
        rows = [["SANDBOX", "AGENT", "STATUS", "PORTS", "WORKSPACE"]] + [
            [s.name, s.agent, s.status, "", ", ".join(s.workspaces) or "-"]
            for s in sandboxes
        ]
        out(render_table(rows, padding=2))

    return 0


def _login_from_secrets(state: FakeState) -> Login:
    match state.fakes.secrets.get("anthropic"):
        case "oauth":
            return Login()
        case "api_key":
            return Login(method=LoginMethod.API_KEY)
        case _:
            return logged_out()


def _create(state_file: StateFile, state: FakeState, parsed: Parsed) -> int:
    if not parsed.args:
        raise ToolError("accepts at least 1 arg(s), received 0", 1)
    agent, *paths = parsed.args
    name = _make(state_file, parsed, agent, paths)
    if parsed.has("quiet"):
        out(f"{name}\n")
        return 0
    sandbox = state_file.read().world.sandboxes[name]
    lines = [f"✓ Created sandbox '{name}'"]
    lines += [
        f"  Workspace: {path} (direct mount)" for path in sandbox.workspaces
    ]
    lines += [
        f"  Agent: {agent}",
        "",
        "To connect to this sandbox, run:",
        f"  sbx run {name}",
    ]
    out("\n".join(lines) + "\n")

    return 0


def _make(
    state_file: StateFile,
    parsed: Parsed,
    agent: str,
    paths: list[str],
) -> str:
    cwd = os.getcwd()
    workspaces = [resolve_workspace(path, cwd) for path in paths]
    if workspaces:
        workspaces[0] = workspaces[0].removesuffix(":ro")
        if not Path(workspaces[0]).is_dir():
            msg = f"workspace {workspaces[0]} does not exist"
            raise ToolError(msg, 1)
    chosen = parsed.get("name")
    name = chosen or default_name(
        agent, workspaces[0] if workspaces else agent
    )
    if not _NAME.fullmatch(name) or name == "default":
        msg = (
            f'invalid sandbox name "{name}": names need at least two '
            "characters, start with a letter or number and contain only "
            "letters, numbers, hyphens and periods ('default' is reserved)"
        )
        raise ToolError(msg, 1)
    template = parsed.get("template")
    with state_file.transaction() as fresh:
        if name in fresh.world.sandboxes:
            if chosen:
                raise ToolError(f'sandbox "{name}" already exists', 1)
            msg = (
                f'sandbox "{name}" already exists for this workspace; use '
                f"'sbx run --name {name}' to start it, or pass --name to "
                "create another"
            )
            raise ToolError(msg, 1)
        known = template is None or template in fresh.world.tags
        if not known and not str(template).startswith(REGISTRY_TEMPLATES):
            msg = (
                "failed to create sandbox: pull image "
                f'"{template}": not found in the sbx store or the registry'
            )
            raise ToolError(msg, 1)
        new_sandbox(
            fresh.world,
            name,
            agent,
            workspaces,
            template=template,
            login=_login_from_secrets(fresh),
        )

    return name


def _run(state_file: StateFile, state: FakeState, parsed: Parsed) -> int:
    name = parsed.get("name")
    if name is None or name not in state.world.sandboxes:
        if not parsed.args:
            raise ToolError("requires an agent or --name of a sandbox", 1)
        out(f"Creating new sandbox '{name or parsed.args[0]}'...\n")
        agent, *paths = parsed.args
        name = _make(state_file, parsed, agent, paths or [os.getcwd()])
    with state_file.transaction() as fresh:
        sandbox = fresh.world.sandboxes[name]
        sandbox.status = "running"
        # The agent session stands for an operator's `/login`; sbx keeps
        # the OAuth token as a host secret.
        if sandbox.login.state_at(time.time()).value != "oauth":
            sandbox.login = Login()
        fresh.fakes.secrets.setdefault("anthropic", "oauth")
    if parsed.has("detach"):
        out(f"{name}\n")

    return 0


def _missing_for_exec(name: str) -> ToolError:
    return ToolError(
        f"no sandbox named '{name}'\n\nTo create one:\n"
        "  sbx create AGENT WORKSPACE",
        1,
    )


def _exec(state_file: StateFile, state: FakeState, parsed: Parsed) -> int:
    # Only exec needs it: the other commands start faster without.
    from sandwarden.simulator.fakes import execution  # noqa: PLC0415

    if len(parsed.args) < 2:
        raise ToolError("requires at least 2 arg(s): SANDBOX COMMAND", 1)
    name, *command = parsed.args
    if command[0] == "--":
        command = command[1:]
    if parsed.has("detach"):
        raise ToolError("detached execution (-d) is not supported", 1)
    workdir = parsed.get("workdir")
    with state_file.transaction() as fresh:
        prune_processes(fresh.world)
        sandbox = fresh.world.sandboxes.get(name)
        if sandbox is None:
            raise _missing_for_exec(name)
        # "If the sandbox is stopped, it is started first."
        sandbox.status = "running"
        if workdir is not None and not sandbox.mounts(workdir):
            raise ToolError("", 1)
        seen = workdir or sandbox.primary_workspace()
        answer = None
        if seen is not None:
            answer = execution.answer_git_head(
                fresh.world, sandbox, command, seen
            )
    if answer is not None:
        return execution.print_script(answer)
    if seen is None:
        host_dir = execution.home_dir(state_file, name)
        seen = "/home/agent/workspace"
    else:
        host_dir = Path(seen)
    if not host_dir.is_dir():
        raise ToolError(f"chdir {seen}: no such file or directory", 126)

    return execution.relay(
        state_file,
        name,
        command,
        workdir=seen,
        host_dir=host_dir,
        environment=execution.in_sandbox_environment(
            parsed.every("env"), os.environ
        ),
        interactive=parsed.has("interactive"),
    )


def _stop(state_file: StateFile, state: FakeState, parsed: Parsed) -> int:
    return _each(state_file, parsed.args, remove=False)


def _rm(state_file: StateFile, state: FakeState, parsed: Parsed) -> int:
    names = list(state.world.sandboxes) if parsed.has("all") else parsed.args
    if not parsed.has("force"):
        if not sys.stdin.isatty():
            msg = (
                "removal needs confirmation and stdin is not a terminal; "
                "pass -f/--force"
            )
            raise ToolError(msg, 1)
        out(f"Remove {', '.join(names)}? (y/N) ")
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            return 1

    return _each(state_file, names, remove=True)


def _each(state_file: StateFile, names: list[str], *, remove: bool) -> int:
    code = 0
    with state_file.transaction() as fresh:
        for name in names:
            sandbox = fresh.world.sandboxes.get(name)
            if sandbox is None:
                sys.stderr.write(f"ERROR: sandbox '{name}' not found\n")
                code = 1
                continue
            kill_processes(sandbox)
            if remove:
                del fresh.world.sandboxes[name]
            else:
                sandbox.status = "stopped"
            out(f"{name}\n")

    return code


def _template_save(
    state_file: StateFile,
    state: FakeState,
    parsed: Parsed,
) -> int:
    if len(parsed.args) != 2:
        raise ToolError("accepts 2 arg(s): SANDBOX TAG", 1)
    name, tag = parsed.args
    with state_file.transaction() as fresh:
        sandbox = fresh.world.sandboxes.get(name)
        if sandbox is None:
            raise ToolError(f"sandbox '{name}' not found", 1)
        if sandbox.status == "running":
            msg = (
                f"sandbox '{name}' is running; stop it first with "
                f"'sbx stop {name}'"
            )
            raise ToolError(msg, 1)
        image = snapshot(fresh.world, sandbox, tag)
    out(f"Snapshotting image in sandbox {name}...\n")
    output = parsed.get("output")
    if output is not None:
        write_image_file(Path(output), [tag], image)
    out(f"✓ Saved template {tag}\n")

    return 0


def _template_load(
    state_file: StateFile,
    state: FakeState,
    parsed: Parsed,
) -> int:
    if len(parsed.args) != 1:
        raise ToolError("accepts 1 arg(s): FILE", 1)
    try:
        tags, image = read_image_file(Path(parsed.args[0]))
    except ImageFileError as error:
        raise ToolError(f"load template: {error}", 1) from error
    with state_file.transaction() as fresh:
        fresh.world.images[image.id] = image
        for tag in tags:
            fresh.world.tags[tag] = image.id
    out("Load complete.\n")

    return 0


def _template_ls(
    state_file: StateFile, state: FakeState, parsed: Parsed
) -> int:
    tags = sorted(state.world.tags.items())
    if parsed.has("quiet"):
        out("".join(f"{tag}\n" for tag, _ in tags))
        return 0
    if parsed.has("json"):
        entries = [{"tag": tag, "id": image} for tag, image in tags]
        out(json.dumps({"templates": entries}, indent=2) + "\n")
        return 0
    if not tags:
        out("No template images found\n")
        return 0
    rows = [["REPOSITORY", "TAG", "IMAGE ID", "FLAVOR", "CREATED"]]
    for tag, image_id in tags:
        repository, _, version = tag.rpartition(":")
        image = state.world.images[image_id]
        rows.append(
            [
                repository or tag,
                version if repository else "latest",
                image_id.removeprefix("sha256:")[:12],
                image.agent,
                "Less than a minute ago",
            ],
        )
    out(render_table(rows, padding=3))

    return 0


def _template_rm(
    state_file: StateFile, state: FakeState, parsed: Parsed
) -> int:
    code = 0
    with state_file.transaction() as fresh:
        for tag in parsed.args:
            if fresh.world.tags.pop(tag, None) is None:
                sys.stderr.write(f"ERROR: template '{tag}' not found\n")
                code = 1
            else:
                out(f"Deleted: {tag}\n")

    return code


def _secret_ls(state_file: StateFile, state: FakeState, parsed: Parsed) -> int:
    service = parsed.get("service")
    secrets = sorted(
        (name, kind)
        for name, kind in state.fakes.secrets.items()
        if service is None or name == service
    )
    if parsed.has("json"):
        entries = [
            {"scope": "(global)", "type": "service", "name": name}
            for name, _ in secrets
        ]
        out(json.dumps({"secrets": entries}, indent=2) + "\n")
        return 0
    rows = [["SCOPE", "TYPE", "NAME", "SECRET"]] + [
        [
            "(global)",
            "service",
            name,
            "(oauth configured)" if kind == "oauth" else "sk-ant-****...****",
        ]
        for name, kind in secrets
    ]
    out(render_table(rows, padding=3))

    return 0


def _secret_set(
    state_file: StateFile, state: FakeState, parsed: Parsed
) -> int:
    if len(parsed.args) != 1:
        raise ToolError("accepts 1 arg(s): SERVICE", 1)
    service = parsed.args[0]
    token = parsed.get("token") or sys.stdin.readline().strip()
    if not token and not parsed.has("oauth"):
        raise ToolError(f"no value given for secret '{service}'", 1)
    with state_file.transaction() as fresh:
        fresh.fakes.secrets[service] = (
            "oauth" if parsed.has("oauth") else "api_key"
        )
    out(f"✓ Secret '{service}' stored\n")

    return 0


def _diagnose(state_file: StateFile, state: FakeState, parsed: Parsed) -> int:
    daemon = state.world.daemon_up
    checks = [
        ("CLI binary", True, "found"),
        ("Daemon", daemon, "running" if daemon else "not running"),
        ("Version match", True, "client and daemon match"),
        ("Socket", daemon, "reachable" if daemon else "unreachable"),
        ("Authentication", True, "authenticated"),
    ]
    entries = [
        {
            "name": name,
            "status": "pass" if ok else "fail",
            "message": message,
            "detail": "",
            "hint": "" if ok else "run 'sbx daemon start'",
        }
        for name, ok, message in checks
    ]
    if parsed.get("format") == "json" or parsed.has("json"):
        out(json.dumps({"version": "1.0", "checks": entries}, indent=2) + "\n")
    else:
        rows = [["CHECK", "STATUS", "MESSAGE"]] + [
            [e["name"], e["status"], e["message"]] for e in entries
        ]
        out(render_table(rows, padding=3))

    return 0


_HANDLERS: dict[str, Callable[[StateFile, FakeState, Parsed], int]] = {
    "version": _version,
    "ls": _ls,
    "create": _create,
    "run": _run,
    "exec": _exec,
    "stop": _stop,
    "rm": _rm,
    "diagnose": _diagnose,
    "template save": _template_save,
    "template load": _template_load,
    "template ls": _template_ls,
    "template rm": _template_rm,
    "secret ls": _secret_ls,
    "secret set": _secret_set,
}


if __name__ == "__main__":
    sys.exit(main())
