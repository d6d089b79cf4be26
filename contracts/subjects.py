"""
Runtimes under test, each with the handles that arrange its world.

A ``Subject`` is what every contract test receives: the runtime, a
workspace it may create sandboxes over, a way to run a coroutine (on the
simulator's virtual clock, or on a real loop), and the steps that set the
scene (a logged-in sandbox, the next Claude reply, a dead daemon...).
A step a subject cannot perform raises ``UnarrangeableError``; the suite turns
that into a skip with its reason. Only the real tools may do so.

Each test names its sandboxes and images from ``ContractNames``: under
``contract-<8 hex>-``, unique to the test, so that what one test leaves in
a real tool cannot fail the next, and its teardown finds what to remove.

To run the suite against your own runtime, write a factory
``def make(root: pathlib.Path) -> Subject`` and name it with
``--sandwarden-runtime=package.module:make`` (or the environment variable
``SANDWARDEN_CONTRACT_FACTORY``). A subject with a ``cleanup()`` method
has it called after each test.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from returns.pipeline import is_successful
from returns.result import Failure, Result, Success

from sandwarden.adapters.docker_sandbox import (
    DockerSandboxCli,
    SandboxCli,
    ToolTimeouts,
)
from sandwarden.adapters.process import StopPolicy
from sandwarden.adapters.sbx import SbxCli
from sandwarden.domain.classify import Context
from sandwarden.domain.errors import ErrorKind, UnavailableReason, WardenError
from sandwarden.domain.sandbox import SandboxSpec
from sandwarden.domain.values import ImageTag, SandboxName, Workspace
from sandwarden.ports import SandboxRuntime
from sandwarden.simulator.clock import VirtualClock
from sandwarden.simulator.fakes import FakeTools
from sandwarden.simulator.fakes.sandboxes import kill_processes
from sandwarden.simulator.runtime import SimulatedRuntime
from sandwarden.simulator.world import (
    Behaviour,
    Login,
    LoginMethod,
    Plan,
    Tool,
    World,
)

__all__ = [
    "NAME_PREFIX",
    "ContractNames",
    "FakeSubject",
    "RealSubject",
    "SimulatorSubject",
    "Subject",
    "UnarrangeableError",
    "remove_named",
]

_T = TypeVar("_T")
_log = logging.getLogger("contracts")

#: What every sandbox and image the suite creates is named under.
NAME_PREFIX = "contract-"
#: Seconds the removal of what one test (or a crashed session) left in a
#: real tool may take in all; a microVM takes seconds to remove.
CLEANUP_BUDGET = 120.0
# Deadlines of single calls during the clean-up.
_QUERY = 20.0
_CHANGE = 60.0


@dataclass(frozen=True, slots=True)
class ContractNames:
    """
    The names of one test's sandboxes and images, unique to the test.

    All start with ``prefix`` (``contract-<8 hex>``), which is what the
    teardown removes.
    """

    prefix: str

    @classmethod
    def fresh(cls) -> ContractNames:
        """Names under a prefix no other test uses."""
        return cls(f"{NAME_PREFIX}{uuid.uuid4().hex[:8]}")

    @property
    def main(self) -> str:
        """The sandbox most tests arrange."""
        return f"{self.prefix}-main"

    @property
    def new(self) -> str:
        """A sandbox a test creates through the runtime itself."""
        return f"{self.prefix}-new"

    @property
    def missing(self) -> str:
        """A sandbox nobody creates."""
        return f"{self.prefix}-none"

    def image(self, tag: str = "latest") -> ImageTag:
        """A template the test saves (``<prefix>-auth:<tag>``)."""
        return ImageTag(f"{self.prefix}-auth", tag)

    def absent_image(self) -> ImageTag:
        """A template nobody saves."""
        return ImageTag(f"{self.prefix}-never", "v0")


class UnarrangeableError(Exception):
    """A subject cannot set up this scene; the message says why."""


class Subject(Protocol):
    """
    A runtime under test and the handles that arrange its world.

    ``label`` names it in test ids; ``tool`` is ``docker`` or ``sbx``
    (what `capabilities()` should describe); ``missing_tool_reason`` is
    what ``remove_tool`` makes `version()` fail with. Times given to the
    runtime are virtual seconds for the simulator and real ones
    otherwise; the suite keeps them small.
    """

    label: str
    runtime: SandboxRuntime
    workspace: Workspace
    missing_tool_reason: UnavailableReason
    #: The tool starts its own daemon when it is down (sbx does).
    restarts_daemon: bool
    #: Templates live in Docker Desktop's store, which can be down
    #: while the tool works (the plugin); sbx keeps its own store.
    store_is_desktop: bool

    def run(self, main: Coroutine[Any, Any, _T]) -> _T:
        """Run ``main`` to its end on the subject's loop."""
        ...

    def add_sandbox(self, name: str, *, logged_in: bool = True) -> None:
        """Arrange a running sandbox over ``workspace``."""
        ...

    def queue_reply(self, name: str, behaviour: Behaviour) -> None:
        """Make the next ``claude -p`` in ``name`` behave so."""
        ...

    def use_api_key_fallback(self, name: str) -> None:
        """Let an expired login fall back to an API key."""
        ...

    def set_daemon(self, *, up: bool) -> None:
        """Switch the sandbox daemon."""
        ...

    def set_image_store(self, *, up: bool) -> None:
        """Switch the image store (Docker Desktop's engine)."""
        ...

    def remove_tool(self) -> None:
        """Take away the plugin (docker) or the executable (sbx)."""
        ...

    def alive(self, name: str) -> int:
        """How many commands started in ``name`` still run there."""
        ...

    def export_path(self, file_name: str) -> str:
        """A path an image tar may be written to."""
        ...

    def allowing_api_key(self) -> SandboxRuntime:
        """
        The runtime over the same world, with API-key billing allowed.

        As SANDBOX_ALLOW_API_KEY_AUTH=true makes it: ``exec`` then
        forwards `ANTHROPIC_API_KEY` and its kin instead of refusing.
        """
        ...


class SimulatorSubject:
    """SimulatedRuntime on a fresh world and a virtual clock."""

    missing_tool_reason = UnavailableReason.PLUGIN_MISSING
    # The simulator models both switches for both tools.
    restarts_daemon = False
    store_is_desktop = True

    def __init__(self, root: Path, tool: Tool = Tool.DOCKER_SANDBOX) -> None:
        self.label = f"simulator-{tool}"
        self.world = World(seed=7, tool=tool)
        self.clock = VirtualClock()
        self.simulated = SimulatedRuntime(self.world, self.clock)
        self.runtime: SandboxRuntime = self.simulated
        self.workspace = Workspace(str(root / "workspace"))
        if tool is Tool.SBX:
            self.missing_tool_reason = UnavailableReason.TOOL_MISSING

    def run(self, main: Coroutine[Any, Any, _T]) -> _T:
        return self.clock.run(main)

    def add_sandbox(self, name: str, *, logged_in: bool = True) -> None:
        spec = SandboxSpec(SandboxName(name), self.workspace)
        self.run(self.simulated.create(spec)).unwrap()
        method = LoginMethod.CLAUDE_AI if logged_in else LoginMethod.NONE
        self.world.sandboxes[name].login = Login(method=method)

    def queue_reply(self, name: str, behaviour: Behaviour) -> None:
        self.world.sandboxes[name].plans.append(Plan(behaviour))

    def use_api_key_fallback(self, name: str) -> None:
        login = self.world.sandboxes[name].login
        login.expires_at = self.clock.time() - 1
        login.api_key_fallback = True

    def set_daemon(self, *, up: bool) -> None:
        self.world.daemon_up = up

    def set_image_store(self, *, up: bool) -> None:
        self.world.image_store_up = up

    def remove_tool(self) -> None:
        self.world.plugin_present = False

    def alive(self, name: str) -> int:
        sandbox = self.world.sandboxes.get(name)
        return 0 if sandbox is None else len(sandbox.processes)

    def export_path(self, file_name: str) -> str:
        return str(Path(self.workspace.path).parent / file_name)

    def allowing_api_key(self) -> SandboxRuntime:
        return SimulatedRuntime(self.world, self.clock, allow_api_key=True)


class FakeSubject:
    """A CLI adapter driving D2's fake executable, with real timers."""

    def __init__(self, root: Path, tool: str) -> None:
        self.label = f"{tool}-fake"
        self.tool = tool
        self.restarts_daemon = tool == "sbx"
        self.store_is_desktop = tool == "docker"
        # Scripted delays at 1/100: a reply takes tens of milliseconds.
        self.fakes = FakeTools(root, time_scale=0.01)
        if tool == "sbx":
            with self.fakes.change() as state:
                state.world.tool = Tool.SBX
        workspace = root / "workspace"
        workspace.mkdir(parents=True, exist_ok=True)
        self.workspace = Workspace(str(workspace))
        self._root = root
        self._env = self.fakes.environment()
        self.runtime: SandboxRuntime = self._adapter(allow_api_key=False)
        self.missing_tool_reason = (
            UnavailableReason.PLUGIN_MISSING
            if tool == "docker"
            else UnavailableReason.TOOL_MISSING
        )

    def run(self, main: Coroutine[Any, Any, _T]) -> _T:
        return asyncio.run(main)

    def add_sandbox(self, name: str, *, logged_in: bool = True) -> None:
        self.fakes.add_sandbox(name, self.workspace.path, logged_in=logged_in)
        if self.tool == "sbx" and logged_in:
            self.fakes.add_secret("anthropic", "oauth")

    def queue_reply(self, name: str, behaviour: Behaviour) -> None:
        self.fakes.queue_reply(name, Plan(behaviour))

    def use_api_key_fallback(self, name: str) -> None:
        if self.tool == "sbx":
            self.fakes.add_secret("anthropic", "api_key")
        self.fakes.expire_login(name)
        self.fakes.use_api_key(name, fallback=True)

    def set_daemon(self, *, up: bool) -> None:
        self.fakes.set_daemon(up=up)

    def set_image_store(self, *, up: bool) -> None:
        self.fakes.set_image_store(up=up)

    def remove_tool(self) -> None:
        if self.tool == "docker":
            self.fakes.set_plugin(present=False)
        else:
            (self.fakes.bin_dir / "sbx").unlink()

    def alive(self, name: str) -> int:
        return len(self.fakes.alive(name))

    def export_path(self, file_name: str) -> str:
        return str(self._root / file_name)

    def allowing_api_key(self) -> SandboxRuntime:
        return self._adapter(allow_api_key=True)

    def cleanup(self) -> None:
        """
        End what still runs in the fake sandboxes.

        The world itself lives under the test's temporary directory; the
        processes a failed test left "inside" would outlive it.
        """
        with self.fakes.change() as state:
            for sandbox in state.world.sandboxes.values():
                kill_processes(sandbox)

    def _adapter(self, *, allow_api_key: bool) -> SandboxRuntime:
        adapter = DockerSandboxCli if self.tool == "docker" else SbxCli
        return adapter(
            env=self._env,
            policy=StopPolicy(grace=0.3, cleanup_timeout=5.0),
            timeouts=ToolTimeouts(query=10.0, change=20.0, image=30.0),
            allow_api_key=allow_api_key,
        )


class RealSubject:
    """
    A CLI adapter on the real tool, opted in by SANDWARDEN_CONTRACT_REAL.

    Scenes that need control of the machine (stopping Docker Desktop,
    scripting Claude) cannot be arranged and skip with their reason.
    The workspace is SANDWARDEN_CONTRACT_WORKSPACE or a temporary one.
    Everything is named under ``prefix``; ``cleanup()`` removes what
    carries it.
    """

    def __init__(self, root: Path, tool: str, prefix: str) -> None:
        self.label = f"{tool}-real"
        self.tool = tool
        self.prefix = prefix
        self.restarts_daemon = tool == "sbx"
        self.store_is_desktop = tool == "docker"
        raw = os.environ.get("SANDWARDEN_CONTRACT_WORKSPACE")
        workspace = Path(raw) if raw else root / "workspace"
        workspace.mkdir(parents=True, exist_ok=True)
        self.workspace = Workspace(str(workspace.resolve()))
        self._adapter: type[DockerSandboxCli | SbxCli] = (
            DockerSandboxCli if tool == "docker" else SbxCli
        )
        self.cli: SandboxCli = self._adapter()
        self.runtime: SandboxRuntime = self.cli
        self.missing_tool_reason = (
            UnavailableReason.PLUGIN_MISSING
            if tool == "docker"
            else UnavailableReason.TOOL_MISSING
        )
        self._root = root

    def run(self, main: Coroutine[Any, Any, _T]) -> _T:
        return asyncio.run(main)

    def add_sandbox(self, name: str, *, logged_in: bool = True) -> None:
        if logged_in:
            raise UnarrangeableError(
                "a real sandbox cannot be logged in without a human "
                "running /login in it",
            )
        spec = SandboxSpec(SandboxName(name), self.workspace)
        created = self.run(self.runtime.create(spec))
        if not is_successful(created):
            msg = f"the real {self.tool} did not create {name}: "
            raise AssertionError(msg + str(created.failure()))

    def queue_reply(self, name: str, behaviour: Behaviour) -> None:
        raise UnarrangeableError(
            f"the real Claude cannot be scripted to {behaviour}"
        )

    def use_api_key_fallback(self, name: str) -> None:
        raise UnarrangeableError("the real login cannot be made to expire")

    def set_daemon(self, *, up: bool) -> None:
        raise UnarrangeableError("the suite does not stop the real daemon")

    def set_image_store(self, *, up: bool) -> None:
        raise UnarrangeableError("the suite does not stop Docker Desktop")

    def remove_tool(self) -> None:
        raise UnarrangeableError("the suite does not uninstall the real tool")

    def alive(self, name: str) -> int:
        raise UnarrangeableError(
            "the suite cannot list processes in a real VM"
        )

    def export_path(self, file_name: str) -> str:
        return str(self._root / file_name)

    def allowing_api_key(self) -> SandboxRuntime:
        return self._adapter(allow_api_key=True)

    def cleanup(self) -> None:
        """Remove this test's sandboxes and images; log what fails."""
        self.run(remove_named(self.cli, self.prefix))


async def remove_named(
    cli: SandboxCli,
    prefix: str,
    budget: float = CLEANUP_BUDGET,
) -> list[str]:
    """
    Remove every sandbox and template whose name starts with ``prefix``.

    Bounded by ``budget`` seconds in all. Nothing is raised: what could
    not be removed is logged, and returned as one line per problem.
    """
    problems: list[str] = []
    try:
        await asyncio.wait_for(_remove_all(cli, prefix, problems), budget)
    except TimeoutError:
        problems.append(f"the clean-up took longer than {budget:g} s")
    for problem in problems:
        _log.warning("contract clean-up under %s: %s", prefix, problem)

    return problems


async def _remove_all(
    cli: SandboxCli,
    prefix: str,
    problems: list[str],
) -> None:
    listed = await cli.list()
    if not is_successful(listed):
        problems.append(f"could not list sandboxes: {listed.failure()}")
    else:
        for info in listed.unwrap():
            if not info.name.startswith(prefix):
                continue
            removed = await cli.remove(SandboxName(info.name))
            if not is_successful(removed):
                problems.append(f"{info.name}: {removed.failure()}")
    tags = await _image_tags(cli)
    if not is_successful(tags):
        problems.append(f"could not list images: {tags.failure()}")
        return
    for tag in tags.unwrap():
        if tag.removeprefix("docker.io/library/").startswith(prefix):
            dropped = await _remove_image(cli, tag)
            if not is_successful(dropped):
                problems.append(f"image {tag}: {dropped.failure()}")


async def _image_tags(cli: SandboxCli) -> Result[list[str], WardenError]:
    if isinstance(cli, SbxCli):
        return (await cli.templates()).map(
            lambda tags: [str(tag) for tag in tags]
        )
    listed = await cli.call(
        ("image", "ls", "--format", "{{.Repository}}:{{.Tag}}"),
        Context.IMAGE,
        _QUERY,
        host=True,
    )

    return listed.map(
        lambda out: [
            line.strip()
            for line in out.stdout.decode(errors="replace").splitlines()
            if line.strip() and not line.strip().endswith(":<none>")
        ],
    )


async def _remove_image(
    cli: SandboxCli, tag: str
) -> Result[None, WardenError]:
    if not isinstance(cli, SbxCli):
        return (
            await cli.call(
                ("image", "rm", "-f", tag), Context.IMAGE, _CHANGE, host=True
            )
        ).map(lambda _: None)
    # Older sbx has no `-f` on `template rm`.
    dropped = await cli.call(
        ("template", "rm", "-f", tag), Context.IMAGE, _CHANGE
    )
    if not is_successful(dropped) and (
        dropped.failure().kind is ErrorKind.UNSUPPORTED_OPTION
    ):
        dropped = await cli.call(
            ("template", "rm", tag), Context.IMAGE, _CHANGE
        )
    if not is_successful(dropped):
        return Failure(dropped.failure())

    return Success(None)
