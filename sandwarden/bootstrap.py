"""
The composition root: settings in, a wired ``Warden`` out.

This is the one place that picks adapters: the `docker sandbox` plugin,
`sbx`, or the simulator (``runtime=sim``, an in-memory rehearsal), the
SQLite store, the host, the system clock and the alerts. Passing
``runtime=`` (or any other port) swaps that piece and nothing else.
"""

from __future__ import annotations

from returns.pipeline import is_successful
from returns.result import Failure, Result, Success

from sandwarden.adapters.alerts import LoggingAlerts
from sandwarden.adapters.clock import SystemClock
from sandwarden.adapters.docker_sandbox import (
    DockerSandboxCli,
    SandboxCli,
    ToolTimeouts,
)
from sandwarden.adapters.host import LocalHost
from sandwarden.adapters.process import StopPolicy
from sandwarden.adapters.sbx import SbxCli
from sandwarden.adapters.sqlite_store import SqliteStateStore
from sandwarden.domain.breaker import BreakerPolicy
from sandwarden.domain.errors import WardenError
from sandwarden.ports import Alerts, Clock, Host, SandboxRuntime, StateStore
from sandwarden.service.config import WardenConfig
from sandwarden.service.deps import Deps
from sandwarden.service.journal import Journal
from sandwarden.service.services import Services
from sandwarden.settings import Runtime, Settings
from sandwarden.simulator.clock import EPOCH
from sandwarden.simulator.host import SimulatedHost
from sandwarden.simulator.runtime import SimulatedRuntime
from sandwarden.simulator.store import InMemoryStateStore
from sandwarden.simulator.world import ClaudeCli, Image, Login, Sandbox, World
from sandwarden.warden import Warden

__all__ = ["bootstrap", "tool_timeouts", "warden_config"]


def bootstrap(
    settings: Settings,
    *,
    runtime: SandboxRuntime | None = None,
    store: StateStore | None = None,
    host: Host | None = None,
    clock: Clock | None = None,
    alerts: Alerts | None = None,
    journal: Journal | None = None,
) -> Result[Warden, WardenError]:
    """
    Build a ``Warden`` from ``settings``; any port given replaces the default.

    Fails when the settings cannot be turned into a working warden (an
    unusable breaker policy, a state file that cannot be opened).
    """
    config = warden_config(settings)
    if not is_successful(config):
        return Failure(config.failure())
    clock = clock or SystemClock()
    closers = []

    if settings.runtime is Runtime.SIM and runtime is None:
        world = rehearsal_world(settings)
        runtime = SimulatedRuntime(
            world, clock, allow_api_key=settings.allow_api_key_auth
        )
        host = host or SimulatedHost(world)
        store = store or InMemoryStateStore(clock)
    runtime = runtime or _real_runtime(settings)
    if isinstance(runtime, SandboxCli):
        # Refuse a name the tool forbids before anything runs: otherwise
        # every probe fails, and a heal adopts or creates another sandbox.
        for name in (settings.sandbox, settings.sandbox.heal()):
            allowed = runtime.check_name(name)
            if not is_successful(allowed):
                return Failure(allowed.failure())
    host = host or LocalHost()
    if store is None:
        opened = SqliteStateStore.open(
            settings.state_file,
            history_keep=settings.heal_history_keep,
        )
        if not is_successful(opened):
            return Failure(opened.failure())
        sqlite = opened.unwrap()
        closers.append(sqlite.close)
        store = sqlite

    deps = Deps(
        runtime=runtime,
        clock=clock,
        store=store,
        host=host,
        alerts=alerts or LoggingAlerts(),
        journal=journal or Journal(),
        config=config.unwrap(),
    )

    return Success(Warden(Services.build(deps), closers=tuple(closers)))


def warden_config(settings: Settings) -> Result[WardenConfig, WardenError]:
    """The services' configuration that ``settings`` describe."""
    policy = BreakerPolicy.parse(
        max_failures=settings.self_heal_max_attempts,
        window=settings.self_heal_window,
        # A trial that outlives the heal lock was abandoned by its process.
        trial_timeout=settings.heal_lock_ttl,
    )
    if not is_successful(policy):
        return Failure(policy.failure())

    return Success(
        WardenConfig(
            sandbox=settings.sandbox,
            workspace=settings.workspace,
            template=settings.template,
            probe_limits=settings.probe_limits(),
            prompt_limits=settings.prompt_limits(),
            resume_limits=settings.resume_limits(),
            allow_api_key=settings.allow_api_key_auth,
            self_heal=settings.self_heal,
            breaker=policy.unwrap(),
            watchdog_enabled=settings.watchdog_enabled,
            watchdog_interval=settings.watchdog_interval,
            probe_cache=settings.probe_cache,
            check_parity=settings.parity,
            model=settings.model,
            system_prompt=settings.system_prompt,
            lock_ttl=settings.heal_lock_ttl,
            backup_dir=settings.backup_dir,
            backup_keep=settings.backup_keep,
        ),
    )


def rehearsal_world(settings: Settings) -> World:
    """
    A small simulated machine for ``runtime=sim``.

    It holds the configured sandbox, logged in over the configured
    workspace, and an authenticated template, so every command can be
    tried without Docker. It lives as long as the process.
    """
    world = World(seed=1)
    workspace = settings.workspace.path
    head = world.next_hex()
    world.host_heads[workspace] = head
    image_id = world.next_hex(64)
    world.images[image_id] = Image(
        id=image_id,
        agent="claude",
        login=Login(),
        claude=ClaudeCli(),
        source=settings.sandbox.value,
        created_at=EPOCH,
    )
    world.tags[str(settings.template)] = image_id
    world.sandboxes[settings.sandbox.value] = Sandbox(
        name=settings.sandbox.value,
        workspaces=[workspace],
        heads={workspace: head},
        template=str(settings.template),
    )

    return world


def tool_timeouts(settings: Settings) -> ToolTimeouts:
    """
    The deadlines of the tool calls that ``settings`` describe.

    SANDWARDEN_TOOL_TIMEOUT_MS is sized for `create` (a first create may
    pull a base image), so it bounds the calls that change a sandbox. A
    question (`ls`, `version`, `info`, `image inspect`, `secret ls`)
    keeps the adapter's own short deadline, never longer than the probe
    timeout nor the tool timeout: a wedged daemon must fail a probe as
    ``wedged`` in seconds, so that a heal starts, not after minutes.
    """
    query = min(
        ToolTimeouts().query, settings.probe_timeout, settings.tool_timeout
    )

    return ToolTimeouts(
        query=query,
        change=settings.tool_timeout,
        probe=settings.probe_timeout,
    )


def _real_runtime(settings: Settings) -> SandboxRuntime:
    timeouts = tool_timeouts(settings)
    policy = StopPolicy(grace=settings.grace)
    allow = settings.allow_api_key_auth
    if settings.runtime is Runtime.SBX:
        return SbxCli(
            tool=settings.sbx,
            timeouts=timeouts,
            policy=policy,
            allow_api_key=allow,
        )

    return DockerSandboxCli(
        tool=settings.docker,
        timeouts=timeouts,
        policy=policy,
        allow_api_key=allow,
    )
