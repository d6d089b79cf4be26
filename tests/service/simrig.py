"""
The services over the simulator: one arrangement for the service tests.

``Rig`` wires ``Services.build`` over a ``World`` with a virtual clock,
an in-memory store, the simulated host and recording alerts. Nothing
sleeps: ``rig.run(coroutine)`` drives it on virtual time.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Coroutine
from typing import Any, TypeVar

from sandwarden.domain.values import ImageTag, SandboxName, Workspace
from sandwarden.service.config import WardenConfig
from sandwarden.service.deps import Deps
from sandwarden.service.journal import Journal
from sandwarden.service.services import Services
from sandwarden.simulator.alerts import RecordingAlerts
from sandwarden.simulator.clock import EPOCH, VirtualClock
from sandwarden.simulator.host import SimulatedHost
from sandwarden.simulator.runtime import SimulatedRuntime
from sandwarden.simulator.store import InMemoryStateStore
from sandwarden.simulator.world import (
    ClaudeCli,
    Image,
    Login,
    Sandbox,
    World,
)

_T = TypeVar("_T")

PRIMARY = SandboxName("bot")
HEAL = SandboxName("bot-heal")
WORKSPACE = Workspace("/srv/app")
TEMPLATE = ImageTag("bot-auth", "latest")
HEAD = "a" * 40


def add_sandbox(
    world: World,
    name: str,
    *,
    workspace: str = WORKSPACE.path,
    login: Login | None = None,
    head: str | None = HEAD,
) -> Sandbox:
    """Put a running, logged-in sandbox over ``workspace`` in the world."""
    sandbox = Sandbox(
        name,
        [workspace],
        login=Login() if login is None else login,
        heads={workspace: head},
        created_at=EPOCH,
    )
    world.sandboxes[name] = sandbox

    return sandbox


def add_template(world: World, tag: ImageTag = TEMPLATE) -> None:
    """An image of a logged-in sandbox, tagged ``tag``."""
    image_id = world.next_hex(64)
    world.images[image_id] = Image(
        id=image_id,
        agent="claude",
        login=Login(),
        claude=ClaudeCli(),
        source=PRIMARY.value,
        created_at=EPOCH,
    )
    world.tags[str(tag)] = image_id


@dataclasses.dataclass
class Rig:
    """A world, its ports and the services over them."""

    world: World
    clock: VirtualClock
    runtime: SimulatedRuntime
    store: InMemoryStateStore
    alerts: RecordingAlerts
    journal: Journal
    services: Services

    @property
    def deps(self) -> Deps:
        return self.services.deps

    def run(self, main: Coroutine[Any, Any, _T]) -> _T:
        """Drive ``main`` on virtual time."""
        return self.clock.run(main)

    def messages(self, topic: str | None = None) -> list[str]:
        """The journal's messages, of one topic or all."""
        return [
            note.message
            for note in self.journal.notes
            if topic is None or note.topic == topic
        ]

    def twin(self) -> Services:
        """Services of a second process over the same world and store."""
        deps = dataclasses.replace(self.deps, journal=self.journal)
        return Services.build(deps)


def rig(
    *,
    primary: bool = True,
    template: bool = True,
    seed: int = 1,
    **config: Any,
) -> Rig:
    """A world with the primary sandbox (logged in) and the template."""
    world = World(seed=seed)
    world.host_heads[WORKSPACE.path] = HEAD
    if primary:
        add_sandbox(world, PRIMARY.value)
    if template:
        add_template(world)
    clock = VirtualClock()
    runtime = SimulatedRuntime(world, clock)
    store = InMemoryStateStore(clock)
    alerts = RecordingAlerts(world, clock)
    journal = Journal(keep=100_000)
    settings = dataclasses.replace(
        WardenConfig(PRIMARY, WORKSPACE, TEMPLATE if template else None),
        **config,
    )
    deps = Deps(
        runtime=runtime,
        clock=clock,
        store=store,
        host=SimulatedHost(world),
        alerts=alerts,
        journal=journal,
        config=settings,
    )

    return Rig(
        world, clock, runtime, store, alerts, journal, Services.build(deps)
    )
