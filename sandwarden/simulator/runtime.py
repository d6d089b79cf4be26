"""
``SimulatedRuntime``: the ``SandboxRuntime`` port over a ``World``.

Every operation takes a little virtual time, then either changes the
world or produces the text the real tool would print for its failure
(see ``texts``), which the domain's ``classify`` reads exactly as it
reads the real tool's. ``exec`` hands back a ``SimulatedExecution``
whose raw output is what the real ``docker sandbox exec`` would stream,
including the tool's own error text when the sandbox is missing or the
daemon is down. A wedged daemon makes every call wait for the
runtime's own call deadline and fail as ``wedged``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from returns.pipeline import is_successful
from returns.result import Failure, Result, Success

from sandwarden.domain.auth import AuthStatus
from sandwarden.domain.deadlines import Limits, Stop
from sandwarden.domain.errors import ErrorKind, UnavailableReason, WardenError
from sandwarden.domain.invocation import forwarded_env
from sandwarden.domain.sandbox import (
    Capabilities,
    ExecResult,
    Operation,
    SandboxInfo,
    SandboxSpec,
    SandboxStatus,
    Stream,
)
from sandwarden.domain.values import ImageTag, SandboxName, Workspace
from sandwarden.ports import Clock, Execution
from sandwarden.simulator import texts
from sandwarden.simulator.bridge import Context, classify, parse_auth_status
from sandwarden.simulator.execution import SimulatedExecution
from sandwarden.simulator.images import export_tar, load_tar
from sandwarden.simulator.inside import plan_inside
from sandwarden.simulator.scripts import Script, Step
from sandwarden.simulator.world import (
    Image,
    Login,
    LoginMethod,
    Sandbox,
    Tool,
    World,
)

__all__ = ["SimulatedRuntime"]

_ALL = frozenset(Operation)
# What the real `SbxCli` offers: sbx has no command that re-tags an image
# or exports a stored template; `template save -o` writes the tar.
_SBX = _ALL - {Operation.IMAGE_TAG, Operation.IMAGE_EXPORT}

# Pieces a simulated `docker image load` is fed in: enough for a
# progress meter to move.
_FEEDS = 4

#: Virtual seconds each tool call takes, by kind; measured orders of
#: magnitude, not promises: a listing is quick, a VM boot or snapshot not.
LATENCY: Mapping[str, float] = {
    "version": 0.05,
    "list": 0.1,
    "create": 3.0,
    "remove": 1.0,
    "stop": 1.0,
    "exec": 0.2,
    "save": 5.0,
    "image": 0.5,
}


class SimulatedRuntime:
    """
    The sandbox tool, simulated; see the module docstring.

    ``allow_api_key`` is SANDBOX_ALLOW_API_KEY_AUTH, as the real adapters
    take it: without it ``exec`` refuses to forward a variable that
    would bill an API account.
    """

    def __init__(
        self,
        world: World,
        clock: Clock,
        *,
        call_timeout: float = 60.0,
        latency: Mapping[str, float] = LATENCY,
        allow_api_key: bool = False,
    ) -> None:
        self.world = world
        self._clock = clock
        self._call_timeout = call_timeout
        self._allow_api_key = allow_api_key
        self._latency = dict(LATENCY) | dict(latency)
        self._running: list[SimulatedExecution] = []

    def notice_world_change(self) -> None:
        """Let running commands see a change made behind the runtime."""
        self._running = [run for run in self._running if not run.done()]
        for run in self._running:
            run.poke()

    async def capabilities(self) -> Result[Capabilities, WardenError]:
        """The tool's operations and whether its image store answers."""
        version = await self.version()
        if not is_successful(version):
            return Failure(version.failure())
        world = self.world
        operations = _SBX if world.tool is Tool.SBX else _ALL

        return Success(
            Capabilities(
                tool=str(world.tool),
                version=version.unwrap(),
                image_store=world.daemon_up and world.image_store_up,
                operations=operations,
            ),
        )

    async def version(self) -> Result[str, WardenError]:
        """The tool's version; it answers without the daemon."""
        problem = await self._call("version", Context.TOOL, daemon=False)
        if problem is not None:
            return Failure(problem)
        return Success(self.world.tool_version)

    async def list(self) -> Result[tuple[SandboxInfo, ...], WardenError]:
        """Every sandbox, by name."""
        problem = await self._call("list", Context.TOOL)
        if problem is not None:
            return Failure(problem)

        return Success(
            tuple(
                _info(self.world.sandboxes[name])
                for name in sorted(self.world.sandboxes)
            ),
        )

    async def create(
        self, spec: SandboxSpec
    ) -> Result[SandboxInfo, WardenError]:
        """Create a sandbox; from a template it inherits the saved login."""
        problem = await self._call("create", Context.TOOL)
        if problem is not None:
            return Failure(problem)
        world, name = self.world, spec.name.value
        if name in world.sandboxes:
            return self._fails(
                Context.TOOL, texts.already_exists(world.tool, name)
            )
        login, claude = Login(LoginMethod.NONE), None
        if spec.template is not None:
            image = self._image(str(spec.template))
            if image is None:
                stderr = texts.no_template(world.tool, str(spec.template))
                return self._fails(Context.TOOL, stderr)
            login, claude = replace(image.login), replace(image.claude)
        workspace = spec.workspace.path
        sandbox = Sandbox(
            name,
            [workspace],
            agent=spec.agent,
            login=login,
            template=None if spec.template is None else str(spec.template),
            created_at=self._clock.time(),
            heads={workspace: world.host_heads.get(workspace)},
        )
        if claude is not None:
            sandbox.claude = claude
        world.sandboxes[name] = sandbox
        self._record(f"create {name} over {workspace}: ok")

        return Success(_info(sandbox))

    async def remove(self, name: SandboxName) -> Result[None, WardenError]:
        """Remove a sandbox with its sessions, login and processes."""
        found = await self._existing("remove", name)
        if not is_successful(found):
            return Failure(found.failure())
        del self.world.sandboxes[name.value]
        self._record(f"remove {name}: ok")
        self.notice_world_change()

        return Success(None)

    async def stop(self, name: SandboxName) -> Result[None, WardenError]:
        """Stop a sandbox: its processes die, its state stays."""
        found = await self._existing("stop", name)
        if not is_successful(found):
            return Failure(found.failure())
        sandbox = found.unwrap()
        sandbox.status = SandboxStatus.STOPPED.value
        sandbox.processes.clear()
        self._record(f"stop {name}: ok")
        self.notice_world_change()

        return Success(None)

    async def exec(
        self,
        name: SandboxName,
        command: Sequence[str],
        *,
        workdir: Workspace,
        limits: Limits,
        stdin: bytes | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Result[Execution, WardenError]:
        """
        Start ``command``; the tool's own failures come as its output.

        A variable of ``env`` that bills an API account is refused before
        anything runs, unless API-key billing is allowed.
        """
        forwarded = forwarded_env(env or {}, self._allow_api_key)
        if not is_successful(forwarded):
            self._record(f"exec {name}: refused ({forwarded.failure().kind})")
            return Failure(forwarded.failure())
        started = self._clock.monotonic()
        await self._clock.sleep(self._latency["exec"])
        world, sandbox = self.world, self.world.sandboxes.get(name.value)
        script = self._exec_script(sandbox, name.value, workdir.path)
        if script is None and sandbox is not None:
            if sandbox.status != SandboxStatus.RUNNING.value:
                sandbox.status = SandboxStatus.RUNNING.value
                self._record(f"exec {name}: started the stopped sandbox")
            script = plan_inside(
                world,
                sandbox,
                list(command),
                stdin=stdin or b"",
                workdir=workdir.path,
                now=self._clock.time(),
                env=env,
            )
            self.notice_world_change()
        host = sandbox or Sandbox(name.value, [])
        marker = (env or {}).get("SANDWARDEN_RUN") or world.next_id()
        process = world.spawn(host, list(command), marker, started)
        self._record(f"exec {name} run {marker}: {_shown(command)}")
        run = SimulatedExecution(
            world=world,
            clock=self._clock,
            sandbox=host,
            process=process,
            script=script or Script((), 1),
            deadlines=limits.start(started),
        )
        self._running.append(run)

        return Success(run)

    async def auth_status(
        self,
        name: SandboxName,
        workdir: Workspace,
        limits: Limits,
    ) -> Result[AuthStatus, WardenError]:
        """Ask `claude auth status --json`, then the plain form if refused."""
        answer = await self._ask(name, workdir, limits, ("--json",))
        if is_successful(answer):
            return answer
        if answer.failure().kind is ErrorKind.UNSUPPORTED_OPTION:
            return await self._ask(name, workdir, limits, ())

        return answer

    async def git_head(
        self,
        name: SandboxName,
        workdir: Workspace,
    ) -> Result[str | None, WardenError]:
        """HEAD inside the sandbox; None when the workdir is no repository."""
        limits = Limits(hard=self._call_timeout)
        command = ("git", "rev-parse", "HEAD")
        ran = await self._collect(name, command, workdir, limits)
        if not is_successful(ran):
            return Failure(ran.failure())
        result, stdout, stderr = ran.unwrap()
        if result.exit_code == 0 and stdout.strip():
            return Success(stdout.decode().strip())
        if b"not a git repository" in stderr:
            return Success(None)

        return self._fails(Context.PROBE, stderr, stdout, result.exit_code)

    async def save(
        self, name: SandboxName, tag: ImageTag
    ) -> Result[None, WardenError]:
        """
        Snapshot a sandbox (its login included) as a template image.

        Under sbx the sandbox is stopped first and left stopped, as
        `SbxCli.save` does (sbx saves only a stopped sandbox).
        """
        found = await self._existing("save", name, image=True)
        if not is_successful(found):
            return Failure(found.failure())
        sandbox, world = found.unwrap(), self.world
        if world.tool is Tool.SBX:
            sandbox.status = SandboxStatus.STOPPED.value
            sandbox.processes.clear()
            self._record(f"stop {name} to save it: ok")
            self.notice_world_change()
        image = Image(
            id="sha256:" + world.next_hex(64),
            agent=sandbox.agent,
            login=replace(sandbox.login),
            claude=replace(sandbox.claude),
            source=sandbox.name,
            created_at=self._clock.time(),
        )
        world.images[image.id] = image
        world.tags[str(tag)] = image.id
        self._record(f"save {name} as {tag}: ok")

        return Success(None)

    async def save_to_tar(
        self,
        name: SandboxName,
        tag: ImageTag,
        path: str,
    ) -> Result[None, WardenError]:
        """Save as ``save`` does, then write the tar ``image_export`` would."""
        saved = await self.save(name, tag)
        if not is_successful(saved):
            return saved
        return self._write_tar(tag, path)

    async def image_exists(self, tag: ImageTag) -> Result[bool, WardenError]:
        """Whether the store holds ``tag``."""
        problem = await self._call("image", Context.IMAGE, image=True)
        if problem is not None:
            return Failure(problem)

        return Success(self._image(str(tag)) is not None)

    async def image_tag(
        self,
        source: ImageTag,
        target: ImageTag,
    ) -> Result[None, WardenError]:
        """Point ``target`` at ``source``'s image."""
        if self.world.tool is Tool.SBX:
            return Failure(
                WardenError(
                    ErrorKind.UNSUPPORTED,
                    "sbx has no command to tag a template image; "
                    "save the sandbox again under the new tag",
                ),
            )
        problem = await self._call("image", Context.IMAGE, image=True)
        if problem is not None:
            return Failure(problem)
        if self._image(str(source)) is None:
            stderr = texts.no_such_image(self.world.tool, str(source))
            return self._fails(Context.IMAGE, stderr)
        self.world.tags[str(target)] = self.world.tags[str(source)]
        self._record(f"tag {source} as {target}: ok")

        return Success(None)

    async def image_export(
        self,
        tag: ImageTag,
        path: str,
    ) -> Result[None, WardenError]:
        """Write the image as a tar into the world's host files."""
        if self.world.tool is Tool.SBX:
            return Failure(
                WardenError(
                    ErrorKind.UNSUPPORTED,
                    "sbx has no command to export a stored template; "
                    "save the sandbox with `template save -o` instead",
                ),
            )
        problem = await self._call("image", Context.IMAGE, image=True)
        if problem is not None:
            return Failure(problem)

        return self._write_tar(tag, path)

    def _write_tar(
        self, tag: ImageTag, path: str
    ) -> Result[None, WardenError]:
        data = export_tar(self.world, str(tag))
        if data is None:
            stderr = texts.no_such_image(self.world.tool, str(tag))
            return self._fails(Context.IMAGE, stderr)
        self.world.files[path] = data
        digest = hashlib.sha256(data).hexdigest()[:12]
        self._record(f"export {tag} to {path}: {len(data)} bytes {digest}")

        return Success(None)

    async def image_load(
        self,
        path: str,
        *,
        progress: Callable[[int], None] | None = None,
    ) -> Result[tuple[ImageTag, ...], WardenError]:
        """
        Load a tar from the world's host files into the store.

        As the real adapters: the plugin's Docker is fed the tar in
        ``_FEEDS`` pieces, one image latency apart, each reported to
        ``progress``; sbx reads the path itself and reports nothing.
        """
        problem = await self._call("image", Context.IMAGE, image=True)
        if problem is not None:
            return Failure(problem)
        data = self.world.files.get(path)
        if data is None:
            stderr = texts.no_such_file(self.world.tool, path)
            return self._fails(Context.IMAGE, stderr)
        if self.world.tool is not Tool.SBX:
            await self._feed(len(data), progress)
        loaded = load_tar(self.world, data)
        if not is_successful(loaded):
            return Failure(loaded.failure())
        tags = tuple(ImageTag.parse(raw).unwrap() for raw in loaded.unwrap())
        self._record(f"load {path}: {', '.join(map(str, tags))}")

        return Success(tags)

    async def _feed(
        self,
        size: int,
        progress: Callable[[int], None] | None,
    ) -> None:
        """Spend the time of feeding ``size`` bytes, reporting each piece."""
        piece = -(-size // _FEEDS)
        for done in range(piece, size + piece, piece):
            await self._clock.sleep(self._latency["image"])
            if progress is not None:
                progress(min(done, size))

    async def _ask(
        self,
        name: SandboxName,
        workdir: Workspace,
        limits: Limits,
        options: Sequence[str],
    ) -> Result[AuthStatus, WardenError]:
        command = ("claude", "auth", "status", *options)
        ran = await self._collect(name, command, workdir, limits)
        if not is_successful(ran):
            return Failure(ran.failure())
        result, stdout, stderr = ran.unwrap()
        code = result.exit_code if result.exit_code is not None else -1
        parsed = parse_auth_status(stdout, stderr, code)
        if is_successful(parsed):
            return parsed
        if parsed.failure().kind is ErrorKind.UNSUPPORTED_OPTION:
            return parsed
        judged = classify(result.exit_code, stdout, stderr, Context.PROBE)
        if not is_successful(judged):
            return Failure(judged.failure())

        return parsed

    async def _collect(
        self,
        name: SandboxName,
        command: Sequence[str],
        workdir: Workspace,
        limits: Limits,
    ) -> Result[tuple[ExecResult, bytes, bytes], WardenError]:
        started = await self.exec(
            name, command, workdir=workdir, limits=limits
        )
        if not is_successful(started):
            return Failure(started.failure())
        run = started.unwrap()
        stdout, stderr = bytearray(), bytearray()
        async for chunk in run.output():
            target = stdout if chunk.stream is Stream.STDOUT else stderr
            target += chunk.data
        ended = await run.wait()
        if not is_successful(ended):
            return Failure(ended.failure())
        result = ended.unwrap()
        if result.stopped is not None:
            return Failure(_stopped_error(result.stopped, command))

        return Success((result, bytes(stdout), bytes(stderr)))

    def _exec_script(
        self,
        sandbox: Sandbox | None,
        name: str,
        workdir: str,
    ) -> Script | None:
        """The tool's own answer when the command cannot start; else None."""
        world = self.world
        if not world.plugin_present:
            return _failing(texts.tool_missing(world.tool))
        if world.daemon_wedged:
            return Script((), None)
        if not world.daemon_up:
            return _failing(texts.daemon_down(world.tool))
        if sandbox is None:
            return _failing(texts.no_such_sandbox(world.tool, name))
        if not sandbox.mounts(workdir):
            # The specification's sneakiest failure: a workdir outside
            # the mounted workspace gives no output at all, only failure.
            return Script((), 1)

        return None

    async def _existing(
        self,
        kind: str,
        name: SandboxName,
        *,
        image: bool = False,
    ) -> Result[Sandbox, WardenError]:
        context = Context.IMAGE if image else Context.TOOL
        problem = await self._call(kind, context, image=image)
        if problem is not None:
            return Failure(problem)
        sandbox = self.world.sandboxes.get(name.value)
        if sandbox is None:
            stderr = texts.no_such_sandbox(self.world.tool, name.value)
            return self._fails(context, stderr)

        return Success(sandbox)

    async def _call(
        self,
        kind: str,
        context: Context,
        *,
        daemon: bool = True,
        image: bool = False,
    ) -> WardenError | None:
        """Spend the call's time; the switches' failure, if one is off."""
        world = self.world
        if world.daemon_wedged and daemon:
            await self._clock.sleep(self._call_timeout)
            error = WardenError.unavailable(
                UnavailableReason.WEDGED,
                f"the sandbox tool did not answer `{kind}` within "
                f"{self._call_timeout:g} s; its daemon looks wedged",
            )
            self._record(f"{kind}: {error}")
            return error
        await self._clock.sleep(self._latency[kind])
        stderr = b""
        if not world.plugin_present:
            stderr = texts.tool_missing(world.tool)
        elif daemon and not world.daemon_up:
            stderr = texts.daemon_down(world.tool)
        elif image and not world.image_store_up:
            stderr = texts.daemon_down(Tool.DOCKER_SANDBOX)
        if not stderr:
            return None
        failed = self._fails(context, stderr)

        return failed.failure()

    def _fails(
        self,
        context: Context,
        stderr: bytes,
        stdout: bytes = b"",
        exit_code: int | None = 1,
    ) -> Failure[WardenError]:
        judged = classify(exit_code, stdout, stderr, context)
        if is_successful(judged):
            # The domain saw nothing wrong in a failing tool's output:
            # keep the evidence rather than invent a kind.
            error = WardenError(
                ErrorKind.UNKNOWN,
                "the sandbox tool failed without a recognised message",
                detail=stderr.decode("utf-8", "replace"),
            )
        else:
            error = judged.failure()
        self._record(
            f"{context} failure: {error.kind}"
            + (f" ({error.reason})" if error.reason else "")
        )

        return Failure(error)

    def _image(self, tag: str) -> Image | None:
        image_id = self.world.tags.get(tag)
        return None if image_id is None else self.world.images.get(image_id)

    def _record(self, what: str) -> None:
        self.world.record(self._clock.monotonic(), "runtime", what)


def _info(sandbox: Sandbox) -> SandboxInfo:
    try:
        status = SandboxStatus(sandbox.status)
    except ValueError:
        status = SandboxStatus.UNKNOWN

    return SandboxInfo(
        sandbox.name,
        sandbox.agent,
        status,
        tuple(sandbox.workspaces),
    )


def _failing(stderr: bytes) -> Script:
    return Script((Step(0.0, Stream.STDERR, stderr),), 1)


def _shown(command: Sequence[str]) -> str:
    """The command for the event log, shortened: argv only, never stdin."""
    text = " ".join(command)
    return text if len(text) <= 120 else text[:117] + "..."


def _stopped_error(stop: Stop, command: Sequence[str]) -> WardenError:
    shown = _shown(command)
    match stop:
        case Stop.HARD_TIMEOUT:
            return WardenError(ErrorKind.TIMEOUT, f"`{shown}` timed out")
        case Stop.STALLED:
            return WardenError(ErrorKind.STALLED, f"`{shown}` went silent")
        case Stop.CANCELLED:
            return WardenError(ErrorKind.CANCELLED, f"`{shown}` was cancelled")
