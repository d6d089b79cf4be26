"""
The ``SandboxRuntime`` port on the `docker sandbox` plugin of Docker Desktop.

``SandboxCli`` holds what every sandbox CLI adapter shares (``SbxCli``
builds on it): finding the tool at call time, a deadline on every call,
logging, classification of outputs by the domain's ``classify``, the
exec under a run marker with its in-sandbox clean-up, and the questions
asked inside a sandbox (`claude auth status`, `git rev-parse HEAD`).

``DockerSandboxCli`` speaks the plugin's current forms (v0.12: `create
--name -t --pull-template`, `exec -i -w`, `ls --json` under either key,
`rm`, `stop`, `save NAME TAG [-o FILE]`, `version`), falls back to the
older ones when the plugin refuses an option, and does image operations
through `docker image inspect/tag/save/load` on the host's Docker, whose
daemon is the image store templates live in. What an older plugin lacks
(`create`, `exec`, `stop` before v0.7; `save` before v0.10.1; `.` and `+`
in names before v0.12) is read from its `version`, left out of
``capabilities()`` and refused as ``unsupported`` (or ``invalid_input``
for a name) instead of being run.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import shutil
import tarfile
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

from returns.pipeline import is_successful
from returns.result import Failure, Result, Success

from sandwarden.adapters.process import (
    FileInput,
    ProcessExecution,
    StopPolicy,
    ToolOutput,
    run,
    start,
)
from sandwarden.adapters.tool_output import (
    find_sandbox,
    parse_loaded_images,
    parse_plugin_version,
    parse_sandbox_list,
)
from sandwarden.domain.auth import AuthStatus, parse_auth_status
from sandwarden.domain.classify import Context, classify
from sandwarden.domain.deadlines import Limits, Stop
from sandwarden.domain.errors import ErrorKind, UnavailableReason, WardenError
from sandwarden.domain.invocation import (
    Dialect,
    auth_status_argv,
    exec_argv,
    forwarded_env,
    git_head_argv,
)
from sandwarden.domain.sandbox import (
    Capabilities,
    Operation,
    SandboxInfo,
    SandboxSpec,
    SandboxStatus,
    Stream,
)
from sandwarden.domain.values import ImageTag, SandboxName, Workspace

__all__ = [
    "RUN_MARKER",
    "STOP_SCRIPT",
    "DockerSandboxCli",
    "SandboxCli",
    "ToolTimeouts",
    "plugin_operations",
]

_log = logging.getLogger(__name__)

#: The variable every command started in a sandbox carries, with the run
#: id as its value, so that what a stopped run left there can be found.
RUN_MARKER = "SANDWARDEN_RUN"

#: Signals every process whose environment holds exactly
#: ``SANDWARDEN_RUN=$1`` with ``$2`` (TERM: then KILL whatever is left
#: after two seconds). Plain POSIX sh, /proc and coreutils only.
STOP_SCRIPT = """\
want="SANDWARDEN_RUN=$1"; sig="${2:-TERM}"; me=$$
marked() {
  for d in /proc/[0-9]*; do
    p="${d#/proc/}"
    [ "$p" = "$me" ] && continue
    if tr '\\0' '\\n' < "$d/environ" 2>/dev/null | grep -qxF "$want"; then
      echo "$p"
    fi
  done
}
pids=$(marked)
[ -z "$pids" ] && exit 0
kill -s "$sig" $pids 2>/dev/null
[ "$sig" = KILL ] && exit 0
i=0
while [ "$i" -lt 20 ]; do
  pids=$(marked)
  [ -z "$pids" ] && exit 0
  sleep 0.1
  i=$((i + 1))
done
kill -s KILL $pids 2>/dev/null
exit 0
"""


#: The plugin release that brought each operation the first plugins
#: lacked (docker-sandbox-cli.md §0): the container plugin before v0.7
#: had only `run`, `ls`, `inspect`, `rm` and `version`; v0.7.1 (the
#: microVM plugin) `create`, `exec` and `stop`; v0.10.1 `save`, with
#: `-o` as far as its reference shows. Image operations are the host's
#: `docker image` and do not depend on the plugin.
_ADDED_IN: dict[Operation, tuple[int, int, int]] = {
    Operation.CREATE: (0, 7, 0),
    Operation.EXEC: (0, 7, 0),
    Operation.STOP: (0, 7, 0),
    Operation.SAVE: (0, 10, 1),
    Operation.SAVE_TO_TAR: (0, 10, 1),
}
_COMMANDS = {
    Operation.CREATE: "create",
    Operation.EXEC: "exec",
    Operation.STOP: "stop",
    Operation.SAVE: "save",
    Operation.SAVE_TO_TAR: "save -o",
}
#: Names with `.` or `+` are accepted from v0.12 on ("letters, numbers,
#: hyphens, underscores, periods, plus signs and minus signs"); earlier
#: plugins take "letters, numbers, hyphens, and underscores".
_DOTTED_NAMES = (0, 12, 0)
_OLD_NAME = re.compile(r"[A-Za-z0-9_-]+")
_RELEASE = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")


def plugin_operations(version: str | None) -> frozenset[Operation]:
    """
    The operations a plugin of ``version`` offers.

    An unknown or unreadable version is taken for a current plugin: the
    adapter targets v0.12, and the plugin's own refusal still shows.
    """
    release = _release(version)
    if release is None:
        return frozenset(Operation)

    return frozenset(
        operation
        for operation in Operation
        if release >= _ADDED_IN.get(operation, (0, 0, 0))
    )


def _release(version: str | None) -> tuple[int, int, int] | None:
    found = _RELEASE.match(version or "")
    if found is None:
        return None
    major, minor, patch = found.groups()

    return (int(major), int(minor), int(patch))


@dataclass(frozen=True, slots=True)
class ToolTimeouts:
    """
    Deadlines of the tool calls, in seconds.

    ``query`` bounds `ls`, `version`, `info`, `image inspect`, `secret
    ls` and `template ls`: questions that answer in well under a second
    unless the daemon hangs (docker/sbx-releases#398), so a short
    deadline lets a heal start soon; ``change`` bounds `create`, `rm`
    and `stop` (creating a microVM takes tens of seconds, a first
    create may pull a base image); ``image`` bounds `save`, `load` and
    exports of multi-GB images; ``probe`` bounds `git rev-parse HEAD`
    inside a sandbox, which may boot a stopped one (`claude auth status`
    gets its limits from the caller).
    """

    query: float = 20.0
    change: float = 180.0
    image: float = 900.0
    probe: float = 30.0


class SandboxCli:
    """
    What the CLI adapters share; a subclass names its tool and dialect.

    ``tool`` is the executable (a name looked up on ``PATH`` at each
    call, or a path); ``env`` the environment the tool runs with (None:
    this process's own). Every call has a deadline from ``timeouts``;
    ``policy`` says how a stopped run is ended. ``allow_api_key`` is
    SANDBOX_ALLOW_API_KEY_AUTH: without it ``exec`` refuses to forward a
    variable that would bill an API account (``billing_guard``).
    """

    dialect: ClassVar[Dialect]
    default_tool: ClassVar[str]
    prefix: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        *,
        tool: str | None = None,
        timeouts: ToolTimeouts | None = None,
        policy: StopPolicy | None = None,
        env: Mapping[str, str] | None = None,
        allow_api_key: bool = False,
    ) -> None:
        self._tool = tool or self.default_tool
        self._timeouts = timeouts or ToolTimeouts()
        self._policy = policy or StopPolicy()
        self._env = dict(env) if env is not None else None
        self._allow_api_key = allow_api_key
        # The last version the tool gave, and whether it was ever asked:
        # gates read it instead of asking before every call.
        self._known_version: str | None = None
        self._version_asked = False

    # Names.

    def check_name(
        self, name: SandboxName
    ) -> Result[SandboxName, WardenError]:
        """Refuse a name this tool forbids (a subclass says which)."""
        return Success(name)

    # The port.

    async def version(self) -> Result[str, WardenError]:
        """The tool's version, e.g. ``v0.12.0``; remembered when read."""
        self._version_asked = True
        version = (
            await self.call(("version",), Context.TOOL, self._timeouts.query)
        ).bind(lambda out: self.parse_version(_text(out.stdout)))
        if is_successful(version):
            self._known_version = version.unwrap()

        return version

    async def known_version(self) -> str | None:
        """
        The tool's version as this adapter knows it, asked at most once.

        None when it could not be read (the call that needs it then runs
        and the tool's own answer shows).
        """
        if self._known_version is None and not self._version_asked:
            await self.version()

        return self._known_version

    def parse_version(self, text: str) -> Result[str, WardenError]:
        """Read the tool's version output."""
        return parse_plugin_version(text)

    async def list(self) -> Result[tuple[SandboxInfo, ...], WardenError]:
        """Every sandbox, from `ls --json`, or the table when that fails."""
        listed = await self.call(
            ("ls", "--json"), Context.TOOL, self._timeouts.query
        )
        if not is_successful(listed) and (
            listed.failure().kind is ErrorKind.UNSUPPORTED_OPTION
        ):
            listed = await self.call(
                ("ls",), Context.TOOL, self._timeouts.query
            )

        return listed.bind(lambda out: parse_sandbox_list(_text(out.stdout)))

    async def find(
        self,
        name: SandboxName,
        workspace: Workspace,
    ) -> Result[SandboxInfo | None, WardenError]:
        """
        The sandbox ``name`` if it exists over ``workspace``.

        A sandbox of that name over another workspace is a
        ``workspace_mismatch`` that names both paths.
        """
        # A tool may list the symlink-free path (macOS /private/var).
        resolved = await asyncio.to_thread(os.path.realpath, workspace.path)

        return (await self.list()).bind(
            lambda infos: find_sandbox(infos, name, workspace, resolved)
        )

    async def create(
        self,
        spec: SandboxSpec,
    ) -> Result[SandboxInfo, WardenError]:
        """
        Create the sandbox, then read it back from the listing.

        A name already listed fails as ``already_exists`` before the
        tool's create runs.
        """
        checked = self.check_name(spec.name)
        if not is_successful(checked):
            return Failure(checked.failure())

        # The tools' texts for an existing name vary (and sbx's mentions
        # "failed to create"); the listing says it plainly.
        listed = await self.list()
        if not is_successful(listed):
            return Failure(listed.failure())
        for info in listed.unwrap():
            if info.name == spec.name.value:
                return Failure(_exists(info))

        created = await self.create_with_tool(spec)
        if not is_successful(created):
            return Failure(created.failure())
        found = await self.find(spec.name, spec.workspace)

        return found.map(
            lambda info: (
                info
                or SandboxInfo(
                    spec.name.value,
                    spec.agent,
                    SandboxStatus.RUNNING,
                    (spec.workspace.path,),
                )
            ),
        )

    async def create_with_tool(
        self,
        spec: SandboxSpec,
    ) -> Result[ToolOutput, WardenError]:
        """Run the tool's create command."""
        raise NotImplementedError

    async def remove(self, name: SandboxName) -> Result[None, WardenError]:
        """Remove a sandbox; a missing one fails as not found."""
        return await self.change(name, self.remove_args(name))

    def remove_args(self, name: SandboxName) -> tuple[str, ...]:
        """The arguments of a removal (sbx adds ``-f``)."""
        return ("rm", name.value)

    async def stop(self, name: SandboxName) -> Result[None, WardenError]:
        """Stop a sandbox, keeping its state."""
        return await self.change(name, ("stop", name.value))

    async def change(
        self,
        name: SandboxName,
        args: Sequence[str],
    ) -> Result[None, WardenError]:
        """
        Run a command that changes one sandbox.

        The tools' exit codes do not tell "not found" from other failures
        (docker/sbx-releases#504), so a missing sandbox is found in the
        listing first.
        """
        checked = self.check_name(name)
        if not is_successful(checked):
            return Failure(checked.failure())
        listed = await self.list()
        if not is_successful(listed):
            return Failure(listed.failure())
        if all(info.name != name.value for info in listed.unwrap()):
            return Failure(_missing(name))

        return (
            await self.call(args, Context.TOOL, self._timeouts.change)
        ).map(lambda _: None)

    async def exec(
        self,
        name: SandboxName,
        command: Sequence[str],
        *,
        workdir: Workspace,
        limits: Limits,
        stdin: bytes | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Result[ProcessExecution, WardenError]:
        """
        Start ``command`` in the sandbox under ``SANDWARDEN_RUN=<id>``.

        Values of ``env`` and the marker go into the tool's environment
        and are forwarded by name (`-e NAME`), never on argv. A variable
        that bills an API account is refused, before anything runs,
        unless ``allow_api_key``. When a limit or a cancel stops the run,
        the runner kills the local tool and then runs ``STOP_SCRIPT``
        through the tool, because killing the client does not stop the
        command inside the sandbox.
        """
        checked = self.check_name(name)
        if not is_successful(checked):
            return Failure(checked.failure())
        forwarded = forwarded_env(env or {}, self._allow_api_key)
        if not is_successful(forwarded):
            return Failure(forwarded.failure())
        tool = self.resolve()
        if not is_successful(tool):
            return Failure(tool.failure())

        run_id = uuid.uuid4().hex
        extra = forwarded.unwrap()
        extra[RUN_MARKER] = run_id
        try:
            argv = exec_argv(
                self.dialect,
                name,
                workdir,
                command,
                interactive=stdin is not None,
                env_names=tuple(extra),
            )
        except ValueError as error:
            return Failure(WardenError.invalid(str(error)))

        async def cleanup() -> None:
            await self.stop_inside(name, workdir, run_id)

        _log.debug(
            "exec.started",
            extra={
                "sandwarden.sandbox": name.value,
                "sandwarden.run": run_id,
                "sandwarden.command": command[0],
            },
        )

        return await start(
            (tool.unwrap(), *argv[1:]),
            limits=limits,
            stdin=stdin,
            env={**self.base_env(), **extra},
            policy=self._policy,
            cleanup=cleanup,
        )

    async def stop_inside(
        self,
        name: SandboxName,
        workdir: Workspace,
        run_id: str,
    ) -> None:
        """Stop what run ``run_id`` left running inside the sandbox."""
        tool = self.resolve()
        if not is_successful(tool):
            return
        argv = exec_argv(
            self.dialect,
            name,
            workdir,
            ("sh", "-c", STOP_SCRIPT, "sandwarden-stop", run_id, "TERM"),
            interactive=False,
        )
        # The clean-up must not carry the marker it looks for.
        env = {k: v for k, v in self.base_env().items() if k != RUN_MARKER}
        done = await run(
            (tool.unwrap(), *argv[1:]),
            within=self._policy.cleanup_timeout,
            env=env,
            policy=StopPolicy(grace=0.5, cleanup_timeout=0.0),
        )
        _log.debug(
            "exec.cleanup.complete"
            if is_successful(done)
            else "exec.cleanup.failed",
            extra={"sandwarden.sandbox": name.value, "sandwarden.run": run_id},
        )

    async def auth_status(
        self,
        name: SandboxName,
        workdir: Workspace,
        limits: Limits,
    ) -> Result[AuthStatus, WardenError]:
        """
        Ask `claude auth status` inside the sandbox.

        JSON first; a CLI that refuses `--json` is asked again without it.
        A logged-out answer (exit 1 with ``loggedIn: false``) is a
        ``Success``; the outputs are classified only when they cannot be
        read as an answer.
        """
        status = await self.claude_auth_status(name, workdir, limits, True)
        if not is_successful(status) and (
            status.failure().kind is ErrorKind.UNSUPPORTED_OPTION
        ):
            status = await self.claude_auth_status(
                name, workdir, limits, False
            )

        return status

    async def claude_auth_status(
        self,
        name: SandboxName,
        workdir: Workspace,
        limits: Limits,
        json: bool,
    ) -> Result[AuthStatus, WardenError]:
        """One `claude auth status` inside the sandbox."""
        asked = await self.ask_inside(
            name, workdir, auth_status_argv(json), limits
        )
        if not is_successful(asked):
            return Failure(asked.failure())
        out = asked.unwrap()

        status = parse_auth_status(
            _text(out.stdout), _text(out.stderr), out.exit_code
        )
        if is_successful(status):
            return status
        judged = classify(out.exit_code, out.stdout, out.stderr, Context.PROBE)
        if not is_successful(judged):
            return Failure(judged.failure())

        return status

    async def git_head(
        self,
        name: SandboxName,
        workdir: Workspace,
    ) -> Result[str | None, WardenError]:
        """HEAD inside the sandbox; None when the workspace is no repo."""
        asked = await self.ask_inside(
            name,
            workdir,
            git_head_argv(),
            Limits(hard=self._timeouts.probe),
        )
        if not is_successful(asked):
            return Failure(asked.failure())
        out = asked.unwrap()

        text = _text(out.stdout).strip()
        if out.exit_code == 0 and text:
            return Success(text.splitlines()[-1].strip())
        if b"not a git repository" in out.stderr.lower():
            return Success(None)
        judged = classify(out.exit_code, out.stdout, out.stderr, Context.PROBE)

        return judged.bind(
            lambda _: Failure(
                WardenError(
                    ErrorKind.UNKNOWN,
                    "`git rev-parse HEAD` inside the sandbox printed no "
                    "commit",
                    detail=_text(out.stderr)[-2000:],
                ),
            ),
        )

    async def ask_inside(
        self,
        name: SandboxName,
        workdir: Workspace,
        command: Sequence[str],
        limits: Limits,
    ) -> Result[ToolOutput, WardenError]:
        """Run a short command in the sandbox and collect its output."""
        started = await self.exec(
            name, command, workdir=workdir, limits=limits
        )
        if not is_successful(started):
            return Failure(started.failure())
        execution = started.unwrap()

        stdout = bytearray()
        try:
            async for chunk in execution.output():
                if chunk.stream is Stream.STDOUT:
                    stdout += chunk.data
        except asyncio.CancelledError:
            await execution.cancel()
            raise
        ended = (await execution.wait()).unwrap()
        if ended.stopped is not None:
            return Failure(_stopped(ended.stopped, command, limits))

        return Success(
            ToolOutput(
                ended.exit_code if ended.exit_code is not None else -1,
                bytes(stdout),
                ended.stderr_tail,
            ),
        )

    # Running the tool.

    def base_env(self) -> dict[str, str]:
        """The environment the tool runs with."""
        return dict(self._env if self._env is not None else os.environ)

    def resolve(self) -> Result[str, WardenError]:
        """The tool's executable, looked up now (it may come and go)."""
        path = self.base_env().get("PATH")
        found = shutil.which(self._tool, path=path)
        if found is None:
            return Failure(
                WardenError.unavailable(
                    UnavailableReason.TOOL_MISSING,
                    f"`{self._tool}` was not found on PATH; install it, or "
                    "configure the runtime for the tool you have",
                ),
            )

        return Success(found)

    async def call(
        self,
        args: Sequence[str],
        context: Context,
        within: float,
        *,
        host: bool = False,
        stdin: FileInput | None = None,
    ) -> Result[ToolOutput, WardenError]:
        """
        Run the tool with ``args`` (after the prefix unless ``host``).

        Stdin is /dev/null unless a file is fed to it, so a tool that
        wants to ask a question fails instead of hanging. Outputs go
        through ``classify``.
        """
        tool = self.resolve()
        if not is_successful(tool):
            return Failure(tool.failure())
        prefix = () if host else self.prefix
        argv = (tool.unwrap(), *prefix, *args)
        operation = " ".join((*prefix, *args[:1])) or self._tool
        fields = {"sandwarden.tool": self._tool, "sandwarden.op": operation}

        _log.debug(f"{operation}.started", extra=fields)
        ran = await run(
            argv,
            within=within,
            stdin=stdin,
            env=self._env,
            policy=self._policy,
        )
        checked = ran.bind(
            lambda out: classify(
                out.exit_code, out.stdout, out.stderr, context
            ).map(lambda _: out),
        )
        if is_successful(checked):
            _log.debug(f"{operation}.complete", extra=fields)
        else:
            _log.debug(
                f"{operation}.failed",
                extra={**fields, "sandwarden.error": str(checked.failure())},
            )

        return checked


class DockerSandboxCli(SandboxCli):
    """
    The `docker sandbox` plugin (Docker Desktop 4.58+), through `docker`.

    Templates live in the host's Docker image store: `save` loads the
    snapshot there (so it needs Docker Desktop running), and the image
    operations are plain `docker image` commands.
    """

    dialect = Dialect.DOCKER_SANDBOX
    default_tool = "docker"
    prefix = ("sandbox",)

    async def capabilities(self) -> Result[Capabilities, WardenError]:
        """
        The plugin's version, what it offers, whether the store answers.

        The operations follow the version (``plugin_operations``).
        """
        version = await self.version()
        if not is_successful(version):
            return Failure(version.failure())
        # `docker info` answers only when the engine (the image store)
        # does; the plugin itself runs without it.
        store = await self.call(
            ("info", "--format", "{{.ServerVersion}}"),
            Context.IMAGE,
            self._timeouts.query,
            host=True,
        )

        return Success(
            Capabilities(
                tool="docker sandbox",
                version=version.unwrap(),
                image_store=is_successful(store),
                operations=plugin_operations(version.unwrap()),
            ),
        )

    def check_name(
        self,
        name: SandboxName,
    ) -> Result[SandboxName, WardenError]:
        """Refuse `.` and `+` when the plugin is known to predate v0.12."""
        version = self._known_version
        release = _release(version)
        old = release is not None and release < _DOTTED_NAMES
        if old and not _OLD_NAME.fullmatch(name.value):
            return Failure(
                WardenError.invalid(
                    f"sandbox name {name.value!r} is not allowed by the "
                    f"`docker sandbox` plugin {version}; before v0.12 it "
                    "takes letters, digits, '-' and '_' only (no '.' or "
                    "'+'): choose another name or update Docker Desktop",
                ),
            )

        return Success(name)

    async def offers(
        self,
        operation: Operation,
        *,
        ask: bool = True,
    ) -> Result[None, WardenError]:
        """
        Refuse ``operation`` when the plugin's version predates it.

        The version is asked once per adapter (unless ``ask`` is off: the
        exec, the hot path, then goes by what an earlier call learned).
        """
        version = await self.known_version() if ask else self._known_version
        if operation in plugin_operations(version):
            return Success(None)
        added = ".".join(map(str, _ADDED_IN[operation]))

        return Failure(
            WardenError(
                ErrorKind.UNSUPPORTED,
                f"the `docker sandbox` plugin {version} has no "
                f"`{_COMMANDS[operation]}` (added in v{added}); update "
                "Docker Desktop to 4.61 or later, or use the `sbx` runtime",
            ),
        )

    async def create(
        self,
        spec: SandboxSpec,
    ) -> Result[SandboxInfo, WardenError]:
        """Create the sandbox, if the plugin has `create` and the name."""
        offered = await self.offers(Operation.CREATE)
        if not is_successful(offered):
            return Failure(offered.failure())

        return await super().create(spec)

    async def stop(self, name: SandboxName) -> Result[None, WardenError]:
        """Stop a sandbox, if the plugin has `stop`."""
        offered = await self.offers(Operation.STOP)
        if not is_successful(offered):
            return Failure(offered.failure())

        return await super().stop(name)

    async def exec(
        self,
        name: SandboxName,
        command: Sequence[str],
        *,
        workdir: Workspace,
        limits: Limits,
        stdin: bytes | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Result[ProcessExecution, WardenError]:
        """
        Start ``command`` in the sandbox (see ``SandboxCli.exec``).

        Refused when the plugin is already known to have no `exec`.
        """
        offered = await self.offers(Operation.EXEC, ask=False)
        if not is_successful(offered):
            return Failure(offered.failure())

        return await super().exec(
            name, command, workdir=workdir, limits=limits, stdin=stdin, env=env
        )

    async def create_with_tool(
        self,
        spec: SandboxSpec,
    ) -> Result[ToolOutput, WardenError]:
        """
        `create --name N [-t T --pull-template missing] AGENT WORKSPACE`.

        A plugin older than v0.12 refuses `--pull-template`; it is asked
        again with the v0.7-v0.11 `--load-local-template`.
        """
        head = ("create", "--name", spec.name.value)
        tail = (spec.agent, spec.workspace.path)
        if spec.template is None:
            return await self.call(
                (*head, *tail), Context.TOOL, self._timeouts.change
            )

        template = ("-t", str(spec.template))
        created = await self.call(
            (*head, *template, "--pull-template", "missing", *tail),
            Context.TOOL,
            self._timeouts.change,
        )
        if not is_successful(created) and (
            created.failure().kind is ErrorKind.UNSUPPORTED_OPTION
        ):
            created = await self.call(
                (*head, *template, "--load-local-template", *tail),
                Context.TOOL,
                self._timeouts.change,
            )

        return created

    async def save(
        self,
        name: SandboxName,
        tag: ImageTag,
    ) -> Result[None, WardenError]:
        """`save NAME TAG`: snapshot into the host's Docker image store."""
        offered = await self.offers(Operation.SAVE)
        if not is_successful(offered):
            return Failure(offered.failure())

        return (
            await self.call(
                ("save", name.value, str(tag)),
                Context.IMAGE,
                self._timeouts.image,
            )
        ).map(lambda _: None)

    async def save_to_tar(
        self,
        name: SandboxName,
        tag: ImageTag,
        path: str,
    ) -> Result[None, WardenError]:
        """
        `save NAME TAG -o FILE`, then `docker image load -i FILE`.

        The plugin's `-o` writes the tar *instead of* loading the image
        into Docker, so the tar is loaded to leave the template in the
        store as well.
        """
        offered = await self.offers(Operation.SAVE_TO_TAR)
        if not is_successful(offered):
            return Failure(offered.failure())
        saved = await self.call(
            ("save", name.value, str(tag), "-o", path),
            Context.IMAGE,
            self._timeouts.image,
        )
        if not is_successful(saved):
            return Failure(saved.failure())

        return (await self.image_load(path)).map(lambda _: None)

    async def image_exists(self, tag: ImageTag) -> Result[bool, WardenError]:
        """`docker image inspect TAG`; a missing image is False."""
        found = await self.call(
            ("image", "inspect", str(tag)),
            Context.IMAGE,
            self._timeouts.query,
            host=True,
        )
        if is_successful(found):
            return Success(True)
        if found.failure().kind is ErrorKind.NOT_FOUND:
            return Success(False)

        return Failure(found.failure())

    async def image_tag(
        self,
        source: ImageTag,
        target: ImageTag,
    ) -> Result[None, WardenError]:
        """`docker image tag SOURCE TARGET`."""
        return (
            await self.call(
                ("image", "tag", str(source), str(target)),
                Context.IMAGE,
                self._timeouts.query,
                host=True,
            )
        ).map(lambda _: None)

    async def image_export(
        self,
        tag: ImageTag,
        path: str,
    ) -> Result[None, WardenError]:
        """`docker image save TAG -o PATH`."""
        return (
            await self.call(
                ("image", "save", "-o", path, str(tag)),
                Context.IMAGE,
                self._timeouts.image,
                host=True,
            )
        ).map(lambda _: None)

    async def image_load(
        self,
        path: str,
        *,
        progress: Callable[[int], None] | None = None,
    ) -> Result[tuple[ImageTag, ...], WardenError]:
        """
        `docker image load` with the tar fed to its stdin.

        Feeding the file (rather than `-i PATH`) is what lets
        ``progress`` hear the bytes Docker has taken. The tags are those
        Docker names, or the tar's own.
        """
        found = await asyncio.to_thread(os.path.isfile, path)
        if not found:
            return Failure(
                WardenError(
                    ErrorKind.NOT_FOUND,
                    f"{path} does not exist or is not a file; expected an "
                    "image tar to load",
                ),
            )
        loaded = await self.call(
            ("image", "load"),
            Context.IMAGE,
            self._timeouts.image,
            host=True,
            stdin=FileInput(path, progress),
        )

        return loaded.map(
            lambda out: (
                parse_loaded_images(_text(out.stdout)) or tar_tags(path)
            ),
        )


def tar_tags(path: str) -> tuple[ImageTag, ...]:
    """The tags an image tar's ``manifest.json`` names (``RepoTags``)."""
    try:
        with tarfile.open(path) as archive:
            member = archive.extractfile("manifest.json")
            if member is None:
                return ()
            manifest = json.loads(member.read())
    except (OSError, KeyError, ValueError, tarfile.TarError):
        return ()
    tags = []
    for entry in manifest if isinstance(manifest, list) else []:
        for raw in entry.get("RepoTags") or []:
            parsed = ImageTag.parse(raw)
            if is_successful(parsed):
                tags.append(parsed.unwrap())

    return tuple(tags)


def _exists(info: SandboxInfo) -> WardenError:
    over = ", ".join(info.workspaces) or "no listed workspace"
    return WardenError(
        ErrorKind.ALREADY_EXISTS,
        f"sandbox {info.name!r} already exists (over {over}); reuse it, "
        "or remove it first",
    )


def _missing(name: SandboxName) -> WardenError:
    return WardenError.unavailable(
        UnavailableReason.NOT_FOUND,
        f"sandbox {name.value!r} does not exist; create it with "
        "`sandwarden login` or let the warden heal",
    )


def _stopped(
    stop: Stop, command: Sequence[str], limits: Limits
) -> WardenError:
    what = " ".join(command[:3])
    match stop:
        case Stop.HARD_TIMEOUT:
            return WardenError(
                ErrorKind.TIMEOUT,
                f"`{what}` inside the sandbox did not finish within "
                f"{limits.hard or 0:g} s",
            )
        case Stop.STALLED:
            return WardenError(
                ErrorKind.STALLED,
                f"`{what}` inside the sandbox printed nothing for "
                f"{limits.inactivity or 0:g} s",
            )
        case Stop.CANCELLED:
            return WardenError(
                ErrorKind.CANCELLED,
                f"`{what}` inside the sandbox was cancelled",
            )


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")
