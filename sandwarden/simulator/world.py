"""
The simulated world: sandboxes, logins, images, files and switches.

Everything the simulator knows is in one ``World`` of plain, mutable
dataclasses, convertible to and from JSON, so that the in-process
``SimulatedRuntime`` and the fake ``docker``/``sbx`` executables (which
keep it in a state file between invocations) share one model::

    World
    ├── switches       plugin_present, daemon_up, daemon_wedged,
    │                  image_store_up (Docker Desktop), tool and version
    ├── sandboxes      name → Sandbox
    │   ├── status, agent, workspaces (first is primary), template
    │   ├── login          Login: method, expiry, API-key fallback
    │   ├── claude         ClaudeCli: version, has `auth status --json`
    │   ├── sessions       id → Session (prompts so far); lost with rm
    │   ├── processes      pid → Process (command, SANDWARDEN_RUN marker)
    │   ├── plans          queued Plans for the next `claude -p` runs
    │   └── heads          workspace → git HEAD seen inside (None: no repo)
    ├── images / tags  the image store: id → Image, tag → id
    ├── host_heads     workspace → git HEAD on the host (None: no repo)
    ├── files, links   the simulated host's file system (tar files too)
    ├── default_plan   what a `claude -p` run does when nothing is queued
    └── events         the event log: (time, source, what)

Times: ``Login.expires_at`` is wall-clock epoch seconds (the simulator's
virtual wall clock, or the real one for the fakes); event times are
whatever the recording side's clock says. Identifiers come from
``next_id``, which derives them from ``seed`` and a serial number, so the
same seed gives the same ids in the same order, in any process.
"""

from __future__ import annotations

import hashlib
import json
import typing
import uuid
from dataclasses import dataclass, field
from enum import StrEnum, unique

from returns.result import Failure, Result, Success

from sandwarden.domain.errors import WardenError
from sandwarden.simulator.codec import from_plain, to_plain

__all__ = [
    "Behaviour",
    "ClaudeCli",
    "Event",
    "Image",
    "Login",
    "LoginMethod",
    "LoginState",
    "Plan",
    "Process",
    "Sandbox",
    "Session",
    "Tool",
    "World",
]

#: Bumped when the stored shape changes incompatibly.
SCHEMA = 1


@unique
class Tool(StrEnum):
    """Which sandbox tool the world imitates."""

    DOCKER_SANDBOX = "docker-sandbox"
    SBX = "sbx"


@unique
class LoginMethod(StrEnum):
    """How Claude inside a sandbox was logged in."""

    CLAUDE_AI = "claude.ai"
    API_KEY = "api_key"
    NONE = "none"


@unique
class LoginState(StrEnum):
    """What a login amounts to at a given instant."""

    OAUTH = "oauth"
    API_KEY = "api_key"
    EXPIRED = "expired"
    LOGGED_OUT = "logged_out"


@unique
class Behaviour(StrEnum):
    """How a scripted `claude -p` run behaves (see ``scripts``)."""

    NORMAL = "normal"
    SLOW_DRIP = "slow_drip"
    STALL = "stall"
    HANG = "hang"
    EXIT_AFTER_RESULT = "exit_after_result"
    RESULT_THEN_HANG = "result_then_hang"
    OVERSIZED_LINE = "oversized_line"
    UNKNOWN_EVENTS = "unknown_events"
    TRUNCATED = "truncated"
    USAGE_LIMIT = "usage_limit"
    MAX_TURNS = "max_turns"


@dataclass(slots=True)
class Plan:
    """
    One scripted behaviour for a `claude -p` run.

    ``pace`` is the virtual delay in seconds between output lines (a slow
    drip uses it between pieces); ``text`` replaces the reply text;
    ``size`` is the length of the oversized line's payload in bytes;
    ``piece`` is how many bytes each write of a slow drip carries.
    Raises ``ValueError`` when ``piece`` is not positive.
    """

    behaviour: Behaviour = Behaviour.NORMAL
    pace: float = 0.05
    text: str | None = None
    size: int = 2 * 1024 * 1024
    # Added after the first state files were written: a stored plan
    # without it reads back with this default.
    piece: int = 16

    def __post_init__(self) -> None:
        if self.piece < 1:
            msg = (
                f"Plan.piece is {self.piece}; expected a positive number "
                "of bytes per slow-drip write"
            )
            raise ValueError(msg)


@dataclass(slots=True)
class Login:
    """
    Claude's credential inside one sandbox.

    ``expires_at`` (epoch seconds) is when an OAuth token dies; after it,
    ``api_key_fallback`` (an ``ANTHROPIC_API_KEY`` in the environment)
    makes Claude bill to the API key instead of failing. When
    ``status_hides_expiry`` is set, `auth status` still claims a login
    after expiry, as a configured but dead token does.
    """

    method: LoginMethod = LoginMethod.CLAUDE_AI
    expires_at: float | None = None
    api_key_fallback: bool = False
    status_hides_expiry: bool = False
    email: str = "operator@example.com"
    org_id: str = "00000000-0000-4000-8000-000000000001"
    org_name: str = "Example Org"
    subscription: str = "max"

    def state_at(self, now: float) -> LoginState:
        """Tell what the login amounts to at wall-clock ``now``."""
        match self.method:
            case LoginMethod.API_KEY:
                return LoginState.API_KEY
            case LoginMethod.NONE:
                dead = LoginState.LOGGED_OUT
            case LoginMethod.CLAUDE_AI:
                if self.expires_at is None or now < self.expires_at:
                    return LoginState.OAUTH
                dead = LoginState.EXPIRED
            case _:  # pragma: no cover
                typing.assert_never(self.method)

        return LoginState.API_KEY if self.api_key_fallback else dead


@dataclass(slots=True)
class ClaudeCli:
    """The Claude CLI installed in a sandbox."""

    version: str = "2.1.240"
    # `auth status --json` arrived with `auth status` in 2.1.41; older
    # builds in the field answer only the plain form.
    auth_json: bool = True
    model: str = "claude-sonnet-4-6"
    # Some builds answer a resume under a new session id (claude-code
    # #3510, #8069); the warden must store the id the run returned.
    resume_new_id: bool = False


@dataclass(slots=True)
class Session:
    """A Claude conversation stored inside a sandbox."""

    id: str
    created_at: float
    prompts: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Process:
    """A command running inside a sandbox."""

    pid: int
    command: list[str]
    marker: str
    started_at: float


@dataclass(slots=True)
class Sandbox:
    """One sandbox and everything inside it."""

    name: str
    workspaces: list[str]
    agent: str = "claude"
    status: str = "running"
    login: Login = field(default_factory=Login)
    claude: ClaudeCli = field(default_factory=ClaudeCli)
    sessions: dict[str, Session] = field(default_factory=dict)
    processes: dict[str, Process] = field(default_factory=dict)
    plans: list[Plan] = field(default_factory=list)
    heads: dict[str, str | None] = field(default_factory=dict)
    template: str | None = None
    created_at: float = 0.0

    def primary_workspace(self) -> str | None:
        """The first workspace without its `:ro` suffix, if any."""
        if not self.workspaces:
            return None

        return self.workspaces[0].removesuffix(":ro")

    def mounts(self, workdir: str) -> bool:
        """Tell whether ``workdir`` lies in one of the mounted workspaces."""
        for listed in self.workspaces:
            root = listed.removesuffix(":ro").rstrip("/") or "/"
            if workdir == root or workdir.startswith(root.rstrip("/") + "/"):
                return True

        return False


@dataclass(slots=True)
class Image:
    """A template image: a sandbox's state frozen by `save`."""

    id: str
    agent: str
    login: Login
    claude: ClaudeCli
    source: str
    created_at: float


@dataclass(slots=True)
class Event:
    """One line of the event log."""

    at: float
    source: str
    what: str

    def render(self) -> str:
        """The event as one deterministic line of text."""
        return f"{self.at:12.3f}  {self.source:<8} {self.what}"


@dataclass(slots=True)
class World:
    """Everything the simulator knows; see the module docstring."""

    seed: int = 0
    tool: Tool = Tool.DOCKER_SANDBOX
    tool_version: str = "v0.12.0"
    plugin_present: bool = True
    daemon_up: bool = True
    daemon_wedged: bool = False
    image_store_up: bool = True
    sandboxes: dict[str, Sandbox] = field(default_factory=dict)
    images: dict[str, Image] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    host_heads: dict[str, str | None] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)
    dirs: list[str] = field(default_factory=list)
    default_plan: Plan = field(default_factory=Plan)
    serial: int = 0
    next_pid: int = 100
    events: list[Event] = field(default_factory=list)
    schema: int = SCHEMA

    def record(self, at: float, source: str, what: str) -> None:
        """Append an event to the log."""
        self.events.append(Event(at, source, what))

    def render_events(self) -> str:
        """The whole event log as text, one event a line."""
        return "".join(event.render() + "\n" for event in self.events)

    def next_id(self) -> str:
        """A fresh UUID-shaped identifier, determined by seed and serial."""
        value = int.from_bytes(self._next_bytes(16), "big")

        return str(uuid.UUID(int=value, version=4))

    def next_hex(self, length: int = 40) -> str:
        """A fresh hex string (a commit or an image id), like ``next_id``."""
        return self._next_bytes((length + 1) // 2).hex()[:length]

    def _next_bytes(self, size: int) -> bytes:
        # A hash of seed and serial rather than a seeded generator: the
        # same bytes for the same world, at an eighth of the cost (ids are
        # drawn for every process a simulated day spawns).
        self.serial += 1
        key = f"{self.seed}/{self.serial}".encode()

        return hashlib.shake_256(key).digest(size)

    def spawn(
        self,
        sandbox: Sandbox,
        command: list[str],
        marker: str,
        now: float,
    ) -> Process:
        """Register a new process inside ``sandbox``."""
        pid = self.next_pid
        self.next_pid += 1
        process = Process(pid, list(command), marker, now)
        sandbox.processes[str(pid)] = process

        return process

    def to_json(self) -> str:
        """The whole world as JSON text (stable key order)."""
        return json.dumps(to_plain(self), sort_keys=True, indent=1)

    @classmethod
    def from_json(cls, text: str) -> Result[World, WardenError]:
        """Read back what ``to_json`` wrote; refuse anything else."""
        try:
            raw = json.loads(text)
            world = from_plain(cls, raw)
        except (ValueError, TypeError) as error:
            return Failure(
                WardenError.invalid(
                    f"simulated world is unreadable ({error}); expected "
                    "the JSON that World.to_json writes",
                ),
            )
        if world.schema != SCHEMA:
            return Failure(
                WardenError.invalid(
                    f"simulated world has schema {world.schema}; "
                    f"expected {SCHEMA}",
                ),
            )

        return Success(world)
