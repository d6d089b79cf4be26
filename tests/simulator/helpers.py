"""Shared arrangements for the simulator's tests."""

from __future__ import annotations

from collections.abc import Sequence

from sandwarden.domain.deadlines import Limits
from sandwarden.domain.sandbox import ExecResult, SandboxSpec, Stream
from sandwarden.domain.values import SandboxName, Workspace
from sandwarden.simulator.clock import VirtualClock
from sandwarden.simulator.runtime import SimulatedRuntime
from sandwarden.simulator.world import Login, World

NAME = SandboxName("main")
WORKSPACE = Workspace("/srv/app")
DEFAULT_LIMITS = Limits(hard=600.0)
RUN = (
    "claude",
    "-p",
    "--output-format",
    "stream-json",
    "--verbose",
    "--permission-mode",
    "bypassPermissions",
)


def simulation(seed: int = 1) -> tuple[World, VirtualClock, SimulatedRuntime]:
    """A world with one logged-in sandbox over /srv/app."""
    world = World(seed=seed)
    world.host_heads[WORKSPACE.path] = "a" * 40
    clock = VirtualClock()
    runtime = SimulatedRuntime(world, clock)

    async def arrange() -> None:
        (await runtime.create(SandboxSpec(NAME, WORKSPACE))).unwrap()

    clock.run(arrange())
    world.sandboxes[NAME.value].login = Login()

    return world, clock, runtime


async def run(
    runtime: SimulatedRuntime,
    command: Sequence[str] = RUN,
    *,
    limits: Limits = DEFAULT_LIMITS,
    stdin: bytes = b"hello",
) -> tuple[ExecResult, bytes, bytes]:
    """Run a command to its end; its result, stdout and stderr."""
    execution = (
        await runtime.exec(
            NAME, command, workdir=WORKSPACE, limits=limits, stdin=stdin
        )
    ).unwrap()
    out, err = bytearray(), bytearray()
    async for chunk in execution.output():
        (out if chunk.stream is Stream.STDOUT else err).extend(chunk.data)
    result = (await execution.wait()).unwrap()

    return result, bytes(out), bytes(err)
