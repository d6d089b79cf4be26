"""
Probing a sandbox: is it there, on our workspace, logged in, billed right?

A probe runs, in order: the tool's list (the sandbox exists and mounts the
configured workspace), `claude auth status` inside it (logged in, with the
billing guard), and, when asked, the parity of host and sandbox HEADs.
The first failure is the answer, as a ``WardenError``.

Probes that run at once share one list (``SharedList``): a fan-out over
twenty sandboxes makes one list call, not twenty. Nothing outlives the
call, and a probe never concludes "missing" or "on another workspace"
from a list that began before it did.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace

from returns.pipeline import is_successful
from returns.result import Failure, Result, Success

from sandwarden.domain.auth import AuthStatus, check_billing
from sandwarden.domain.errors import ErrorKind, UnavailableReason, WardenError
from sandwarden.domain.parity import Parity, as_error, compare_heads
from sandwarden.domain.sandbox import SandboxInfo
from sandwarden.domain.values import SandboxName
from sandwarden.ports import SandboxRuntime
from sandwarden.service.deps import Deps
from sandwarden.service.journal import Topic

__all__ = ["Health", "Prober", "SharedList", "login_command", "retarget_login"]

_Listed = Result[tuple[SandboxInfo, ...], WardenError]


@dataclass(frozen=True, slots=True)
class Health:
    """A sandbox that answered a probe healthily, and what it said."""

    sandbox: SandboxName
    auth: AuthStatus
    parity: Parity | None
    checked_at: float


class Prober:
    """
    Probes sandboxes, trusting a healthy answer for a short while.

    The cache spares a turn the probe's cost when the last probe of the
    same sandbox is younger than ``config.probe_cache``; any failure of
    that sandbox (``forget``) drops it.
    """

    def __init__(self, deps: Deps) -> None:
        self._deps = deps
        self._cache: dict[SandboxName, Health] = {}
        self._lists = SharedList(deps.runtime)

    def forget(self, name: SandboxName | None = None) -> None:
        """Distrust the cached health of ``name``, or of every sandbox."""
        if name is None:
            self._cache.clear()
        else:
            self._cache.pop(name, None)

    async def cached(self, name: SandboxName) -> Result[Health, WardenError]:
        """Probe ``name`` unless a fresh healthy answer is cached."""
        health = self._cache.get(name)
        now = self._deps.clock.monotonic()
        fresh = self._deps.config.probe_cache
        if health is not None and now - health.checked_at < fresh:
            return Success(health)

        return await self.probe(name)

    async def probe(
        self,
        name: SandboxName,
        *,
        parity: bool | None = None,
    ) -> Result[Health, WardenError]:
        """Probe ``name`` now; note the answer in the journal."""
        deps = self._deps
        check_parity = deps.config.check_parity if parity is None else parity

        result = (await self._run(name, check_parity=check_parity)).alt(
            lambda error: retarget_login(error, name, deps.config.sandbox),
        )

        if is_successful(result):
            health = result.unwrap()
            self._cache[name] = health
            deps.note(Topic.PROBE, f"{name} is healthy", sandbox=str(name))
        else:
            self.forget(name)
            error = result.failure()
            deps.note(
                Topic.PROBE,
                f"{name} is unhealthy: {error.message}",
                sandbox=str(name),
                kind=str(error.kind),
                reason=None if error.reason is None else str(error.reason),
            )

        return result

    async def _run(
        self,
        name: SandboxName,
        *,
        check_parity: bool,
    ) -> Result[Health, WardenError]:
        deps = self._deps
        config = deps.config

        located = await self._locate(name)
        if not is_successful(located):
            return Failure(located.failure())

        asked = await deps.runtime.auth_status(
            name,
            config.workspace,
            config.probe_limits,
        )
        if not is_successful(asked):
            return Failure(asked.failure())
        status = asked.unwrap()
        if not status.logged_in:
            return Failure(
                WardenError(
                    ErrorKind.AUTH,
                    f"Claude is not logged in inside sandbox '{name}'; "
                    f"log in with `sandwarden login` or restore a template",
                ),
            )
        billed = check_billing(status, config.allow_api_key)
        if not is_successful(billed):
            return Failure(billed.failure())

        verdict: Parity | None = None
        if check_parity:
            verdict = await self.parity(name)
            error = as_error(verdict)
            if error is not None:
                return Failure(error)

        return Success(Health(name, status, verdict, deps.clock.monotonic()))

    async def parity(self, name: SandboxName) -> Parity:
        """Compare the host's HEAD of the workspace with the sandbox's."""
        deps = self._deps
        workspace = deps.config.workspace

        host = await deps.host.git_head(workspace)
        sandbox = await deps.runtime.git_head(name, workspace)

        return compare_heads(
            host.unwrap() if is_successful(host) else None,
            sandbox.unwrap() if is_successful(sandbox) else None,
            host_error=None if is_successful(host) else host.failure(),
            sandbox_error=(
                None if is_successful(sandbox) else sandbox.failure()
            ),
        )

    async def _locate(
        self,
        name: SandboxName,
    ) -> Result[SandboxInfo, WardenError]:
        """
        Find ``name`` in the tool's list, on the configured workspace.

        A shared list that began before this probe may predate a change
        the caller just made (a sandbox created or replaced): its failure
        is checked against a list begun since.
        """
        seen = self._lists.started

        listed, number = await self._lists.list()
        located = listed.bind(lambda found: self._on_workspace(found, name))
        if is_successful(located) or number > seen:
            return located
        listed, _ = await self._lists.list(after=seen)

        return listed.bind(lambda found: self._on_workspace(found, name))

    def _on_workspace(
        self,
        sandboxes: tuple[SandboxInfo, ...],
        name: SandboxName,
    ) -> Result[SandboxInfo, WardenError]:
        found = _find(sandboxes, name)
        if not is_successful(found):
            return found

        info = found.unwrap()
        return self._check_workspace(info).map(lambda _: info)

    def _check_workspace(self, info: SandboxInfo) -> Result[None, WardenError]:
        deps = self._deps
        workspace = deps.config.workspace
        resolved = deps.host.resolve(workspace)

        if any(workspace.matches(path, resolved) for path in info.workspaces):
            return Success(None)
        listed = ", ".join(info.workspaces) or "no workspace"

        return Failure(
            WardenError(
                ErrorKind.WORKSPACE_MISMATCH,
                f"sandbox '{info.name}' mounts {listed} but the configured "
                f"workspace is {workspace}; they must be identical at "
                "create, exec and in the settings",
            ),
        )


_LOGIN = "`sandwarden login`"


def login_command(name: SandboxName, configured: SandboxName) -> str:
    """
    The `sandwarden login` command that logs ``name`` in.

    Plain `sandwarden login` logs the configured sandbox in; any other
    (a heal sandbox swapped in) needs ``--sandbox``.
    """
    if name == configured:
        return _LOGIN

    return f"`sandwarden login --sandbox {name}`"


def retarget_login(
    error: WardenError,
    name: SandboxName,
    configured: SandboxName,
) -> WardenError:
    """
    Make the login hint of ``error``, about sandbox ``name``, name it.

    The domain's messages say plain `sandwarden login`, which logs the
    configured sandbox in, not a heal sandbox that needs it.
    """
    if name == configured or _LOGIN not in error.message:
        return error

    return replace(
        error,
        message=error.message.replace(_LOGIN, login_command(name, configured)),
    )


def _find(
    sandboxes: tuple[SandboxInfo, ...],
    name: SandboxName,
) -> Result[SandboxInfo, WardenError]:
    for info in sandboxes:
        if info.name == name.value:
            return Success(info)

    return Failure(
        WardenError.unavailable(
            UnavailableReason.NOT_FOUND,
            f"sandbox '{name}' does not exist; create it with "
            "`sandwarden login`, or let the warden heal from the template",
        ),
    )


class SharedList:
    """
    The tool's list, one call at a time, shared by whoever needs it then.

    A caller arriving while a list is under way waits for that one
    instead of starting another; once it ends, nothing is kept. Lists are
    numbered as they start, so a caller can ask for one that began after
    a moment it noted (``started`` then).
    """

    def __init__(self, runtime: SandboxRuntime) -> None:
        self._runtime = runtime
        self._started = 0
        self._flight: tuple[int, asyncio.Future[_Listed]] | None = None

    @property
    def started(self) -> int:
        """How many lists have started so far."""
        return self._started

    async def list(self, *, after: int = -1) -> tuple[_Listed, int]:
        """
        The list under way, or a new one; and its number.

        A list numbered ``after`` or lower is not joined. A caller that is
        cancelled leaves the list running for the others.
        """
        flight = self._flight
        if flight is None or flight[0] <= after:
            self._started += 1
            flight = (
                self._started,
                asyncio.ensure_future(self._runtime.list()),
            )
            self._flight = flight
            flight[1].add_done_callback(self._landed)

        number, listing = flight
        listed = await asyncio.shield(listing)

        return listed, number

    def _landed(self, listing: asyncio.Future[_Listed]) -> None:
        if self._flight is not None and self._flight[1] is listing:
            self._flight = None
