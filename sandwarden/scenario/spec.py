"""
Scenario files: a world, a fault schedule, asks and a duration, in TOML.

A scenario is read whole and checked before anything runs; every
problem is reported with its place in the file (``faults[2].at``) and
what was expected. Durations are seconds, or text such as ``90s``,
``15m``, ``2h`` or ``1h30m``.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

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
    "parse_scenario",
]

_E = TypeVar("_E", Tool, LoginMethod, Behaviour, Fault)

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


def parse_scenario(text: str, source: str) -> Result[Scenario, WardenError]:
    """Read a scenario from TOML ``text``; ``source`` names it in errors."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        return Failure(
            WardenError.invalid(f"{source}: not valid TOML ({error})"),
        )
    reader = _Reader(source)
    scenario = reader.scenario(raw)
    if reader.problems:
        return Failure(
            WardenError.invalid(
                f"{source}: " + "; ".join(reader.problems),
            ),
        )
    assert scenario is not None

    return Success(scenario)


def _bad(where: str, value: object, expected: str) -> WardenError:
    return WardenError.invalid(f"{where} is {value!r}; expected {expected}")


class _Reader:
    """Collects every problem of a file rather than stopping at one."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[str] = []

    def scenario(self, raw: Mapping[str, Any]) -> Scenario | None:
        self._known(
            raw,
            "",
            {"name", "summary", "duration", "seed", "world", "warden"}
            | {"faults", "asks"},
        )
        name = self._text(raw, "name", "", required=True)
        world = self.world(self._table(raw, "world"))
        warden = self.warden(self._table(raw, "warden"))
        duration = self._duration(raw, "duration", "duration", 3600.0)
        faults = tuple(
            entry
            for index, item in enumerate(self._list(raw, "faults"))
            if (entry := self.fault(item, f"faults[{index}]")) is not None
        )
        asks = tuple(
            ask
            for index, item in enumerate(self._list(raw, "asks"))
            if (ask := self.ask(item, f"asks[{index}]")) is not None
        )
        seed = raw.get("seed", 1)
        if not isinstance(seed, int) or isinstance(seed, bool):
            self.problems.append(f"seed is {seed!r}; expected an integer")
            seed = 1
        if world is None or self.problems:
            return None

        return Scenario(
            name=name,
            summary=self._text(raw, "summary", ""),
            duration=duration,
            world=world,
            warden=warden,
            faults=faults,
            asks=asks,
            seed=seed,
        )

    def world(self, raw: Mapping[str, Any]) -> WorldSpec | None:
        self._known(
            raw,
            "world.",
            {"workspace", "tool", "plugin", "daemon", "image_store"}
            | {"template", "host_head", "sandboxes"},
        )
        workspace = self._workspace(raw, "workspace", "world.workspace")
        if workspace is None:
            return None
        sandboxes = tuple(
            entry
            for index, item in enumerate(self._list(raw, "sandboxes"))
            if (
                entry := self.sandbox(
                    item,
                    f"world.sandboxes[{index}]",
                    workspace,
                )
            )
            is not None
        )

        return WorldSpec(
            workspace=workspace,
            tool=self._enum(
                raw, "tool", "world.tool", Tool, Tool.DOCKER_SANDBOX
            ),
            plugin=self._flag(raw, "plugin", "world.plugin", True),
            daemon=self._flag(raw, "daemon", "world.daemon", True),
            image_store=self._flag(
                raw, "image_store", "world.image_store", True
            ),
            template=self._flag(raw, "template", "world.template", True),
            host_head=self._optional_text(raw, "host_head", "world.host_head"),
            sandboxes=sandboxes,
        )

    def sandbox(
        self,
        raw: object,
        where: str,
        workspace: Workspace,
    ) -> SandboxSpecEntry | None:
        if not isinstance(raw, Mapping):
            self.problems.append(f"{where} is {raw!r}; expected a table")
            return None
        self._known(
            raw,
            f"{where}.",
            {"name", "workspace", "login", "expires_after"}
            | {"api_key_fallback", "auth_json", "status", "head"},
        )
        name = SandboxName.parse(self._text(raw, "name", f"{where}.name"))
        if isinstance(name, Failure):
            self.problems.append(f"{where}.name: {name.failure().message}")
            return None
        own = self._workspace(raw, "workspace", f"{where}.workspace")
        expires = raw.get("expires_after")
        expires_after = (
            None
            if expires is None
            else self._duration(
                raw, "expires_after", f"{where}.expires_after", 0.0
            )
        )
        status = self._text(raw, "status", f"{where}.status") or "running"
        if status not in {"running", "stopped"}:
            self.problems.append(
                f"{where}.status is {status!r}; expected running or stopped",
            )

        return SandboxSpecEntry(
            name=name.unwrap(),
            workspace=own or workspace,
            login=self._enum(
                raw,
                "login",
                f"{where}.login",
                LoginMethod,
                LoginMethod.CLAUDE_AI,
            ),
            expires_after=expires_after,
            api_key_fallback=self._flag(
                raw,
                "api_key_fallback",
                f"{where}.api_key_fallback",
                False,
            ),
            auth_json=self._flag(raw, "auth_json", f"{where}.auth_json", True),
            status=status,
            head=self._optional_text(raw, "head", f"{where}.head"),
        )

    def warden(self, raw: Mapping[str, Any]) -> WardenSpec:
        defaults = WardenSpec()
        self._known(
            raw,
            "warden.",
            {"sandbox", "self_heal", "watchdog", "watchdog_interval"}
            | {"parity", "allow_api_key", "probe_cache", "prompt_timeout"}
            | {"inactivity_timeout", "max_heals", "heal_window"},
        )
        sandbox = SandboxName.parse(
            self._text(raw, "sandbox", "warden.sandbox") or "sandwarden",
        )
        if isinstance(sandbox, Failure):
            self.problems.append(
                f"warden.sandbox: {sandbox.failure().message}"
            )
        max_heals = raw.get("max_heals", defaults.max_heals)
        if not isinstance(max_heals, int) or max_heals < 1:
            self.problems.append(
                f"warden.max_heals is {max_heals!r}; expected a whole "
                "number of 1 or more",
            )
            max_heals = defaults.max_heals

        def duration(key: str, default: float) -> float:
            return self._duration(raw, key, f"warden.{key}", default)

        return WardenSpec(
            sandbox=sandbox.value_or(defaults.sandbox),
            self_heal=self._flag(raw, "self_heal", "warden.self_heal", True),
            watchdog=self._flag(raw, "watchdog", "warden.watchdog", True),
            watchdog_interval=duration("watchdog_interval", 300.0),
            parity=self._flag(raw, "parity", "warden.parity", False),
            allow_api_key=self._flag(
                raw,
                "allow_api_key",
                "warden.allow_api_key",
                False,
            ),
            probe_cache=duration("probe_cache", 30.0),
            prompt_timeout=duration("prompt_timeout", 3600.0),
            inactivity_timeout=duration("inactivity_timeout", 600.0),
            max_heals=max_heals,
            heal_window=duration("heal_window", 900.0),
        )

    def fault(self, raw: object, where: str) -> FaultSpec | None:
        if not isinstance(raw, Mapping):
            self.problems.append(f"{where} is {raw!r}; expected a table")
            return None
        self._known(raw, f"{where}.", {"at", "kind", "target", "value"})

        return FaultSpec(
            at=self._duration(raw, "at", f"{where}.at", 0.0),
            fault=self._enum(raw, "kind", f"{where}.kind", Fault, None),
            target=self._text(raw, "target", f"{where}.target"),
            value=self._text(raw, "value", f"{where}.value"),
        )

    def ask(self, raw: object, where: str) -> AskSpec | None:
        if not isinstance(raw, Mapping):
            self.problems.append(f"{where} is {raw!r}; expected a table")
            return None
        self._known(
            raw, f"{where}.", {"at", "prompt", "conversation", "behaviour"}
        )

        return AskSpec(
            at=self._duration(raw, "at", f"{where}.at", 0.0),
            prompt=self._text(raw, "prompt", f"{where}.prompt", required=True),
            conversation=self._optional_text(
                raw,
                "conversation",
                f"{where}.conversation",
            ),
            behaviour=self._enum(
                raw,
                "behaviour",
                f"{where}.behaviour",
                Behaviour,
                Behaviour.NORMAL,
            ),
        )

    # -- field readers: each records a problem and returns a usable value

    def _known(
        self, raw: Mapping[str, Any], prefix: str, keys: set[str]
    ) -> None:
        for key in raw:
            if key not in keys:
                self.problems.append(
                    f"unknown key {prefix}{key}; expected one of "
                    + ", ".join(sorted(keys)),
                )

    def _table(self, raw: Mapping[str, Any], key: str) -> Mapping[str, Any]:
        value = raw.get(key, {})
        if not isinstance(value, Mapping):
            self.problems.append(f"{key} is {value!r}; expected a table")
            return {}

        return value

    def _list(self, raw: Mapping[str, Any], key: str) -> list[object]:
        value = raw.get(key, [])
        if not isinstance(value, list):
            self.problems.append(
                f"{key} is {value!r}; expected an array of tables ([[{key}]])",
            )
            return []

        return value

    def _text(
        self,
        raw: Mapping[str, Any],
        key: str,
        where: str,
        *,
        required: bool = False,
    ) -> str:
        value = raw.get(key)
        if value is None:
            if required:
                self.problems.append(
                    f"{where or key} is missing; expected text"
                )
            return ""
        if not isinstance(value, str):
            self.problems.append(f"{where or key} is {value!r}; expected text")
            return ""

        return value

    def _optional_text(
        self,
        raw: Mapping[str, Any],
        key: str,
        where: str,
    ) -> str | None:
        if raw.get(key) is None:
            return None

        return self._text(raw, key, where)

    def _flag(
        self,
        raw: Mapping[str, Any],
        key: str,
        where: str,
        default: bool,
    ) -> bool:
        value = raw.get(key, default)
        if not isinstance(value, bool):
            self.problems.append(
                f"{where} is {value!r}; expected true or false"
            )
            return default

        return value

    def _duration(
        self,
        raw: Mapping[str, Any],
        key: str,
        where: str,
        default: float,
    ) -> float:
        if key not in raw:
            return default
        parsed = parse_duration(raw[key], where)
        if isinstance(parsed, Failure):
            self.problems.append(parsed.failure().message)
            return default

        return parsed.unwrap()

    def _workspace(
        self,
        raw: Mapping[str, Any],
        key: str,
        where: str,
    ) -> Workspace | None:
        text = raw.get(key)
        if text is None:
            if where == "world.workspace":
                self.problems.append(
                    "world.workspace is missing; expected an absolute path",
                )
            return None
        parsed = Workspace.parse(str(text))
        if isinstance(parsed, Failure):
            self.problems.append(f"{where}: {parsed.failure().message}")
            return None

        return parsed.unwrap()

    def _enum(
        self,
        raw: Mapping[str, Any],
        key: str,
        where: str,
        kind: type[_E],
        default: _E | None,
    ) -> _E:
        value = raw.get(key)
        if value is None and default is not None:
            return default
        try:
            return kind(str(value))
        except ValueError:
            known = ", ".join(member.value for member in kind)
            self.problems.append(
                f"{where} is {value!r}; expected one of {known}"
            )
            return default if default is not None else next(iter(kind))
