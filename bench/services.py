"""
A virtual day of the warden's services, timed on the real clock.

The watchdog checks every 5 minutes, a turn is asked every minute (in a
few conversations), and every hour a fault breaks the active sandbox
(a login expires, the sandbox disappears, the daemon stops for a few
minutes, the host's HEAD moves...). The day runs on virtual time through
the real services and the simulator. Target: under two seconds.

Run: ``.venv/bin/python bench/services.py``; the last line is JSON.
"""

from __future__ import annotations

import json
import time

from sandwarden.domain.values import SandboxName, Workspace
from sandwarden.scenario.runner import run_scenario
from sandwarden.scenario.spec import (
    AskSpec,
    FaultSpec,
    SandboxSpecEntry,
    Scenario,
    WardenSpec,
    WorldSpec,
)
from sandwarden.simulator.faults import Fault

DAY = 24 * 3600
WORKSPACE = Workspace("/srv/bot")
TARGET_SECONDS = 2.0


def faults() -> tuple[FaultSpec, ...]:
    """One fault an hour, cycling through what breaks a warden's day."""
    plan: list[FaultSpec] = []
    for hour in range(1, 24):
        at = hour * 3600.0 + 30.0
        # The first fault sends the warden to the heal sandbox, which
        # later heals recreate under the same name: aim there.
        active = "sandwarden" if hour == 1 else "sandwarden-heal"
        match hour % 6:
            case 0:
                plan.append(FaultSpec(at, Fault.LOGIN_EXPIRED, active))
            case 1:
                plan.append(FaultSpec(at, Fault.SANDBOX_REMOVED, active))
            case 2:
                plan.append(FaultSpec(at, Fault.DAEMON_DOWN))
                plan.append(FaultSpec(at + 600.0, Fault.DAEMON_UP))
            case 3:
                plan.append(FaultSpec(at, Fault.HOST_HEAD_CHANGED, "/srv/bot"))
            case 4:
                plan.append(FaultSpec(at, Fault.IMAGE_STORE_DOWN))
                plan.append(FaultSpec(at + 1800.0, Fault.IMAGE_STORE_UP))
            case _:
                plan.append(FaultSpec(at, Fault.LOGGED_OUT, active))

    return tuple(plan)


def day() -> Scenario:
    """The benchmark's scenario: a day of asks, watchdog and faults."""
    asks = tuple(
        AskSpec(
            at=minute * 60.0,
            prompt=f"turn {minute}",
            conversation=f"chat-{minute % 5}",
        )
        for minute in range(1, DAY // 60)
    )
    return Scenario(
        name="bench-day",
        summary="",
        duration=float(DAY),
        world=WorldSpec(
            workspace=WORKSPACE,
            sandboxes=(
                SandboxSpecEntry(SandboxName("sandwarden"), WORKSPACE),
            ),
        ),
        warden=WardenSpec(parity=True),
        faults=faults(),
        asks=asks,
    )


def main() -> None:
    scenario = day()

    started = time.perf_counter()
    outcome = run_scenario(scenario)
    elapsed = time.perf_counter() - started

    summary = outcome.summary
    asks = summary["asks"]
    assert isinstance(asks, dict)
    failed = asks["failed"]
    assert isinstance(failed, dict)
    asked = int(asks["answered"]) + sum(int(n) for n in failed.values())
    heals = len(outcome.heals)
    figures = {
        "virtual_seconds": DAY,
        "wall_seconds": round(elapsed, 3),
        "target_seconds": TARGET_SECONDS,
        "within_target": elapsed < TARGET_SECONDS,
        "asks": asked,
        "asks_answered": asks["answered"],
        "asks_failed": failed,
        "heals": heals,
        "heals_succeeded": sum(1 for h in outcome.heals if h.succeeded),
        "timeline_entries": len(outcome.timeline),
        "asks_per_second": round(asked / elapsed, 1),
        "heals_per_second": round(heals / elapsed, 1),
    }
    print(
        f"a virtual day: {asked} asks, {heals} heals, "
        f"{len(outcome.timeline)} timeline entries in {elapsed:.3f} s",
    )
    print(json.dumps(figures, sort_keys=True))


if __name__ == "__main__":
    main()
