"""
Running a scenario: the real services against the simulated world.

The runner builds the world a scenario describes, wires the same
services the warden uses in production over the simulator's ports, and
runs, on virtual time, the watchdog, the fault schedule and the asks for
the scenario's duration. Everything the warden observed and decided
lands in a timeline; the same scenario and seed give the same timeline,
byte for byte.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from returns.pipeline import is_successful

from sandwarden.domain.breaker import BreakerPolicy, BreakerState
from sandwarden.domain.deadlines import Limits
from sandwarden.domain.errors import WardenError
from sandwarden.domain.healing import HealRecord
from sandwarden.domain.values import ImageTag
from sandwarden.ports import Alert
from sandwarden.scenario.spec import AskSpec, FaultSpec, Scenario
from sandwarden.service.config import WardenConfig
from sandwarden.service.deps import Deps
from sandwarden.service.journal import Journal, Note, Topic, Value
from sandwarden.service.services import Services
from sandwarden.simulator.alerts import RecordingAlerts
from sandwarden.simulator.clock import EPOCH, VirtualClock
from sandwarden.simulator.faults import ScheduledFault, apply_fault
from sandwarden.simulator.host import SimulatedHost
from sandwarden.simulator.runtime import SimulatedRuntime
from sandwarden.simulator.store import InMemoryStateStore
from sandwarden.simulator.world import (
    ClaudeCli,
    Image,
    Login,
    LoginMethod,
    Plan,
    Sandbox,
    World,
)

__all__ = ["TEMPLATE", "Entry", "Outcome", "run_scenario"]

#: The template every scenario's image store holds when ``template`` is on.
TEMPLATE = ImageTag("sandwarden-auth", "latest")

# The longest text of an answer the timeline shows.
_EXCERPT = 72


@dataclass(frozen=True, slots=True)
class Entry:
    """One line of the timeline: virtual seconds since the start."""

    at: float
    topic: str
    message: str
    data: dict[str, Value] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Outcome:
    """
    What a scenario run saw and how the world ended.

    ``world``, ``heals`` and ``alerts`` are the end state itself, for
    tests and embedders that check more than the printed summary.
    """

    scenario: Scenario
    seed: int
    timeline: tuple[Entry, ...]
    summary: dict[str, object]
    world: World | None = field(default=None, compare=False)
    heals: tuple[HealRecord, ...] = ()
    alerts: tuple[Alert, ...] = ()


def run_scenario(scenario: Scenario, seed: int | None = None) -> Outcome:
    """Run ``scenario`` on virtual time; ``seed`` overrides its own."""
    seed = scenario.seed if seed is None else seed
    clock = VirtualClock()
    world = build_world(scenario, seed)
    runtime = SimulatedRuntime(world, clock)
    entries: list[Entry] = []
    journal = Journal()
    journal.subscribers.append(_collector(entries))
    store = InMemoryStateStore(clock)
    alerts = RecordingAlerts(world, clock)
    deps = Deps(
        runtime=runtime,
        clock=clock,
        store=store,
        host=SimulatedHost(world),
        alerts=alerts,
        journal=journal,
        config=_config(scenario),
    )
    services = Services.build(deps)
    rehearsal = _Rehearsal(scenario, services, runtime, world, entries)

    clock.run(rehearsal.run())
    summary = clock.run(rehearsal.summary())
    heals = clock.run(store.heal_history(10_000)).value_or(())

    return Outcome(
        scenario=scenario,
        seed=seed,
        timeline=tuple(entries),
        summary=summary,
        world=world,
        heals=heals,
        alerts=tuple(alerts.alerts),
    )


def build_world(scenario: Scenario, seed: int) -> World:
    """The world at the scenario's start."""
    spec = scenario.world
    world = World(
        seed=seed,
        tool=spec.tool,
        plugin_present=spec.plugin,
        daemon_up=spec.daemon,
        image_store_up=spec.image_store,
    )
    host_head = spec.host_head or world.next_hex()
    world.host_heads[spec.workspace.path] = host_head
    if spec.template:
        image_id = world.next_hex(64)
        world.images[image_id] = Image(
            id=image_id,
            agent="claude",
            login=Login(),
            claude=ClaudeCli(),
            source=str(scenario.warden.sandbox),
            created_at=EPOCH,
        )
        world.tags[str(TEMPLATE)] = image_id
    for entry in spec.sandboxes:
        expires = (
            None
            if entry.expires_after is None
            else EPOCH + entry.expires_after
        )
        workspace = entry.workspace.path
        world.sandboxes[entry.name.value] = Sandbox(
            name=entry.name.value,
            workspaces=[workspace],
            status=entry.status,
            login=Login(
                method=entry.login,
                expires_at=expires,
                api_key_fallback=entry.api_key_fallback,
            ),
            claude=ClaudeCli(auth_json=entry.auth_json),
            heads={
                workspace: entry.head
                or world.host_heads.get(workspace, host_head),
            },
            created_at=EPOCH,
        )

    return world


def _config(scenario: Scenario) -> WardenConfig:
    warden = scenario.warden

    return WardenConfig(
        sandbox=warden.sandbox,
        workspace=scenario.world.workspace,
        template=TEMPLATE,
        prompt_limits=Limits(warden.prompt_timeout, warden.inactivity_timeout),
        resume_limits=Limits(warden.prompt_timeout, warden.inactivity_timeout),
        allow_api_key=warden.allow_api_key,
        self_heal=warden.self_heal,
        breaker=BreakerPolicy(warden.max_heals, warden.heal_window),
        watchdog_interval=warden.watchdog_interval,
        probe_cache=warden.probe_cache,
        check_parity=warden.parity,
    )


def _collector(entries: list[Entry]) -> Callable[[Note], None]:
    def collect(note: Note) -> None:
        entries.append(
            Entry(
                note.at - EPOCH, str(note.topic), note.message, dict(note.data)
            ),
        )

    return collect


class _Rehearsal:
    """The concurrent parts of one run: watchdog, faults, asks."""

    def __init__(
        self,
        scenario: Scenario,
        services: Services,
        runtime: SimulatedRuntime,
        world: World,
        entries: list[Entry],
    ) -> None:
        self._scenario = scenario
        self._services = services
        self._runtime = runtime
        self._world = world
        self._entries = entries
        self._answered = 0
        self._failed: dict[str, int] = {}

    async def run(self) -> None:
        scenario = self._scenario
        stop = asyncio.Event()
        tasks: list[asyncio.Task[object]] = [
            asyncio.create_task(self._faults()),
            asyncio.create_task(self._asks()),
        ]
        if scenario.warden.watchdog:
            tasks.append(
                asyncio.create_task(
                    self._services.watchdog.run(stop=stop),
                ),
            )

        await self._clock.sleep(scenario.duration)
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    @property
    def _clock(self) -> VirtualClock:
        clock = self._services.deps.clock
        assert isinstance(clock, VirtualClock)
        return clock

    def _write(self, topic: Topic, message: str, **data: Value) -> None:
        # Stamped like the journal's notes, so the two sort together.
        at = self._clock.time() - EPOCH
        self._entries.append(Entry(at, str(topic), message, dict(data)))

    async def _faults(self) -> None:
        for spec in sorted(self._scenario.faults, key=lambda f: f.at):
            await self._clock.sleep(spec.at - self._clock.monotonic())
            self._apply(spec)

    def _apply(self, spec: FaultSpec) -> None:
        clock = self._clock
        applied = apply_fault(
            self._world,
            ScheduledFault(spec.at, spec.fault, spec.target, spec.value),
            now=clock.monotonic(),
            wall=clock.time(),
        )
        target = f" {spec.target}" if spec.target else ""
        value = f" → {spec.value}" if spec.value else ""
        if is_successful(applied):
            self._write(Topic.FAULT, f"{spec.fault}{target}{value}")
        else:
            self._write(
                Topic.FAULT,
                f"{spec.fault}{target} refused: {applied.failure().message}",
            )
        self._runtime.notice_world_change()

    async def _asks(self) -> None:
        for number, spec in enumerate(
            sorted(self._scenario.asks, key=lambda a: a.at),
            start=1,
        ):
            await self._clock.sleep(spec.at - self._clock.monotonic())
            await self._ask(number, spec)

    async def _ask(self, number: int, spec: AskSpec) -> None:
        services = self._services
        active = await services.healer.active()
        sandbox = self._world.sandboxes.get(active.value)
        if sandbox is not None:
            sandbox.plans.append(Plan(spec.behaviour))
        where = "" if spec.conversation is None else f" in {spec.conversation}"
        self._write(
            Topic.ASK,
            f"ask #{number}{where}: {_excerpt(spec.prompt)!r}"
            f" ({spec.behaviour})",
        )

        started = self._clock.monotonic()
        result = await services.asker.ask(
            spec.prompt,
            conversation=spec.conversation,
        )
        took = self._clock.monotonic() - started

        if is_successful(result):
            reply = result.unwrap()
            self._answered += 1
            self._write(
                Topic.ASK,
                f"ask #{number} answered after {took:.0f} s: "
                f"{_excerpt(reply.text)!r}",
                session=reply.session_id,
            )
        else:
            error = result.failure()
            self._failed[str(error.kind)] = (
                self._failed.get(str(error.kind), 0) + 1
            )
            self._write(
                Topic.ASK,
                f"ask #{number} failed after {took:.0f} s: {_said(error)}",
                kind=str(error.kind),
            )

    async def summary(self) -> dict[str, object]:
        deps = self._services.deps
        store = deps.store
        active = await self._services.healer.active()
        heals = (await store.heal_history(1000)).value_or(())
        breaker = (await store.breaker()).value_or(BreakerState())
        decision = deps.config.breaker.peek(breaker, deps.clock.time())
        alerts = [e for e in self._entries if e.topic == str(Topic.ALERT)]

        return {
            "asks": {
                "answered": self._answered,
                "failed": dict(sorted(self._failed.items())),
            },
            # A heal that flapped succeeded at first, but the breaker
            # counted it as failed: it is not among those that held.
            "heals": {
                "total": len(heals),
                "succeeded": sum(1 for heal in heals if heal.held),
                "flapped": sum(1 for heal in heals if heal.flapped),
            },
            "alerts": len(alerts),
            "breaker": str(decision.verdict),
            "active_sandbox": str(active),
            "sandboxes": {
                name: self._describe(sandbox)
                for name, sandbox in sorted(self._world.sandboxes.items())
            },
        }

    def _describe(self, sandbox: Sandbox) -> str:
        state = sandbox.login.state_at(self._clock.time())
        method = sandbox.login.method
        login = "logged out" if method is LoginMethod.NONE else str(state)

        return f"{sandbox.status}, {login}, {', '.join(sandbox.workspaces)}"


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    if len(flat) <= _EXCERPT:
        return flat

    return flat[: _EXCERPT - 1] + "…"


def _said(error: WardenError) -> str:
    return f"{error.kind}: {error.message}"
