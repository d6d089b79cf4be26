"""
Probing a sandbox: is it there, on our workspace, logged in, billed right?

A probe runs, in order: the tool's list (the sandbox exists and mounts the
configured workspace), `claude auth status` inside it (logged in, with the
billing guard), and, when asked, the parity of host and sandbox HEADs.
The first failure is the answer, as a ``WardenError``.
"""

from __future__ import annotations

from dataclasses import dataclass

from returns.pipeline import is_successful
from returns.result import Failure, Result, Success

from sandwarden.domain.auth import AuthStatus, check_billing
from sandwarden.domain.errors import ErrorKind, UnavailableReason, WardenError
from sandwarden.domain.parity import Parity, as_error, compare_heads
from sandwarden.domain.sandbox import SandboxInfo
from sandwarden.domain.values import SandboxName
from sandwarden.service.deps import Deps
from sandwarden.service.journal import Topic

__all__ = ["Health", "Prober"]


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

        result = await self._run(name, check_parity=check_parity)

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

        listed = await deps.runtime.list()
        if not is_successful(listed):
            return Failure(listed.failure())
        found = _find(listed.unwrap(), name)
        if not is_successful(found):
            return Failure(found.failure())
        mounted = self._check_workspace(found.unwrap())
        if not is_successful(mounted):
            return Failure(mounted.failure())

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
