"""
The operator's configuration: defaults, a TOML file, the environment, flags.

A command-line flag beats the environment, which beats the file, which
beats the default. The environment variables keep the specification's
names (its section 16); the ones it lacks are prefixed ``SANDWARDEN_``.
Nothing here reads ``os.environ``: the caller passes the environment in,
so the only I/O is reading the TOML file.
"""

from __future__ import annotations

import difflib
import posixpath
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum, unique
from types import MappingProxyType
from typing import Any, assert_never

from returns.pipeline import is_successful
from returns.result import Failure, Result, Success

from sandwarden.domain.deadlines import Limits
from sandwarden.domain.errors import WardenError
from sandwarden.domain.values import ImageTag, SandboxName, Workspace

__all__ = [
    "CONFIG_ENV",
    "CONFIG_FLAG",
    "SETTINGS",
    "STATE_FILE",
    "Kind",
    "LogLevel",
    "Runtime",
    "SettingSpec",
    "Settings",
    "config_directory",
    "is_secret_name",
    "load_settings",
    "mask",
]

#: The name of the state database inside the state directory.
STATE_FILE = "state.sqlite3"


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


def _ms(attr: str, env: str, default: int, meaning: str) -> SettingSpec:
    return SettingSpec(
        attr,
        f"{attr}_ms",
        env,
        Kind.MILLISECONDS,
        str(default),
        meaning,
    )


#: Every setting, in the order `sandwarden config` shows them.
SETTINGS: tuple[SettingSpec, ...] = (
    SettingSpec(
        "sandbox",
        "sandbox",
        "CLAUDE_SANDBOX_NAME",
        Kind.NAME,
        "sandwarden",
        "the primary sandbox",
        flag="--sandbox",
    ),
    SettingSpec(
        "workspace",
        "workspace",
        "BOT_RUNTIME_DIR",
        Kind.WORKSPACE,
        "{cwd}",
        "host directory mounted in the sandbox (same at create and exec)",
        flag="--workspace",
    ),
    SettingSpec(
        "runtime",
        "runtime",
        "SANDWARDEN_RUNTIME",
        Kind.RUNTIME,
        "docker",
        "sandbox tool: docker (plugin), sbx, or sim (simulator)",
        flag="--runtime",
    ),
    SettingSpec(
        "docker",
        "docker",
        "SANDWARDEN_DOCKER",
        Kind.PROGRAM,
        "docker",
        "the docker executable (a name is looked up on PATH)",
        flag="--docker",
    ),
    SettingSpec(
        "sbx",
        "sbx",
        "SANDWARDEN_SBX",
        Kind.PROGRAM,
        "sbx",
        "the sbx executable (a name is looked up on PATH)",
        flag="--sbx",
    ),
    _ms(
        "probe_timeout",
        "SANDBOX_PROBE_TIMEOUT_MS",
        30_000,
        "hard limit of an auth probe",
    ),
    _ms(
        "prompt_timeout",
        "SANDBOX_PROMPT_TIMEOUT_MS",
        3_600_000,
        "hard limit of a new prompt",
    ),
    _ms(
        "resume_timeout",
        "SANDBOX_RESUME_TIMEOUT_MS",
        3_600_000,
        "hard limit of a resumed prompt",
    ),
    _ms(
        "prompt_inactivity_timeout",
        "SANDBOX_PROMPT_INACTIVITY_TIMEOUT_MS",
        600_000,
        "silence after which a new prompt counts as stalled",
    ),
    _ms(
        "resume_inactivity_timeout",
        "SANDBOX_RESUME_INACTIVITY_TIMEOUT_MS",
        600_000,
        "silence after which a resumed prompt counts as stalled",
    ),
    _ms(
        "tool_timeout",
        "SANDWARDEN_TOOL_TIMEOUT_MS",
        # create may pull the base image on first use: minutes, not seconds
        180_000,
        "deadline of ls, version, create, rm, stop and image calls",
    ),
    _ms(
        "grace",
        "SANDWARDEN_GRACE_MS",
        5_000,
        "wait between TERM and KILL when stopping a run",
    ),
    SettingSpec(
        "probe_cache",
        "probe_cache_ms",
        "SANDWARDEN_PROBE_CACHE_MS",
        Kind.MILLISECONDS_OR_ZERO,
        "30000",
        "how long a healthy probe is trusted (0: probe every turn)",
    ),
    SettingSpec(
        "model",
        "model",
        "SANDBOX_CLAUDE_MODEL",
        Kind.TEXT,
        None,
        "model override (unset: the account's default)",
        flag="--model",
    ),
    SettingSpec(
        "system_prompt",
        "system_prompt",
        "SANDWARDEN_SYSTEM_PROMPT",
        Kind.TEXT,
        None,
        "text appended to Claude's system prompt",
    ),
    SettingSpec(
        "allow_api_key_auth",
        "allow_api_key_auth",
        "SANDBOX_ALLOW_API_KEY_AUTH",
        Kind.BOOLEAN,
        "false",
        "accept API-key or third-party billing instead of the login",
        flag="--allow-api-key-auth",
    ),
    SettingSpec(
        "self_heal",
        "self_heal",
        "SANDBOX_SELF_HEAL",
        Kind.BOOLEAN,
        "true",
        "recover a broken sandbox automatically",
        flag="--self-heal",
    ),
    SettingSpec(
        "template",
        "template",
        "SANDBOX_SELF_HEAL_TEMPLATE",
        Kind.IMAGE,
        "sandwarden-auth:latest",
        "authenticated template image used to heal",
        flag="--template",
    ),
    SettingSpec(
        "self_heal_max_attempts",
        "self_heal_max_attempts",
        "SANDBOX_SELF_HEAL_MAX_ATTEMPTS",
        Kind.COUNT,
        "3",
        "failed heals in the window that open the breaker",
    ),
    _ms(
        "self_heal_window",
        "SANDBOX_SELF_HEAL_WINDOW_MS",
        900_000,
        "the breaker's sliding window",
    ),
    _ms(
        "heal_lock_ttl",
        "SANDWARDEN_HEAL_LOCK_TTL_MS",
        900_000,
        "how long a heal holds the cross-process lock before it lapses",
    ),
    SettingSpec(
        "watchdog_enabled",
        "watchdog_enabled",
        "SANDBOX_HEALTH_WATCHDOG_ENABLED",
        Kind.BOOLEAN,
        "true",
        "probe the active sandbox in the background",
    ),
    _ms(
        "watchdog_interval",
        "SANDBOX_HEALTH_WATCHDOG_INTERVAL_MS",
        300_000,
        "time between two watchdog probes",
    ),
    SettingSpec(
        "parity",
        "parity",
        "SANDWARDEN_PARITY",
        Kind.BOOLEAN,
        "false",
        "compare host and sandbox git HEAD when probing",
        flag="--parity",
    ),
    SettingSpec(
        "backup_dir",
        "backup_dir",
        "SANDBOX_TEMPLATE_BACKUP_DIR",
        Kind.PATH,
        "{config}/templates",
        "where template backups (tar files) are kept",
        flag="--backup-dir",
    ),
    SettingSpec(
        "backup_keep",
        "backup_keep",
        "SANDBOX_TEMPLATE_BACKUP_KEEP",
        Kind.COUNT,
        "14",
        "timestamped backups kept by rotation",
    ),
    SettingSpec(
        "state_dir",
        "state_dir",
        "SANDWARDEN_STATE_DIR",
        Kind.PATH,
        "{config}",
        "directory of the state database",
        flag="--state-dir",
    ),
    SettingSpec(
        "heal_history_keep",
        "heal_history_keep",
        "SANDWARDEN_HEAL_HISTORY_KEEP",
        Kind.COUNT,
        "200",
        "heal records kept in the state database",
    ),
    SettingSpec(
        "log_level",
        "log_level",
        "SANDWARDEN_LOG_LEVEL",
        Kind.LOG_LEVEL,
        "info",
        "what the command line logs to stderr",
        flag="--log-level",
    ),
)

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
# A name ending in KEY or TOKEN (ANTHROPIC_API_KEY, CLAUDE_CODE_OAUTH_TOKEN),
# or holding SECRET or PASSWORD anywhere; SANDBOX_ALLOW_API_KEY_AUTH is a
# switch about keys, not one.
_SECRET_WORDS = re.compile(
    r"(?:KEY|KEYS|TOKEN|TOKENS|CREDENTIALS?)$|SECRET|PASSWORD|PASSWD",
    re.IGNORECASE,
)
# Kinds whose values could be a secret at all; a switch or a count is not.
_TEXTUAL = frozenset({Kind.TEXT, Kind.PATH, Kind.PROGRAM})
# Node's setTimeout, which the specification's implementation used,
# caps a delay at 2**31 - 1 ms (about 24.8 days); so do we.
_MS_MAX = 2**31 - 1
_COUNT_MAX = 1_000_000
_DIGITS = re.compile(r"[0-9]+")
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


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
        """The path of the state database."""
        return posixpath.join(self.state_dir, STATE_FILE)

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


def is_secret_name(name: str) -> bool:
    """Whether a variable or key name says its value is a secret."""
    return _SECRET_WORDS.search(name) is not None


def mask(value: object) -> str:
    """Show that a secret is set without showing any of it."""
    if value is None or value == "":
        return ""

    return "********"


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

    context = _Context(cwd=cwd, home=home, config=config)
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
        parsed = _parse(spec.kind, raw, context)
        if isinstance(parsed, _Bad):
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
class _Context:
    cwd: str
    home: str
    config: str


@dataclass(frozen=True, slots=True)
class _Chosen:
    path: str | None
    required: bool
    problem: str = ""

    @property
    def is_ok(self) -> bool:
        return not self.problem


@dataclass(frozen=True, slots=True)
class _Good:
    value: object


@dataclass(frozen=True, slots=True)
class _Bad:
    expected: str


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
        path = _expand(raw.strip(), home)
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
    context: _Context,
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


def _parse(kind: Kind, raw: object, context: _Context) -> _Good | _Bad:
    text = _as_text(kind, raw)
    if isinstance(text, _Bad):
        return text
    if text is None:
        return _Good(None)

    return _READERS[kind](text.strip(), context)


def _as_text(kind: Kind, raw: object) -> str | _Bad | None:
    """Turn a TOML value (or any source's text) into text to read."""
    if raw is None or isinstance(raw, str):
        return raw
    if isinstance(raw, bool):
        if kind is Kind.BOOLEAN:
            return str(raw).lower()
        return _Bad(f"expected {_expectation(kind)}, not a boolean")
    if isinstance(raw, int) and kind in _NUMERIC:
        return str(raw)

    return _Bad(f"expected {_expectation(kind)}")


def _read_name(text: str, _: _Context) -> _Good | _Bad:
    return _from_result(SandboxName.parse(text))


def _read_workspace(text: str, context: _Context) -> _Good | _Bad:
    path = _expand(text, context.home)
    if path is None:
        return _Bad(
            "the workspace is relative; expected an absolute path, the "
            "same one the sandbox was created with",
        )

    return _from_result(Workspace.parse(path))


def _read_image(text: str, _: _Context) -> _Good | _Bad:
    return _from_result(ImageTag.parse(text))


def _read_milliseconds(text: str, _: _Context) -> _Good | _Bad:
    if not _DIGITS.fullmatch(text) or not 0 < int(text) <= _MS_MAX:
        return _Bad(f"expected {_expectation(Kind.MILLISECONDS)}")

    return _Good(int(text) / 1000)


def _read_milliseconds_or_zero(text: str, _: _Context) -> _Good | _Bad:
    if not _DIGITS.fullmatch(text) or int(text) > _MS_MAX:
        return _Bad(f"expected {_expectation(Kind.MILLISECONDS_OR_ZERO)}")

    return _Good(int(text) / 1000)


def _read_count(text: str, _: _Context) -> _Good | _Bad:
    if not _DIGITS.fullmatch(text) or not 0 < int(text) <= _COUNT_MAX:
        return _Bad(f"expected {_expectation(Kind.COUNT)}")

    return _Good(int(text))


def _read_boolean(text: str, _: _Context) -> _Good | _Bad:
    lowered = text.lower()
    if lowered in _TRUE:
        return _Good(True)
    if lowered in _FALSE:
        return _Good(False)

    return _Bad(f"expected {_expectation(Kind.BOOLEAN)}")


def _read_text(text: str, _: _Context) -> _Good | _Bad:
    if "\x00" in text:
        return _Bad("expected text without NUL bytes")

    return _Good(text or None)


def _read_path(text: str, context: _Context) -> _Good | _Bad:
    path = _expand(text, context.home)
    if path is None:
        return _Bad(f"expected {_expectation(Kind.PATH)}")

    return _Good(path)


def _read_program(text: str, context: _Context) -> _Good | _Bad:
    if text and "/" not in text and "\x00" not in text:
        return _Good(text)
    path = _expand(text, context.home)
    if path is None:
        return _Bad(f"expected {_expectation(Kind.PROGRAM)}")

    return _Good(path)


def _read_runtime(text: str, _: _Context) -> _Good | _Bad:
    try:
        return _Good(Runtime(text.lower()))
    except ValueError:
        return _Bad(f"expected {_expectation(Kind.RUNTIME)}")


def _read_log_level(text: str, _: _Context) -> _Good | _Bad:
    try:
        return _Good(LogLevel(text.lower()))
    except ValueError:
        return _Bad(f"expected {_expectation(Kind.LOG_LEVEL)}")


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


def _from_result(result: Result[Any, WardenError]) -> _Good | _Bad:
    if is_successful(result):
        return _Good(result.unwrap())

    return _Bad(result.failure().message)


def _expand(text: str, home: str) -> str | None:
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
