"""
The simulator: a deterministic world behind the same ports as the real one.

``World`` (plain data), ``VirtualClock`` (virtual asyncio time),
``SimulatedRuntime``, ``InMemoryStateStore``, ``SimulatedHost`` and
``RecordingAlerts`` (the ports), faults on a schedule, and scripted
Claude replies. Same seed, same event log.

The names are imported on first use, so that a fake tool, which needs
the world but not the asyncio runtime, starts quickly.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sandwarden.simulator.alerts import RecordingAlerts
    from sandwarden.simulator.clock import (
        EPOCH,
        VirtualClock,
        VirtualDeadlockError,
    )
    from sandwarden.simulator.faults import (
        Fault,
        ScheduledFault,
        apply_fault,
        run_schedule,
    )
    from sandwarden.simulator.host import SimulatedHost
    from sandwarden.simulator.runtime import SimulatedRuntime
    from sandwarden.simulator.store import InMemoryStateStore
    from sandwarden.simulator.world import Behaviour, Plan, World

__all__ = [
    "EPOCH",
    "Behaviour",
    "Fault",
    "InMemoryStateStore",
    "Plan",
    "RecordingAlerts",
    "ScheduledFault",
    "SimulatedHost",
    "SimulatedRuntime",
    "VirtualClock",
    "VirtualDeadlockError",
    "World",
    "apply_fault",
    "run_schedule",
]

# Each public name and the module that defines it.
_HOMES = {
    "EPOCH": "clock",
    "Behaviour": "world",
    "Fault": "faults",
    "InMemoryStateStore": "store",
    "Plan": "world",
    "RecordingAlerts": "alerts",
    "ScheduledFault": "faults",
    "SimulatedHost": "host",
    "SimulatedRuntime": "runtime",
    "VirtualClock": "clock",
    "VirtualDeadlockError": "clock",
    "World": "world",
    "apply_fault": "faults",
    "run_schedule": "faults",
}


def __getattr__(name: str) -> object:
    """Import a public name on first use, then keep it in the module."""
    module = _HOMES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value

    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
