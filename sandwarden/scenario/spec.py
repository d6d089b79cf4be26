"""
Scenario files: a world, a fault schedule, asks and a duration, in TOML.

A scenario is read whole and checked before anything runs; every
problem is reported with its place in the file (``faults[2].at``) and
what was expected. Durations are seconds, or text such as ``90s``,
``15m``, ``2h`` or ``1h30m``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from typing import Any

from returns.result import Failure, Result, Success

from sandwarden.domain.errors import WardenError
from sandwarden.domain.values import SandboxName, Workspace
from sandwarden.scenario.fields import FieldReader
from sandwarden.scenario.model import (
    AskSpec,
    FaultSpec,
    SandboxSpecEntry,
    Scenario,
    WardenSpec,
    WorldSpec,
    parse_duration,
)
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


class _Reader(FieldReader):
    """Reads each part of a scenario into its values."""

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
