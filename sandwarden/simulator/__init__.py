"""
The simulator: a deterministic world behind the same ports as the real one.

``World`` (plain data), ``VirtualClock`` (virtual asyncio time),
``SimulatedRuntime``, ``InMemoryStateStore``, ``SimulatedHost`` and
``RecordingAlerts`` (the ports), faults on a schedule, and scripted
Claude replies. Same seed, same event log.
"""

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
