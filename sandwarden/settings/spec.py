"""
What a setting is: its kind, its names in each source, and its secrecy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum, unique

__all__ = [
    "Kind",
    "LogLevel",
    "Runtime",
    "SettingSpec",
    "is_secret_name",
    "mask",
]

# A name ending in KEY or TOKEN (ANTHROPIC_API_KEY, CLAUDE_CODE_OAUTH_TOKEN),
# or holding SECRET or PASSWORD anywhere; SANDBOX_ALLOW_API_KEY_AUTH is a
# switch about keys, not one.
_SECRET_WORDS = re.compile(
    r"(?:KEY|KEYS|TOKEN|TOKENS|CREDENTIALS?)$|SECRET|PASSWORD|PASSWD",
    re.IGNORECASE,
)


@unique
class Runtime(StrEnum):
    """Which sandbox tool the warden drives."""

    DOCKER = "docker"
    SBX = "sbx"
    SIM = "sim"


@unique
class LogLevel(StrEnum):
    """How much the command line logs to stderr."""

    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@unique
class Kind(StrEnum):
    """How a setting's text is read."""

    NAME = "sandbox name"
    WORKSPACE = "workspace"
    IMAGE = "image"
    MILLISECONDS = "milliseconds"
    MILLISECONDS_OR_ZERO = "milliseconds, 0 for off"
    COUNT = "count"
    BOOLEAN = "boolean"
    TEXT = "text"
    PATH = "path"
    PROGRAM = "program"
    RUNTIME = "runtime"
    LOG_LEVEL = "log level"


# Kinds whose values could be a secret at all; a switch or a count is not.
_TEXTUAL = frozenset({Kind.TEXT, Kind.PATH, Kind.PROGRAM})


@dataclass(frozen=True, slots=True)
class SettingSpec:
    """
    One setting: its attribute, TOML key, variable, flag, default, meaning.

    ``default`` is text read like any other source; ``{cwd}`` and
    ``{config}`` stand for the current and the configuration directory.
    A duration's attribute holds seconds, its key and variable
    milliseconds.
    """

    attr: str
    key: str
    env: str
    kind: Kind
    default: str | None
    meaning: str
    flag: str | None = None
    secret: bool = False

    def is_secret(self) -> bool:
        """Whether the value must never be shown."""
        if self.secret:
            return True

        return self.kind in _TEXTUAL and (
            is_secret_name(self.env) or is_secret_name(self.key)
        )

    def raw(self, value: object) -> object:
        """The value in the key's own unit, ready for JSON."""
        if value is None or isinstance(value, bool | int | str):
            return value
        if isinstance(value, float):
            return round(value * 1000)

        return str(value)


def is_secret_name(name: str) -> bool:
    """Whether a variable or key name says its value is a secret."""
    return _SECRET_WORDS.search(name) is not None


def mask(value: object) -> str:
    """Show that a secret is set without showing any of it."""
    if value is None or value == "":
        return ""

    return "********"
