"""
The public face of the library: ``Warden`` (async) and ``SyncWarden``.

Both are built by ``sandwarden.bootstrap`` and return ``Result`` values
whose errors carry a stable ``kind``; neither raises for a failure of the
world. ``SyncWarden`` runs the same coroutines on a private event loop,
for programs that are not asynchronous.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from returns.pipeline import is_successful
from returns.result import Failure, Result, Success

from sandwarden.domain.breaker import BreakerDecision, BreakerState
from sandwarden.domain.errors import WardenError
from sandwarden.domain.healing import HealRecord
from sandwarden.domain.parity import Parity
from sandwarden.domain.reply import Reply
from sandwarden.domain.values import SandboxName
from sandwarden.service.ask import OnRetry, OnText
from sandwarden.service.backups import (
    Backup,
    CreatedBackup,
    Progress,
    Pruned,
    Restored,
)
from sandwarden.service.config import WardenConfig
from sandwarden.service.doctor import Report
from sandwarden.service.heal import HealReport
from sandwarden.service.journal import Note
from sandwarden.service.probe import Health
from sandwarden.service.services import Services
from sandwarden.service.templates import (
    RolledBack,
    SavedTemplate,
    TemplateState,
)

__all__ = ["Status", "SyncWarden", "Warden"]

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Status:
    """Where the warden stands: which sandbox, the breaker, recent heals."""

    configured: SandboxName
    active: SandboxName
    breaker: BreakerDecision
    heals: tuple[HealRecord, ...]


class Warden:
    """
    Keeps a sandbox healthy and runs prompts in it.

    Use it as an async context manager, or call ``close()`` when done.
    """

    def __init__(
        self,
        services: Services,
        *,
        closers: Sequence[Callable[[], None]] = (),
    ) -> None:
        self._services = services
        self._closers = tuple(closers)

    @property
    def config(self) -> WardenConfig:
        """The configuration the services run with."""
        return self._services.deps.config

    @property
    def services(self) -> Services:
        """The services, for programs that need more than this facade."""
        return self._services

    def subscribe(self, callback: Callable[[Note], None]) -> None:
        """Receive every journal note: probes, heals, swaps, alerts."""
        self._services.deps.journal.subscribers.append(callback)

    async def ask(
        self,
        prompt: str,
        *,
        conversation: str | None = None,
        on_text: OnText | None = None,
        on_retry: OnRetry | None = None,
    ) -> Result[Reply, WardenError]:
        """
        Send ``prompt`` to Claude and return its reply.

        ``conversation`` names a conversation to continue; turns of one
        conversation run one at a time within this process, so one
        process should own a conversation (the state store does not
        order turns across processes). ``on_text`` receives the answer's
        text as it arrives, each piece once. When a run that had shown
        text fails and the turn runs again (after a heal), ``on_retry``
        gets the reason: the text so far was cut off and the answer
        starts again. The reply's ``notes`` say what the warden did on
        the way (a heal, a new conversation).
        """
        return await self._services.asker.ask(
            prompt,
            conversation=conversation,
            on_text=on_text,
            on_retry=on_retry,
        )

    async def probe(
        self,
        sandbox: SandboxName | None = None,
    ) -> Result[Health, WardenError]:
        """Probe the active sandbox (or ``sandbox``) now, not cached."""
        name = sandbox or await self._services.healer.active()

        return await self._services.prober.probe(name)

    async def heal(
        self,
        *,
        force: bool = False,
    ) -> Result[HealReport, WardenError]:
        """
        Heal now, as an operator would ask.

        While the circuit breaker is open the heal is refused
        (``breaker_open``) unless ``force``; either way the breaker
        counts its outcome.
        """
        return await self._services.healer.heal(None, force=force)

    async def watch(
        self,
        *,
        stop: asyncio.Event | None = None,
        checks: int | None = None,
    ) -> int:
        """Run the health watchdog until ``stop`` is set; return the checks."""
        return await self._services.watchdog.run(stop=stop, checks=checks)

    async def parity(self) -> Parity:
        """Compare the host's and the active sandbox's git HEAD."""
        active = await self._services.healer.active()

        return await self._services.prober.parity(active)

    async def save_template(
        self,
        sandbox: SandboxName | None = None,
    ) -> Result[SavedTemplate, WardenError]:
        """
        Save the active sandbox (or ``sandbox``) as the template.

        The current template is kept as ``prev`` first; a sandbox that
        does not probe healthy is refused.
        """
        return await self._services.templates.save(sandbox)

    async def rollback_template(self) -> Result[RolledBack, WardenError]:
        """Point the template back at the one it replaced (``prev``)."""
        return await self._services.templates.rollback()

    async def templates(self) -> Result[TemplateState, WardenError]:
        """Which of the template's ``latest`` and ``prev`` tags exist."""
        return await self._services.templates.state()

    async def backup(
        self,
        *,
        save: bool = False,
        progress: Progress | None = None,
    ) -> Result[CreatedBackup, WardenError]:
        """
        Export the template to a verified, timestamped tar file.

        ``save`` saves the active sandbox as the template first;
        ``progress`` receives bytes done and bytes in all while the
        export runs.
        """
        return await self._services.backups.create(
            save=save,
            progress=progress,
        )

    async def backups(
        self,
        *,
        verify: bool = False,
    ) -> Result[tuple[Backup, ...], WardenError]:
        """The backups, newest first; ``verify`` checks every digest."""
        return await self._services.backups.list(verify=verify)

    async def prune_backups(self) -> Result[Pruned, WardenError]:
        """Delete all but the newest backups the settings keep."""
        return self._services.backups.prune()

    async def restore(
        self,
        path: str | None = None,
        *,
        force: bool = False,
        progress: Progress | None = None,
    ) -> Result[Restored, WardenError]:
        """
        Rebuild the sandbox from a backup (default: the latest one).

        The file is checked against its manifest before it is loaded;
        ``force`` accepts a file without a manifest.
        """
        return await self._services.backups.restore(
            path,
            force=force,
            progress=progress,
        )

    async def doctor(self) -> Report:
        """
        Check the tool, the daemon, the sandbox, the login and the backups.

        Never fails: every problem is a finding with its fix.
        """
        return await self._services.doctor.diagnose()

    async def status(self) -> Result[Status, WardenError]:
        """The active sandbox, the breaker's state and the last heals."""
        deps = self._services.deps
        stored = await deps.store.breaker()
        if not is_successful(stored):
            return Failure(stored.failure())
        history = await deps.store.heal_history(10)
        if not is_successful(history):
            return Failure(history.failure())
        state: BreakerState = stored.unwrap()

        return Success(
            Status(
                configured=deps.config.sandbox,
                active=await self._services.healer.active(),
                breaker=deps.config.breaker.peek(state, deps.clock.time()),
                heals=history.unwrap(),
            ),
        )

    def close(self) -> None:
        """Release what the warden holds (the state database)."""
        for close in self._closers:
            close()
        self._closers = ()

    async def __aenter__(self) -> Warden:
        return self

    async def __aexit__(self, *_: object) -> None:
        self.close()


class SyncWarden:
    """
    The same warden for code without an event loop.

    Each call runs to completion on a private loop in the calling thread;
    do not call it from inside a running event loop (use ``Warden``).
    """

    def __init__(self, warden: Warden) -> None:
        self._warden = warden
        self._runner = asyncio.Runner()

    @property
    def warden(self) -> Warden:
        """The async warden underneath."""
        return self._warden

    @property
    def config(self) -> WardenConfig:
        """The configuration the services run with."""
        return self._warden.config

    def ask(
        self,
        prompt: str,
        *,
        conversation: str | None = None,
        on_text: OnText | None = None,
        on_retry: OnRetry | None = None,
    ) -> Result[Reply, WardenError]:
        """Send ``prompt`` and wait for the reply; see ``Warden.ask``."""
        return self._run(
            self._warden.ask(
                prompt,
                conversation=conversation,
                on_text=on_text,
                on_retry=on_retry,
            ),
        )

    def probe(
        self,
        sandbox: SandboxName | None = None,
    ) -> Result[Health, WardenError]:
        """Probe now; see ``Warden.probe``."""
        return self._run(self._warden.probe(sandbox))

    def heal(self, *, force: bool = False) -> Result[HealReport, WardenError]:
        """Heal now; see ``Warden.heal``."""
        return self._run(self._warden.heal(force=force))

    def watch(self, *, checks: int | None = None) -> int:
        """Run the watchdog for ``checks`` checks (None: until interrupted)."""
        return self._run(self._warden.watch(checks=checks))

    def parity(self) -> Parity:
        """Compare HEADs; see ``Warden.parity``."""
        return self._run(self._warden.parity())

    def save_template(
        self,
        sandbox: SandboxName | None = None,
    ) -> Result[SavedTemplate, WardenError]:
        """Save the template; see ``Warden.save_template``."""
        return self._run(self._warden.save_template(sandbox))

    def rollback_template(self) -> Result[RolledBack, WardenError]:
        """Roll the template back; see ``Warden.rollback_template``."""
        return self._run(self._warden.rollback_template())

    def templates(self) -> Result[TemplateState, WardenError]:
        """The template's tags; see ``Warden.templates``."""
        return self._run(self._warden.templates())

    def backup(
        self,
        *,
        save: bool = False,
        progress: Progress | None = None,
    ) -> Result[CreatedBackup, WardenError]:
        """Back the template up; see ``Warden.backup``."""
        return self._run(self._warden.backup(save=save, progress=progress))

    def backups(
        self,
        *,
        verify: bool = False,
    ) -> Result[tuple[Backup, ...], WardenError]:
        """The backups, newest first; see ``Warden.backups``."""
        return self._run(self._warden.backups(verify=verify))

    def prune_backups(self) -> Result[Pruned, WardenError]:
        """Rotate the backups; see ``Warden.prune_backups``."""
        return self._run(self._warden.prune_backups())

    def restore(
        self,
        path: str | None = None,
        *,
        force: bool = False,
        progress: Progress | None = None,
    ) -> Result[Restored, WardenError]:
        """Restore from a backup; see ``Warden.restore``."""
        return self._run(
            self._warden.restore(path, force=force, progress=progress),
        )

    def doctor(self) -> Report:
        """Diagnose; see ``Warden.doctor``."""
        return self._run(self._warden.doctor())

    def status(self) -> Result[Status, WardenError]:
        """Where the warden stands; see ``Warden.status``."""
        return self._run(self._warden.status())

    def close(self) -> None:
        """Close the warden and the private loop."""
        self._warden.close()
        self._runner.close()

    def __enter__(self) -> SyncWarden:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _run(self, coroutine: Coroutine[Any, Any, _T]) -> _T:
        return self._runner.run(coroutine)
