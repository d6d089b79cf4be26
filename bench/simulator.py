"""
A simulated day: a probe every 5 minutes and a fault every hour.

Run with ``python bench/simulator.py``. The figures are the wall time of
the whole day and the events handled per second of wall time; the last
line of output is one JSON object with them.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sandwarden.domain.deadlines import Limits
from sandwarden.domain.sandbox import SandboxSpec
from sandwarden.domain.values import SandboxName, Workspace
from sandwarden.simulator.clock import VirtualClock
from sandwarden.simulator.faults import Fault, ScheduledFault, run_schedule
from sandwarden.simulator.runtime import SimulatedRuntime
from sandwarden.simulator.world import Login, World

_DAY = 86_400.0
_PROBE_EVERY = 300.0
# Faults cycle through breaking and mending, one an hour.
_CYCLE = (
    Fault.DAEMON_DOWN,
    Fault.DAEMON_UP,
    Fault.LOGIN_EXPIRED,
    Fault.LOGIN_RENEWED,
    Fault.IMAGE_STORE_DOWN,
    Fault.IMAGE_STORE_UP,
)


def simulate_day(seed: int) -> tuple[World, int]:
    """Run the day; return the world and the number of probes."""
    world = World(seed=seed)
    clock = VirtualClock()
    runtime = SimulatedRuntime(world, clock)
    name, workspace = SandboxName("main"), Workspace("/srv/app")
    schedule = [
        ScheduledFault(hour * 3600.0 + 60, _CYCLE[hour % len(_CYCLE)], "main")
        for hour in range(24)
    ]
    command = (
        "claude",
        "-p",
        "--output-format",
        "stream-json",
        "--verbose",
        "--permission-mode",
        "bypassPermissions",
    )
    probes = 0

    async def watch() -> None:
        nonlocal probes
        while clock.monotonic() < _DAY:
            await runtime.auth_status(name, workspace, Limits(30))
            run = await runtime.exec(
                name,
                command,
                workdir=workspace,
                limits=Limits(120),
                stdin=b"ping",
            )
            execution = run.unwrap()
            async for _ in execution.output():
                pass
            await execution.wait()
            probes += 1
            await clock.sleep(_PROBE_EVERY)

    async def main() -> None:
        (await runtime.create(SandboxSpec(name, workspace))).unwrap()
        world.sandboxes["main"].login = Login()
        await asyncio.gather(
            watch(),
            run_schedule(
                world, clock, schedule, [runtime.notice_world_change]
            ),
        )

    clock.run(main())

    return world, probes


def main() -> None:
    """Time the day and print the figures."""
    started = time.perf_counter()
    world, probes = simulate_day(seed=1)
    elapsed = time.perf_counter() - started
    events = len(world.events)
    figures = {
        "virtual_seconds": _DAY,
        "wall_seconds": round(elapsed, 4),
        "probes": probes,
        "events": events,
        "events_per_second": round(events / elapsed),
        "under_one_second": elapsed < 1.0,
    }
    print(f"simulated a day: {probes} probes, {events} events")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
