"""
The ports: what the services need from the world, as Protocols.

Each has a real adapter (`sandwarden.adapters`) and a simulated one
(`sandwarden.simulator`); the contract suite in `contracts/` holds them to
the same behaviour. Every fallible call returns ``Result[T, WardenError]``
and never raises for a failure of the world (a missing sandbox, a dead
daemon, a full disk); exceptions are left for bugs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum, unique
from typing import Protocol

from returns.result import Result

from sandwarden.domain.auth import AuthStatus
from sandwarden.domain.breaker import BreakerState
from sandwarden.domain.conversation import Conversation
from sandwarden.domain.deadlines import Limits
from sandwarden.domain.errors import WardenError
from sandwarden.domain.healing import HealRecord
from sandwarden.domain.sandbox import (
    Capabilities,
    Chunk,
    ExecResult,
    SandboxInfo,
    SandboxSpec,
)
from sandwarden.domain.values import ImageTag, SandboxName, Workspace

__all__ = [
    "Alert",
    "AlertLevel",
    "Alerts",
    "Clock",
    "Execution",
    "Host",
    "SandboxRuntime",
    "StateStore",
]


class Clock(Protocol):
    """
    Time, as the warden sees it.

    ``monotonic`` measures durations and deadlines; ``time`` is wall-clock
    UTC epoch seconds for anything stored or shown. The simulator's clock
    is virtual: ``sleep`` returns when virtual time reaches the wake-up.
    """

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back."""
        ...

    def time(self) -> float:
        """Wall-clock UTC seconds since the epoch."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (zero or negative: yield once)."""
        ...


class Execution(Protocol):
    """
    A command running inside a sandbox.

    Iterate ``output()`` for its chunks in arrival order (stdout and
    stderr interleaved as read), then await ``wait()`` for how it ended.
    The runtime enforces the ``Limits`` given to ``exec`` whether or not
    the caller is iterating: when one fires, the process is stopped
    (inside the sandbox too), ``output()`` ends, and ``wait()`` returns an
    ``ExecResult`` whose ``stopped`` names the limit. ``cancel()`` stops
    it the same way with ``Stop.CANCELLED``; it is idempotent and safe
    after the end. ``wait()`` returns a ``Failure`` only when the command
    could not be run at all.
    """

    def output(self) -> AsyncIterator[Chunk]:
        """Yield the command's output; may be iterated once."""
        ...

    async def wait(self) -> Result[ExecResult, WardenError]:
        """Wait for the end and clean-up; return how it ended."""
        ...

    async def cancel(self) -> None:
        """Stop the command and everything it started."""
        ...


class SandboxRuntime(Protocol):
    """
    A sandbox tool: the `docker sandbox` plugin, `sbx`, or the simulator.

    Every call has a deadline of the runtime's own (these tools are known
    to hang); a call that passes it fails as ``sandbox_unavailable``
    with reason ``wedged``. Outputs of the tool are classified by the
    domain's ``classify``, so a missing sandbox, a dead daemon or a
    missing plugin arrive as the same errors from every runtime.
    """

    async def capabilities(self) -> Result[Capabilities, WardenError]:
        """What the tool offers at all, and whether its image store answers."""
        ...

    async def version(self) -> Result[str, WardenError]:
        """The tool's version string, e.g. ``v0.12.0``."""
        ...

    async def list(self) -> Result[tuple[SandboxInfo, ...], WardenError]:
        """Every sandbox the tool knows, with its workspaces."""
        ...

    async def create(
        self,
        spec: SandboxSpec,
    ) -> Result[SandboxInfo, WardenError]:
        """Create a sandbox, from ``spec.template`` when one is given."""
        ...

    async def remove(self, name: SandboxName) -> Result[None, WardenError]:
        """Remove a sandbox; removing a missing one fails as ``not_found``."""
        ...

    async def stop(self, name: SandboxName) -> Result[None, WardenError]:
        """Stop a sandbox, keeping its state."""
        ...

    async def exec(
        self,
        name: SandboxName,
        command: Sequence[str],
        *,
        workdir: Workspace,
        limits: Limits,
        stdin: bytes | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Result[Execution, WardenError]:
        """
        Start ``command`` inside the sandbox, in ``workdir``.

        ``stdin`` is written then closed; with ``None`` the command reads
        an empty stdin. ``env`` is set for the command only.
        """
        ...

    async def auth_status(
        self,
        name: SandboxName,
        workdir: Workspace,
        limits: Limits,
    ) -> Result[AuthStatus, WardenError]:
        """
        Claude's login as seen from inside the sandbox.

        A logged-out answer is ``Success`` with ``logged_in`` false; a
        failure means the question could not be asked.
        """
        ...

    async def git_head(
        self,
        name: SandboxName,
        workdir: Workspace,
    ) -> Result[str | None, WardenError]:
        """The commit HEAD points at inside the sandbox; None: no repo."""
        ...

    async def save(
        self,
        name: SandboxName,
        tag: ImageTag,
    ) -> Result[None, WardenError]:
        """Snapshot a sandbox as a template image in the image store."""
        ...

    async def save_to_tar(
        self,
        name: SandboxName,
        tag: ImageTag,
        path: str,
    ) -> Result[None, WardenError]:
        """
        Snapshot a sandbox as template ``tag`` and also write it to a tar.

        Afterwards the image store holds ``tag`` and ``path`` holds a tar
        that ``image_load`` reads back as ``tag``: the way to back up a
        template on a tool that cannot export a stored one (sbx). On a
        failure ``path`` may hold a partial file; the caller removes it.
        """
        ...

    async def image_exists(
        self,
        tag: ImageTag,
    ) -> Result[bool, WardenError]:
        """Whether the image store holds ``tag``."""
        ...

    async def image_tag(
        self,
        source: ImageTag,
        target: ImageTag,
    ) -> Result[None, WardenError]:
        """Point ``target`` at the image ``source`` names."""
        ...

    async def image_export(
        self,
        tag: ImageTag,
        path: str,
    ) -> Result[None, WardenError]:
        """Write the image to a tar file at ``path``."""
        ...

    async def image_load(
        self,
        path: str,
        *,
        progress: Callable[[int], None] | None = None,
    ) -> Result[tuple[ImageTag, ...], WardenError]:
        """
        Load a tar file into the image store; return the tags loaded.

        ``progress`` hears the bytes of the tar the tool has taken so
        far, where the runtime hands the tool the tar itself (the
        plugin's Docker reads it from stdin); a runtime that hands the
        tool the path (sbx) cannot tell and never calls it.
        """
        ...


class StateStore(Protocol):
    """
    What the warden remembers between turns, processes and restarts.

    Writes are atomic: after a crash a reader sees the old value or the
    new one, never a mixture.
    """

    async def active_sandbox(self) -> Result[SandboxName | None, WardenError]:
        """The sandbox prompts go to, once a heal has chosen one."""
        ...

    async def set_active_sandbox(
        self,
        name: SandboxName,
    ) -> Result[None, WardenError]:
        """Make ``name`` the active sandbox."""
        ...

    async def breaker(self) -> Result[BreakerState, WardenError]:
        """The breaker's state; a fresh one when nothing is stored."""
        ...

    async def save_breaker(
        self,
        state: BreakerState,
    ) -> Result[None, WardenError]:
        """Store the breaker's state."""
        ...

    async def record_heal(
        self,
        record: HealRecord,
    ) -> Result[None, WardenError]:
        """Append a heal to the history."""
        ...

    async def heal_history(
        self,
        limit: int,
    ) -> Result[tuple[HealRecord, ...], WardenError]:
        """The last ``limit`` heals, oldest first."""
        ...

    async def mark_heal_undone(
        self,
        ended_at: float,
        at: float,
    ) -> Result[bool, WardenError]:
        """
        Mark the successful heal that ended at ``ended_at`` undone at ``at``.

        False when the history holds no such heal (rotated out, or
        already undone).
        """
        ...

    async def conversation(
        self,
        key: str,
    ) -> Result[Conversation | None, WardenError]:
        """The stored conversation under ``key``, if any."""
        ...

    async def save_conversation(
        self,
        conversation: Conversation,
    ) -> Result[None, WardenError]:
        """Store or replace a conversation."""
        ...

    async def forget_conversation(
        self,
        key: str,
    ) -> Result[None, WardenError]:
        """Drop a conversation; forgetting a missing one succeeds."""
        ...

    async def acquire_heal_lock(
        self,
        owner: str,
        ttl: float,
    ) -> Result[bool, WardenError]:
        """
        Try to take the heal lock for ``ttl`` seconds; False: someone has it.

        A holder that dies loses the lock when its ``ttl`` runs out.
        """
        ...

    async def release_heal_lock(self, owner: str) -> Result[None, WardenError]:
        """Give the lock back if ``owner`` holds it."""
        ...


class Host(Protocol):
    """The machine the warden runs on: its git, its files."""

    async def git_head(
        self,
        workspace: Workspace,
    ) -> Result[str | None, WardenError]:
        """The host's HEAD commit of the workspace; None: no repository."""
        ...

    def resolve(self, workspace: Workspace) -> str:
        """The workspace with symbolic links resolved (or as is)."""
        ...

    def ensure_private_dir(self, path: str) -> Result[None, WardenError]:
        """Create ``path`` if needed and make it mode 0700."""
        ...

    def list_dir(self, path: str) -> Result[tuple[str, ...], WardenError]:
        """The names in a directory, sorted; a missing one is empty."""
        ...

    def file_size(self, path: str) -> Result[int, WardenError]:
        """The size of a file in bytes."""
        ...

    def sha256(self, path: str) -> Result[str, WardenError]:
        """The hex SHA-256 of a file's contents."""
        ...

    def create_private_file(self, path: str) -> Result[None, WardenError]:
        """Create ``path`` empty, mode 0600; an existing one is an error."""
        ...

    def commit_file(
        self, temporary: str, final: str
    ) -> Result[None, WardenError]:
        """Make ``temporary`` 0600, sync it, rename it to ``final``, sync."""
        ...

    def write_text(self, path: str, text: str) -> Result[None, WardenError]:
        """Write a file atomically (temporary name, sync, rename), 0600."""
        ...

    def read_text(self, path: str) -> Result[str, WardenError]:
        """Read a whole text file."""
        ...

    def replace_link(
        self, link: str, target: str
    ) -> Result[None, WardenError]:
        """Point the symbolic link ``link`` at ``target``, atomically."""
        ...

    def read_link(self, link: str) -> Result[str | None, WardenError]:
        """Where ``link`` points; None when there is no such link."""
        ...

    def remove(self, path: str) -> Result[None, WardenError]:
        """Delete a file; a missing one is fine."""
        ...


@unique
class AlertLevel(StrEnum):
    """How urgent an alert is."""

    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Alert:
    """Something a human should know or do; ``action`` says what."""

    level: AlertLevel
    code: str
    message: str
    action: str = ""
    sandbox: str | None = None


class Alerts(Protocol):
    """Where alerts go: logs by default, a callback for embedders."""

    def alert(self, alert: Alert) -> None:
        """Deliver one alert; never raises."""
        ...
