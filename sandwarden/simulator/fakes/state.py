"""
The fakes' state file: the simulated world plus the fakes' own settings.

Every invocation of a fake takes an exclusive ``fcntl.flock`` on a
sibling lock file, reads the JSON, changes it, writes it back atomically
(temporary file, fsync, rename) and lets go. The lock is never held while
a scripted reply plays, so a long run does not block ``ls``.

The file holds ``{"world": <World>, "fakes": <FakeSettings>}``: the
world in the simulator's own serialisation, and beside it what only the
fakes need (which output generation to print, the host secrets of sbx).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum, unique
from pathlib import Path

from sandwarden.simulator.codec import from_plain, to_plain
from sandwarden.simulator.world import World

__all__ = [
    "CLAUDE_ENV",
    "LATENCY_ENV",
    "STATE_ENV",
    "TIME_SCALE_ENV",
    "DockerGeneration",
    "FakeSettings",
    "FakeState",
    "SbxGeneration",
    "StateFile",
    "StateFileError",
]

#: Names the state file; every fake refuses to run without it.
STATE_ENV = "SANDWARDEN_FAKE_STATE"
#: Multiplies every scripted delay (default 1.0; tests use small values).
TIME_SCALE_ENV = "SANDWARDEN_FAKE_TIME_SCALE"
#: Seconds every ``docker``/``sbx`` command line sleeps before it starts
#: (default 0): a stand-in for the real tools' wait on their VM, which the
#: fakes, answering from a file, do not have. No lock is held meanwhile.
LATENCY_ENV = "SANDWARDEN_FAKE_LATENCY"
#: A real claude binary to run for ``exec ... claude ...`` instead of a
#: scripted reply.
CLAUDE_ENV = "SANDWARDEN_FAKE_CLAUDE"


@unique
class DockerGeneration(StrEnum):
    """Which `docker sandbox` plugin the fake `docker` imitates."""

    # Docker Desktop 4.50-4.57: containers, `ls` table with ids.
    LEGACY = "legacy"
    # 4.58-4.60, plugin v0.7-v0.11: `ls --json` under a `vms` key.
    G1 = "g1"
    # 4.61 onward, plugin v0.12: `ls --json` under a `sandboxes` key.
    G2 = "g2"


@unique
class SbxGeneration(StrEnum):
    """Which `sbx` release line the fake `sbx` imitates."""

    # v0.27-v0.31: `Client Version:` / `Server Version:` lines.
    EARLY = "early"
    # v0.35 onward: `sbx version: vX <sha>`, `--format json`.
    CURRENT = "current"


@dataclass(slots=True)
class FakeSettings:
    """
    What the fakes need beyond the world.

    ``secrets`` are sbx's host-side credentials: service to kind
    (``oauth`` or ``api_key``); a new sbx sandbox is logged in when an
    ``anthropic`` secret exists, as the host proxy injects it.
    """

    docker_generation: DockerGeneration = DockerGeneration.G2
    sbx_generation: SbxGeneration = SbxGeneration.CURRENT
    secrets: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class FakeState:
    """Everything in the state file."""

    world: World = field(default_factory=World)
    fakes: FakeSettings = field(default_factory=FakeSettings)


class StateFileError(Exception):
    """The state file is missing, unnamed or unreadable."""


class StateFile:
    """The JSON file the fakes keep their world in, with its lock."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock_path = path.with_name(path.name + ".lock")

    @classmethod
    def from_environment(cls) -> StateFile:
        """The state file named by ``SANDWARDEN_FAKE_STATE``."""
        raw = os.environ.get(STATE_ENV, "")
        if not raw:
            msg = f"{STATE_ENV} is not set; expected the fake state file"
            raise StateFileError(msg)

        return cls(Path(raw))

    def create(self, state: FakeState) -> None:
        """Write ``state`` as the initial content, replacing any file."""
        with self._locked():
            self._write(state)

    def read(self) -> FakeState:
        """
        A snapshot of the state, read under the lock, shared.

        Readers exclude a transaction, not each other: concurrent fake
        commands (a fan-out of probes) then do not queue to read.
        """
        with self._locked(shared=True):
            return self._read()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[FakeState]:
        """
        Lock, read, yield the state for changes, write it back, unlock.

        If the body raises, nothing is written.
        """
        with self._locked():
            state = self._read()
            yield state
            self._write(state)

    @contextlib.contextmanager
    def _locked(self, *, shared: bool = False) -> Iterator[None]:
        with self.lock_path.open("a") as lock:
            fcntl.flock(
                lock.fileno(),
                fcntl.LOCK_SH if shared else fcntl.LOCK_EX,
            )
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def _read(self) -> FakeState:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            return FakeState(
                from_plain(World, raw["world"]),
                from_plain(FakeSettings, raw["fakes"]),
            )
        except (OSError, ValueError, TypeError, KeyError) as error:
            msg = (
                f"fake state file {self.path} is unusable ({error}); "
                "expected the JSON that install_fakes writes"
            )
            raise StateFileError(msg) from error

    def _write(self, state: FakeState) -> None:
        text = json.dumps(
            {"world": to_plain(state.world), "fakes": to_plain(state.fakes)},
            sort_keys=True,
            indent=1,
        )
        descriptor, temporary = tempfile.mkstemp(
            prefix=self.path.name + ".",
            suffix=".tmp",
            dir=self.path.parent,
        )
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
