"""
What crosses the runtime port: sandboxes, their specs, exec output.

Plain frozen values, shared by the real adapters and the simulator.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum, unique

from sandwarden.domain.deadlines import Stop
from sandwarden.domain.values import ImageTag, SandboxName, Workspace

__all__ = [
    "Capabilities",
    "Chunk",
    "ExecResult",
    "Operation",
    "SandboxInfo",
    "SandboxSpec",
    "SandboxStatus",
    "Stream",
]


@unique
class SandboxStatus(StrEnum):
    """A sandbox's state as its tool lists it."""

    RUNNING = "running"
    STOPPED = "stopped"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class SandboxInfo:
    """
    One sandbox as a tool lists it.

    ``name`` stays a plain string: a tool may list sandboxes that some
    other program named with characters we would refuse. ``workspaces``
    holds the listed paths verbatim (a `:ro` suffix included); the first
    is the primary one.
    """

    name: str
    agent: str
    status: SandboxStatus
    workspaces: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SandboxSpec:
    """What to create: a named sandbox for an agent over a workspace."""

    name: SandboxName
    workspace: Workspace
    agent: str = "claude"
    template: ImageTag | None = None


@unique
class Operation(StrEnum):
    """Operations a runtime may or may not offer."""

    CREATE = "create"
    EXEC = "exec"
    LIST = "list"
    REMOVE = "remove"
    STOP = "stop"
    SAVE = "save"
    SAVE_TO_TAR = "save_to_tar"
    IMAGE_EXISTS = "image_exists"
    IMAGE_TAG = "image_tag"
    IMAGE_EXPORT = "image_export"
    IMAGE_LOAD = "image_load"


@dataclass(frozen=True, slots=True)
class Capabilities:
    """
    What a runtime can do, now and at all.

    ``operations`` is what the tool has at all (sbx has no command to
    tag an image or export a stored one, but saves a sandbox to a tar:
    ``SAVE_TO_TAR``); ``image_store`` is whether the store that templates live
    in answers right now (for the plugin: is Docker Desktop running).
    """

    tool: str
    version: str | None
    image_store: bool
    operations: frozenset[Operation] = field(default_factory=frozenset)

    def can(self, operation: Operation) -> bool:
        """Tell whether the tool offers ``operation`` at all."""
        return operation in self.operations


@unique
class Stream(StrEnum):
    """The output stream a chunk came from."""

    STDOUT = "stdout"
    STDERR = "stderr"


@dataclass(frozen=True, slots=True)
class Chunk:
    """Bytes read from one stream of a running command, in order."""

    stream: Stream
    data: bytes


@dataclass(frozen=True, slots=True)
class ExecResult:
    """
    How a command ended.

    ``stopped`` says which limit stopped it, or that the caller cancelled;
    then ``exit_code`` is whatever the killed process returned, or
    ``None``. ``stderr_tail`` keeps the last 64 KiB of stderr; stdout went
    to the consumer chunk by chunk and only its size is kept here.
    """

    exit_code: int | None
    stopped: Stop | None
    stderr_tail: bytes
    stdout_size: int
    started: float
    ended: float

    @property
    def duration(self) -> float:
        """Seconds from start to end, on the runtime's clock."""
        return self.ended - self.started
