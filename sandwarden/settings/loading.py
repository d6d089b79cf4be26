"""
Loading the settings: which source wins for each, and the result.
"""

from __future__ import annotations

import difflib
import posixpath
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from returns.result import Failure, Result, Success

from sandwarden.domain.deadlines import Limits
from sandwarden.domain.errors import WardenError
from sandwarden.domain.values import ImageTag, SandboxName, Workspace
from sandwarden.settings.readers import (
    Bad,
    ReadContext,
    expand_path,
    read_value,
)
from sandwarden.settings.spec import LogLevel, Runtime, SettingSpec
from sandwarden.settings.table import SETTINGS

__all__ = [
    "CONFIG_ENV",
    "CONFIG_FLAG",
    "STATE_SUFFIX",
    "Settings",
    "config_directory",
    "load_settings",
]

#: The ending of a state database's name: the state directory holds one
#: per configured sandbox, ``<sandbox>.sqlite3`` (a sandbox name is a
#: safe file name: it starts with a letter or digit and has no '/').
STATE_SUFFIX = ".sqlite3"
#: The variable naming the TOML file, and its flag.
CONFIG_ENV = "SANDWARDEN_CONFIG"
CONFIG_FLAG = "--config"

# Variables with our prefix that other parts read; never "did you mean".
_OTHER_VARIABLES = frozenset(
    {
        CONFIG_ENV,
        "SANDWARDEN_RUN",
        "SANDWARDEN_FAKE_STATE",
        "SANDWARDEN_FAKE_CLAUDE",
        "SANDWARDEN_CLAUDE_BIN",
    },
)
_OUR_PREFIXES = ("SANDWARDEN_", "SANDBOX_", "CLAUDE_SANDBOX_", "BOT_RUNTIME")


@dataclass(frozen=True, slots=True)
class Settings:
    """
    The effective configuration; durations are seconds.

    ``sources`` maps each TOML key to where its value came from:
    ``default``, ``file:<path>``, ``env:<NAME>`` or ``flag:--x``.
    ``warnings`` lists variables that look like misspelt settings.
    """

    sandbox: SandboxName
    workspace: Workspace
    runtime: Runtime
    docker: str
    sbx: str
    probe_timeout: float
    prompt_timeout: float
    resume_timeout: float
    prompt_inactivity_timeout: float
    resume_inactivity_timeout: float
    tool_timeout: float
    grace: float
    probe_cache: float
    model: str | None
    system_prompt: str | None
    allow_api_key_auth: bool
    self_heal: bool
    template: ImageTag
    self_heal_max_attempts: int
    self_heal_window: float
    heal_lock_ttl: float
    watchdog_enabled: bool
    watchdog_interval: float
    parity: bool
    backup_dir: str
    backup_keep: int
    state_dir: str
    heal_history_keep: int
    log_level: LogLevel
    config_file: str | None
    sources: Mapping[str, str]
    warnings: tuple[str, ...] = ()

    @property
    def state_file(self) -> str:
        """
        The path of the configured sandbox's state database.

        Each configured sandbox (one bot) keeps its own active sandbox,
        breaker, heal history, conversations and heal lock; processes
        of the same bot share them through this one file.
        """
        return posixpath.join(
            self.state_dir, self.sandbox.value + STATE_SUFFIX
        )

    def probe_limits(self) -> Limits:
        """The deadlines of an auth probe."""
        return Limits(self.probe_timeout)

    def prompt_limits(self) -> Limits:
        """The deadlines of a new prompt."""
        return Limits(self.prompt_timeout, self.prompt_inactivity_timeout)

    def resume_limits(self) -> Limits:
        """The deadlines of a resumed prompt."""
        return Limits(self.resume_timeout, self.resume_inactivity_timeout)

    def source(self, key: str) -> str:
        """Where the setting under TOML ``key`` came from."""
        return self.sources[key]


def config_directory(environ: Mapping[str, str], home: str) -> str:
    """
    ``$XDG_CONFIG_HOME/sandwarden``, else ``~/.config/sandwarden``.

    A relative ``XDG_CONFIG_HOME`` is ignored, as the XDG base directory
    specification asks.
    """
    xdg = environ.get("XDG_CONFIG_HOME", "")
    if xdg.startswith("/"):
        return posixpath.join(posixpath.normpath(xdg), "sandwarden")

    return posixpath.join(home, ".config", "sandwarden")


def load_settings(
    environ: Mapping[str, str],
    flags: Mapping[str, str | None],
    cwd: str,
    home: str,
    config_file: str | None = None,
) -> Result[Settings, WardenError]:
    """
    Work out the effective settings.

    ``flags`` maps TOML keys (and ``config``) to the text given on the
    command line; ``None`` means not given. An empty variable counts as
    unset. The TOML file is the flag ``config``, else ``SANDWARDEN_CONFIG``,
    else ``config_file``, else ``<config dir>/config.toml`` if it exists.
    Every bad value is reported, not only the first.
    """
    config = config_directory(environ, home)
    chosen = _choose_file(environ, flags, config_file, config, home)
    if not chosen.is_ok:
        return Failure(WardenError.invalid(chosen.problem))
    read = _read_file(chosen.path, required=chosen.required)
    if isinstance(read, WardenError):
        return Failure(read)
    table = read or {}
    unknown = sorted(set(table) - {spec.key for spec in SETTINGS})
    if unknown:
        known = ", ".join(spec.key for spec in SETTINGS)
        return Failure(
            WardenError.invalid(
                f"{chosen.path}: unknown key(s) {', '.join(unknown)}; "
                f"expected some of: {known}",
            ),
        )

    context = ReadContext(cwd=cwd, home=home, config=config)
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    problems: list[str] = []
    for spec in SETTINGS:
        origin, label, raw = _pick(
            spec,
            flags=flags,
            environ=environ,
            table=table,
            path=chosen.path,
            context=context,
        )
        parsed = read_value(spec.kind, raw, context)
        if isinstance(parsed, Bad):
            shown = "********" if spec.is_secret() else repr(raw)
            where = label.replace("@", shown, 1)
            problems.append(f"{where}: {parsed.expected}")
            continue
        values[spec.attr] = parsed.value
        sources[spec.key] = origin
    if problems:
        return Failure(
            WardenError.invalid("; ".join(problems)).with_detail(
                "\n".join(problems),
            ),
        )

    return Success(
        Settings(
            **values,
            config_file=None if read is None else chosen.path,
            sources=MappingProxyType(sources),
            warnings=_misspellings(environ),
        ),
    )


@dataclass(frozen=True, slots=True)
class _Chosen:
    path: str | None
    required: bool
    problem: str = ""

    @property
    def is_ok(self) -> bool:
        return not self.problem


def _choose_file(
    environ: Mapping[str, str],
    flags: Mapping[str, str | None],
    argument: str | None,
    config: str,
    home: str,
) -> _Chosen:
    for label, raw in (
        (CONFIG_FLAG, flags.get("config")),
        (CONFIG_ENV, environ.get(CONFIG_ENV) or None),
        ("config_file", argument),
    ):
        if raw is None:
            continue
        path = expand_path(raw.strip(), home)
        if path is None:
            return _Chosen(
                None,
                required=True,
                problem=f"{label} {raw!r}: expected an absolute path "
                "(or one starting with ~/) of a TOML file",
            )
        return _Chosen(path, required=True)

    return _Chosen(posixpath.join(config, "config.toml"), required=False)


def _read_file(
    path: str | None,
    *,
    required: bool,
) -> dict[str, object] | WardenError | None:
    """Return the file's table; None when an optional file is absent."""
    if path is None:
        return None
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        if not required:
            return None
        return WardenError.invalid(
            f"configuration file {path} does not exist; expected a TOML "
            "file (or no --config / SANDWARDEN_CONFIG)",
        )
    except tomllib.TOMLDecodeError as error:
        return WardenError.invalid(
            f"configuration file {path} is not valid TOML: {error}",
        )
    except OSError as error:
        return WardenError.invalid(
            f"configuration file {path} cannot be read: {error.strerror}",
        )


def _pick(
    spec: SettingSpec,
    *,
    flags: Mapping[str, str | None],
    environ: Mapping[str, str],
    table: Mapping[str, object],
    path: str | None,
    context: ReadContext,
) -> tuple[str, str, object]:
    """
    Return the winner's source, how to name it, and its raw value.

    The ``@`` of the name stands for the value, shown or masked.
    """
    flag_value = flags.get(spec.key)
    if flag_value is not None:
        flag = spec.flag or f"--set {spec.key}"
        return f"flag:{flag}", f"{flag} @", flag_value
    env_value = environ.get(spec.env, "")
    if env_value.strip():
        return f"env:{spec.env}", f"{spec.env}=@", env_value
    if spec.key in table:
        return f"file:{path}", f"{spec.key} = @ in {path}", table[spec.key]
    default = spec.default
    if default is not None:
        default = default.format(cwd=context.cwd, config=context.config)

    return "default", "default @", default


def _misspellings(environ: Mapping[str, str]) -> tuple[str, ...]:
    known = [spec.env for spec in SETTINGS]
    warnings = []
    for name in sorted(environ):
        if not name.startswith(_OUR_PREFIXES) or name in known:
            continue
        if name in _OTHER_VARIABLES:
            continue
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.85)
        if close:
            warnings.append(
                f"{name} is not a setting; did you mean {close[0]}?",
            )

    return tuple(warnings)
