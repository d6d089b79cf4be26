"""
Reading a TOML table's fields while collecting every problem.

Each field reader records what was wrong, with the field's place in the
file (``faults[2].at``) and what was expected, and returns a usable
value, so a reader can go on and report every problem at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from returns.result import Failure

from sandwarden.domain.values import Workspace
from sandwarden.scenario.model import parse_duration
from sandwarden.simulator.faults import Fault
from sandwarden.simulator.world import Behaviour, LoginMethod, Tool

__all__ = ["FieldReader"]

_E = TypeVar("_E", Tool, LoginMethod, Behaviour, Fault)


class FieldReader:
    """Collects every problem of a file rather than stopping at one."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[str] = []

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
