"""
The health watchdog: probe the active sandbox on an interval, heal it.

Each check probes the active sandbox (never from the cache), asks the
domain's watchdog policy what to do, does it, and sleeps until the
policy's next check. The loop survives its own errors: an exception in a
check becomes a probe that did not run, answered with a back-off.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from returns.pipeline import is_successful

from sandwarden.domain.breaker import BreakerState
from sandwarden.domain.errors import ErrorKind, WardenError
from sandwarden.domain.values import SandboxName
from sandwarden.domain.watchdog import (
    Action,
    ProbeReport,
    WatchdogDecision,
    WatchdogPolicy,
    WatchdogState,
    awaiting_login,
)
from sandwarden.ports import Alert, AlertLevel, Clock
from sandwarden.service.deps import Deps
from sandwarden.service.heal import Healer
from sandwarden.service.journal import Topic
from sandwarden.service.probe import Prober

__all__ = ["WatchReport", "Watchdog"]

_log = logging.getLogger("sandwarden")


@dataclass(frozen=True, slots=True)
class WatchReport:
    """One check: what the probe found and what the watchdog did."""

    sandbox: str
    report: ProbeReport
    decision: WatchdogDecision


class Watchdog:
    """Checks health on the clock until told to stop."""

    def __init__(self, deps: Deps, prober: Prober, healer: Healer) -> None:
        self._deps = deps
        self._prober = prober
        self._healer = healer
        self._policy = WatchdogPolicy(interval=deps.config.watchdog_interval)
        self._state = WatchdogState()

    async def run(
        self,
        *,
        stop: asyncio.Event | None = None,
        checks: int | None = None,
    ) -> int:
        """
        Check until ``stop`` is set or ``checks`` checks ran; return count.

        Cancelling the task that runs this is also a clean way to stop.
        With the watchdog disabled in the settings it checks nothing and
        returns 0 at once, so an embedder's ``watch()`` task obeys
        ``SANDBOX_HEALTH_WATCHDOG_ENABLED`` as the CLI does.
        """
        if not self._deps.config.watchdog_enabled:
            _log.info("watchdog disabled in the settings; not watching")
            return 0

        clock = self._deps.clock
        done = 0
        while checks is None or done < checks:
            if stop is not None and stop.is_set():
                break
            report = await self.check()
            done += 1
            if checks is not None and done >= checks:
                break
            delay = max(0.0, report.decision.next_at - clock.time())
            if stop is None:
                await clock.sleep(delay)
            elif await _stopped_within(stop, clock, delay):
                break

        return done

    async def check(self) -> WatchReport:
        """Run one check and act on it; never raises for the world's faults."""
        deps = self._deps
        try:
            active = await self._healer.active()
            health = await self._prober.probe(active)
            report = (
                ProbeReport.healthy()
                if is_successful(health)
                else ProbeReport.unhealthy(health.failure())
            )
        except Exception as error:  # the watchdog must outlive its bugs
            _log.exception("watchdog probe failed")
            active = deps.config.sandbox
            report = _crashed("probe", error)

        try:
            decision = await self._decide(report, str(active))
            self._state = decision.state
            await self._act(decision, report, active)
        except Exception as error:  # a heal, the store or a bug raised
            _log.exception("watchdog check failed")
            report = _crashed("check", error)
            decision = self._backed_off(report)
            self._state = decision.state
            await self._act_safely(decision, report, active)

        return WatchReport(str(active), report, decision)

    async def _act_safely(
        self,
        decision: WatchdogDecision,
        report: ProbeReport,
        active: SandboxName,
    ) -> None:
        """Note the back-off, or page once the checks keep failing."""
        try:
            await self._act(decision, report, active)
        except Exception:  # the page itself failed; the log keeps it
            _log.exception("watchdog could not report a failed check")

    def _backed_off(self, report: ProbeReport) -> WatchdogDecision:
        """The policy's answer to a check that could not run."""
        deps = self._deps
        now = deps.clock.time()
        # A check that could not run backs off whatever the breaker says:
        # the breaker is read only to satisfy the policy's signature.
        breaker = deps.config.breaker.peek(BreakerState(), now)

        return self._policy.decide(
            self._state,
            report,
            now,
            breaker=breaker,
            self_heal=deps.config.self_heal,
        )

    async def _decide(
        self,
        report: ProbeReport,
        active: str,
    ) -> WatchdogDecision:
        deps = self._deps
        now = deps.clock.time()
        stored = await deps.store.breaker()
        state = stored.value_or(BreakerState())
        history = await deps.store.heal_history(1)
        last = history.value_or(())

        return self._policy.decide(
            self._state,
            report,
            now,
            breaker=deps.config.breaker.peek(state, now),
            self_heal=deps.config.self_heal,
            awaiting_login=awaiting_login(last[-1] if last else None, active),
        )

    async def _act(
        self,
        decision: WatchdogDecision,
        report: ProbeReport,
        active: SandboxName,
    ) -> None:
        deps = self._deps
        if decision.action is not Action.NOTHING:
            deps.note(
                Topic.WATCH,
                f"{active}: {decision.why} → {decision.action}",
                sandbox=str(active),
                action=str(decision.action),
            )
        match decision.action:
            case Action.HEAL:
                healed = await self._healer.heal(report.error, failed=active)
                if not is_successful(healed):
                    deps.note(
                        Topic.WATCH,
                        f"heal refused: {healed.failure().message}",
                    )
            case Action.ALERT_ONLY:
                # The heal that left a sandbox awaiting a login has paged
                # the operator already, naming the command to run.
                waiting = decision.state.alerted == "awaiting_login"
                if decision.notify and not waiting:
                    deps.alert(
                        Alert(
                            AlertLevel.ERROR,
                            "watchdog",
                            decision.why,
                            action="run `sandwarden doctor`",
                            sandbox=str(active),
                        ),
                    )
            case Action.NOTHING:
                if decision.notify:
                    deps.note(Topic.WATCH, f"{active} is healthy again")
            case Action.BACK_OFF:
                pass


def _crashed(what: str, error: Exception) -> ProbeReport:
    return ProbeReport.not_run(
        WardenError(ErrorKind.UNKNOWN, f"{what} crashed: {error!r}"),
    )


async def _stopped_within(
    stop: asyncio.Event,
    clock: Clock,
    delay: float,
) -> bool:
    """Sleep ``delay``, or return early (True) when ``stop`` is set."""
    waiter = asyncio.ensure_future(stop.wait())
    sleeper = asyncio.ensure_future(clock.sleep(delay))
    done, pending = await asyncio.wait(
        {waiter, sleeper},
        return_when=asyncio.FIRST_COMPLETED,
    )
    for task in pending:
        task.cancel()

    return waiter in done
