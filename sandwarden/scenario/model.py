"""
A scenario's values: the world, the warden's settings, faults and asks.

A scenario is a simulated world, a fault schedule, asks and a duration;
``spec`` reads one from a TOML file.

Durations are seconds; ``parse_duration`` also reads text such as
``90s``, ``15m``, ``2h`` or ``1h30m``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from returns.result import Failure, Result, Success

from sandwarden.domain.errors import WardenError
from sandwarden.domain.values import SandboxName, Workspace
from sandwarden.simulator.faults import Fault
from sandwarden.simulator.world import Behaviour, LoginMethod, Tool

__all__ = [
    "AskSpec",
    "FaultSpec",
    "SandboxSpecEntry",
    "Scenario",
    "WardenSpec",
    "WorldSpec",
    "parse_duration",
]

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")


@dataclass(frozen=True, slots=True)
class SandboxSpecEntry:
    """A sandbox that exists when the scenario starts."""

    name: SandboxName
    workspace: Workspace
    login: LoginMethod = LoginMethod.CLAUDE_AI
    expires_after: float | None = None
    api_key_fallback: bool = False
    auth_json: bool = True
    status: str = "running"
    head: str | None = None


@dataclass(frozen=True, slots=True)
class WorldSpec:
    """The simulated machine at the start."""

    workspace: Workspace
    tool: Tool = Tool.DOCKER_SANDBOX
    plugin: bool = True
    daemon: bool = True
    image_store: bool = True
    template: bool = True
    host_head: str | None = None
    sandboxes: tuple[SandboxSpecEntry, ...] = ()


@dataclass(frozen=True, slots=True)
class WardenSpec:
    """The warden's settings for the run (the specification's defaults)."""

    sandbox: SandboxName = field(
        default_factory=lambda: SandboxName("sandwarden"),
    )
    self_heal: bool = True
    watchdog: bool = True
    watchdog_interval: float = 300.0
    parity: bool = False
    allow_api_key: bool = False
    probe_cache: float = 30.0
    prompt_timeout: float = 3600.0
    inactivity_timeout: float = 600.0
    max_heals: int = 3
    heal_window: float = 900.0


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """A change of the world at a virtual time."""

    at: float
    fault: Fault
    target: str = ""
    value: str = ""


@dataclass(frozen=True, slots=True)
class AskSpec:
    """A prompt sent at a virtual time, and how its Claude run behaves."""

    at: float
    prompt: str
    conversation: str | None = None
    behaviour: Behaviour = Behaviour.NORMAL


@dataclass(frozen=True, slots=True)
class Scenario:
    """A whole rehearsal; see the module docstring."""

    name: str
    summary: str
    duration: float
    world: WorldSpec
    warden: WardenSpec = field(default_factory=WardenSpec)
    faults: tuple[FaultSpec, ...] = ()
    asks: tuple[AskSpec, ...] = ()
    seed: int = 1


def parse_duration(raw: object, where: str) -> Result[float, WardenError]:
    """Read seconds from a number or from text such as ``1h30m``."""
    if isinstance(raw, bool):
        return Failure(_bad(where, raw, "a duration such as 90s or 15m"))
    if isinstance(raw, int | float):
        if raw < 0:
            return Failure(_bad(where, raw, "a duration of 0 or more"))
        return Success(float(raw))
    if isinstance(raw, str):
        text = raw.replace(" ", "")
        parts = _DURATION.findall(text)
        if parts and "".join(n + u for n, u in parts) == text:
            return Success(sum(float(n) * _UNITS[u] for n, u in parts))

    return Failure(_bad(where, raw, "a duration such as 90s, 15m or 1h30m"))


def _bad(where: str, value: object, expected: str) -> WardenError:
    return WardenError.invalid(f"{where} is {value!r}; expected {expected}")
