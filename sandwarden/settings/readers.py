"""
Reading one setting's value: text in, a typed value or what was expected.

Every source gives text (a TOML value is turned into text first); the
reader of the setting's ``Kind`` checks it and says, when it is bad,
what was expected instead.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from typing import Any, assert_never

from returns.pipeline import is_successful
from returns.result import Result

from sandwarden.domain.errors import WardenError
from sandwarden.domain.values import ImageTag, SandboxName, Workspace
from sandwarden.settings.spec import Kind, LogLevel, Runtime

__all__ = ["Bad", "Good", "ReadContext", "expand_path", "read_value"]

# Node's setTimeout, which the specification's implementation used,
# caps a delay at 2**31 - 1 ms (about 24.8 days); so do we.
_MS_MAX = 2**31 - 1
_COUNT_MAX = 1_000_000
_DIGITS = re.compile(r"[0-9]+")
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


@dataclass(frozen=True, slots=True)
class ReadContext:
    """The directories a value may refer to: home, cwd, configuration."""

    cwd: str
    home: str
    config: str


@dataclass(frozen=True, slots=True)
class Good:
    """A value that read well."""

    value: object


@dataclass(frozen=True, slots=True)
class Bad:
    """A value that did not read, and what was expected instead."""

    expected: str


def read_value(kind: Kind, raw: object, context: ReadContext) -> Good | Bad:
    """Read a source's raw value (text, or a TOML value) as ``kind``."""
    text = _as_text(kind, raw)
    if isinstance(text, Bad):
        return text
    if text is None:
        return Good(None)

    return _READERS[kind](text.strip(), context)


def _as_text(kind: Kind, raw: object) -> str | Bad | None:
    """Turn a TOML value (or any source's text) into text to read."""
    if raw is None or isinstance(raw, str):
        return raw
    if isinstance(raw, bool):
        if kind is Kind.BOOLEAN:
            return str(raw).lower()
        return Bad(f"expected {_expectation(kind)}, not a boolean")
    if isinstance(raw, int) and kind in _NUMERIC:
        return str(raw)

    return Bad(f"expected {_expectation(kind)}")


def _read_name(text: str, _: ReadContext) -> Good | Bad:
    return _from_result(SandboxName.parse(text))


def _read_workspace(text: str, context: ReadContext) -> Good | Bad:
    path = expand_path(text, context.home)
    if path is None:
        return Bad(
            "the workspace is relative; expected an absolute path, the "
            "same one the sandbox was created with",
        )

    return _from_result(Workspace.parse(path))


def _read_image(text: str, _: ReadContext) -> Good | Bad:
    return _from_result(ImageTag.parse(text))


def _read_milliseconds(text: str, _: ReadContext) -> Good | Bad:
    if not _DIGITS.fullmatch(text) or not 0 < int(text) <= _MS_MAX:
        return Bad(f"expected {_expectation(Kind.MILLISECONDS)}")

    return Good(int(text) / 1000)


def _read_milliseconds_or_zero(text: str, _: ReadContext) -> Good | Bad:
    if not _DIGITS.fullmatch(text) or int(text) > _MS_MAX:
        return Bad(f"expected {_expectation(Kind.MILLISECONDS_OR_ZERO)}")

    return Good(int(text) / 1000)


def _read_count(text: str, _: ReadContext) -> Good | Bad:
    if not _DIGITS.fullmatch(text) or not 0 < int(text) <= _COUNT_MAX:
        return Bad(f"expected {_expectation(Kind.COUNT)}")

    return Good(int(text))


def _read_boolean(text: str, _: ReadContext) -> Good | Bad:
    lowered = text.lower()
    if lowered in _TRUE:
        return Good(True)
    if lowered in _FALSE:
        return Good(False)

    return Bad(f"expected {_expectation(Kind.BOOLEAN)}")


def _read_text(text: str, _: ReadContext) -> Good | Bad:
    if "\x00" in text:
        return Bad("expected text without NUL bytes")

    return Good(text or None)


def _read_path(text: str, context: ReadContext) -> Good | Bad:
    path = expand_path(text, context.home)
    if path is None:
        return Bad(f"expected {_expectation(Kind.PATH)}")

    return Good(path)


def _read_program(text: str, context: ReadContext) -> Good | Bad:
    if text and "/" not in text and "\x00" not in text:
        return Good(text)
    path = expand_path(text, context.home)
    if path is None:
        return Bad(f"expected {_expectation(Kind.PROGRAM)}")

    return Good(path)


def _read_runtime(text: str, _: ReadContext) -> Good | Bad:
    try:
        return Good(Runtime(text.lower()))
    except ValueError:
        return Bad(f"expected {_expectation(Kind.RUNTIME)}")


def _read_log_level(text: str, _: ReadContext) -> Good | Bad:
    try:
        return Good(LogLevel(text.lower()))
    except ValueError:
        return Bad(f"expected {_expectation(Kind.LOG_LEVEL)}")


_READERS = {
    Kind.NAME: _read_name,
    Kind.WORKSPACE: _read_workspace,
    Kind.IMAGE: _read_image,
    Kind.MILLISECONDS: _read_milliseconds,
    Kind.MILLISECONDS_OR_ZERO: _read_milliseconds_or_zero,
    Kind.COUNT: _read_count,
    Kind.BOOLEAN: _read_boolean,
    Kind.TEXT: _read_text,
    Kind.PATH: _read_path,
    Kind.PROGRAM: _read_program,
    Kind.RUNTIME: _read_runtime,
    Kind.LOG_LEVEL: _read_log_level,
}
_NUMERIC = frozenset(
    {Kind.MILLISECONDS, Kind.MILLISECONDS_OR_ZERO, Kind.COUNT},
)


def _expectation(kind: Kind) -> str:
    match kind:
        case Kind.MILLISECONDS:
            return (
                f"a whole number of milliseconds from 1 to {_MS_MAX}, "
                "such as 30000"
            )
        case Kind.MILLISECONDS_OR_ZERO:
            return f"a whole number of milliseconds from 0 to {_MS_MAX}"
        case Kind.COUNT:
            return f"a whole number from 1 to {_COUNT_MAX}"
        case Kind.BOOLEAN:
            return "true/false, 1/0, yes/no or on/off"
        case Kind.PATH:
            return "an absolute path, or one starting with ~/"
        case Kind.PROGRAM:
            return "a program name, or an absolute path to one"
        case Kind.RUNTIME:
            return "one of " + ", ".join(Runtime)
        case Kind.LOG_LEVEL:
            return "one of " + ", ".join(LogLevel)
        case Kind.NAME | Kind.WORKSPACE | Kind.IMAGE | Kind.TEXT:
            return f"a {kind} as text"
        case _:  # pragma: no cover
            assert_never(kind)


def _from_result(result: Result[Any, WardenError]) -> Good | Bad:
    if is_successful(result):
        return Good(result.unwrap())

    return Bad(result.failure().message)


def expand_path(text: str, home: str) -> str | None:
    """Expand a leading ``~``; None unless the result is absolute."""
    if "\x00" in text:
        return None
    if text == "~" or text.startswith("~/"):
        if not home.startswith("/"):
            return None
        text = home + text[1:]
    if not text.startswith("/"):
        return None
    normal = posixpath.normpath(text)

    return "/" + normal.lstrip("/")
