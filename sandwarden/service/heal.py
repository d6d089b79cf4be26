"""
Healing: recover a broken sandbox, behind the breaker and the heal lock.

A heal runs the domain's heal plan step by step through the ports:

1. one heal at a time: in this process an asyncio lock, across processes
   the store's heal lock; a heal that finds the failed sandbox already
   replaced, or a heal ended while it waited, probes the active sandbox
   and uses it when healthy (whoever healed: another task or process);
2. the breaker: a sandbox that breaks again soon after a heal counts as a
   failed heal (flapping); too many failures in the window refuse;
3. the plan: reuse `<name>-heal`, create it from the template, adopt a
   healthy sandbox of the same workspace, or create a fresh one and ask
   the operator to log in;
4. the swap of the active sandbox, the breaker's new state, the history,
   and an alert when a human is needed.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass

from returns.pipeline import is_successful
from returns.result import Failure, Result, Success

from sandwarden.domain.breaker import (
    BreakerChange,
    BreakerState,
    BreakerUpdate,
)
from sandwarden.domain.errors import ErrorKind, UnavailableReason, WardenError
from sandwarden.domain.healing import HealRecord
from sandwarden.domain.healplan import (
    HealOutcome,
    HealPlan,
    HealTrigger,
    PlanContext,
    Step,
    StepKind,
    StepOutcome,
    advance,
    heal_trigger,
    next_step,
    start_plan,
)
from sandwarden.domain.sandbox import Capabilities, Operation, SandboxSpec
from sandwarden.domain.values import SandboxName
from sandwarden.ports import Alert, AlertLevel
from sandwarden.service.deps import Deps
from sandwarden.service.doctor import _tool_of
from sandwarden.service.heallock import holding_heal_lock
from sandwarden.service.journal import Topic
from sandwarden.service.probe import Prober

__all__ = ["HealReport", "Healer"]


@dataclass(frozen=True, slots=True)
class HealReport:
    """
    How a heal ended, for the caller and the operator.

    ``usable`` is true when the active sandbox probed healthy at the end;
    ``outcome`` is None when no heal ran: an operator's heal found the
    active sandbox healthy, or another heal (``by_other_process``: of
    another process) had healed already and this one used its result.
    ``login_action`` says, in the sandbox tool's own commands, how an
    operator logs in when the heal ended on a sandbox awaiting a login
    (``needs_login``).
    """

    sandbox: SandboxName | None
    outcome: HealOutcome | None
    usable: bool
    swapped: bool
    steps: tuple[str, ...]
    summary: str
    by_other_process: bool = False
    login_action: str | None = None

    @property
    def needs_login(self) -> bool:
        """Tell whether the heal left ``sandbox`` for an operator's login."""
        return self.outcome is HealOutcome.NEEDS_LOGIN


class Healer:
    """Heals the active sandbox; knows which sandbox is active."""

    def __init__(self, deps: Deps, prober: Prober) -> None:
        self._deps = deps
        self._prober = prober
        self._lock = asyncio.Lock()
        self._owner = f"pid-{os.getpid()}-{id(self):x}"

    async def active(self) -> SandboxName:
        """The sandbox turns go to: the stored choice, else the primary."""
        stored = await self._deps.store.active_sandbox()
        if is_successful(stored):
            name = stored.unwrap()
            if name is not None:
                return name

        return self._deps.config.sandbox

    async def heal(
        self,
        error: WardenError | None = None,
        *,
        failed: SandboxName | None = None,
        force: bool = False,
    ) -> Result[HealReport, WardenError]:
        """
        Heal after ``error`` (None: an operator asked for a heal).

        An operator's heal probes the active sandbox first: a healthy
        one is left alone, with no heal recorded and the breaker as it
        was.

        The breaker decides unless ``force``: a forced heal runs even
        while the breaker is open (its outcome still counts). Only a
        failure seen (``error``) counts as a breakage of the last heal.

        ``failed`` is the sandbox the failure came from (default: the
        active one); pass it, so that a heal finding it already replaced
        by a healthy sandbox uses that one instead of healing again.
        A refusal of the breaker or an ineligible error is a ``Failure``;
        a heal that ran but found no usable sandbox is a ``Success``
        whose report says so.
        """
        if error is None:
            trigger = HealTrigger.requested()
        else:
            eligible = heal_trigger(error)
            if not is_successful(eligible):
                return Failure(eligible.failure())
            trigger = eligible.unwrap()
        # Which sandbox failed is fixed now, before any wait: once the
        # lock is ours another heal may have replaced it already.
        broken = failed or await self.active()
        asked = self._deps.clock.time()

        held = holding_heal_lock(self._deps, self._owner, "heal")
        async with self._lock, held as waited:
            active = await self.active()
            if error is None:
                # An operator's heal heals only what is broken: a
                # healthy sandbox (and its sessions) stays as it is.
                health = await self._prober.probe(active)
                if is_successful(health):
                    return Success(self._healthy(active))
                trigger = heal_trigger(health.failure()).value_or(trigger)
            elif active != broken or await self._healed_since(asked):
                health = await self._prober.probe(active)
                if is_successful(health):
                    return Success(self._reused(active, broken, waited))
                if active != broken:
                    # The sandbox that failed no longer serves, and the
                    # one that does is broken too: that one is healed.
                    broken = active
                    trigger = heal_trigger(health.failure()).value_or(
                        trigger,
                    )
            return await self._heal(
                trigger,
                broken,
                breakage=error is not None and not force,
                forced=force,
            )

    async def _healed_since(self, asked: float) -> bool:
        """Tell whether a heal ended after ``asked`` (while this waited)."""
        last = await self._last_heal()

        return last is not None and last.ended_at > asked

    def _healthy(self, active: SandboxName) -> HealReport:
        """The report of an operator's heal that found nothing broken."""
        summary = f"{active} is healthy; nothing to heal"
        self._deps.note(Topic.HEAL, summary, sandbox=str(active))

        return HealReport(
            sandbox=active,
            outcome=None,
            usable=True,
            swapped=False,
            steps=(),
            summary=summary,
        )

    def _reused(
        self,
        active: SandboxName,
        broken: SandboxName,
        waited: bool,
    ) -> HealReport:
        """The report of a heal already done by another process or task."""
        if waited:
            summary = f"another process healed; now using {active}"
        elif active == broken:
            summary = f"another heal remade {active}; using it"
        else:
            summary = f"another heal replaced {broken}; now using {active}"
        self._deps.note(Topic.HEAL, summary, sandbox=str(active))

        return HealReport(
            sandbox=active,
            outcome=None,
            usable=True,
            swapped=active != broken,
            steps=(),
            summary=summary,
            by_other_process=waited,
        )

    async def _heal(
        self,
        trigger: HealTrigger,
        broken: SandboxName,
        *,
        breakage: bool,
        forced: bool,
    ) -> Result[HealReport, WardenError]:
        deps = self._deps
        policy = deps.config.breaker
        started = deps.clock.time()
        state = await self._breaker_state()

        if breakage:
            state = await self._record_breakage(state, started)
        decision = policy.decide(state, started)
        await deps.store.save_breaker(decision.state)
        refusal = decision.error()
        if refusal is not None and not forced:
            deps.note(
                Topic.BREAKER,
                decision.why,
                verdict=str(decision.verdict),
                failures=decision.failures,
            )
            return Failure(refusal)
        deps.note(
            Topic.HEAL_STEP,
            f"healing {broken}: {trigger.describe()}",
            sandbox=str(broken),
            breaker=str(decision.verdict),
        )

        plan = await self._run_plan(trigger, broken)
        ended = deps.clock.time()

        return Success(
            await self._settle(plan, decision.state, broken, ended, started)
        )

    async def _record_breakage(
        self,
        state: BreakerState,
        now: float,
    ) -> BreakerState:
        """Count the active sandbox's breakage; mark a heal it undid."""
        deps = self._deps
        undid = state.last_success_at
        update = deps.config.breaker.record_breakage(state, now)
        # A breakage that counts undoes the last success, which the
        # breaker then forgets: that success was a heal that flapped.
        if undid is not None and update.state.last_success_at is None:
            marked = await deps.store.mark_heal_undone(undid, now)
            if not is_successful(marked):
                deps.note(
                    Topic.HEAL_STEP,
                    "could not mark the flapped heal in the history: "
                    f"{marked.failure().message}",
                )
            deps.note(
                Topic.BREAKER,
                "the last heal did not hold (flapping): counted as a "
                "failed heal",
            )

        return self._apply(update)

    async def _run_plan(
        self,
        trigger: HealTrigger,
        broken: SandboxName,
    ) -> HealPlan:
        plan = start_plan(trigger, await self._context(broken))
        noted = self._note_entries(plan, 0)
        for _ in range(plan.max_steps + 1):
            if plan.finished:
                break
            step = next_step(plan)
            outcome = await self._carry_out(step)
            plan = advance(plan, outcome)
            noted = self._note_entries(plan, noted)

        return plan

    def _note_entries(self, plan: HealPlan, noted: int) -> int:
        """Note the plan's entries from ``noted`` on; return the count."""
        # One step may add two entries (a step, then the skip it leads
        # to), and a plan may start with skips: note every one.
        for entry in plan.entries[noted:]:
            self._deps.note(Topic.HEAL_STEP, entry.sentence())

        return len(plan.entries)

    async def _context(self, broken: SandboxName) -> PlanContext:
        deps = self._deps
        config = deps.config
        image_store = False
        template_exists: bool | None = None
        tool_error: str | None = None
        cannot_create: str | None = None

        capabilities = await deps.runtime.capabilities()
        if is_successful(capabilities):
            image_store = capabilities.unwrap().image_store
            cannot_create = _cannot_create(capabilities.unwrap())
        else:
            tool_error = capabilities.failure().message
        if (
            image_store
            and config.template is not None
            and capabilities.unwrap().can(Operation.IMAGE_EXISTS)
        ):
            exists = await deps.runtime.image_exists(config.template)
            template_exists = exists.value_or(None)

        return PlanContext(
            primary=config.sandbox,
            workspace=config.workspace,
            image_store=image_store,
            template=config.template,
            template_exists=template_exists,
            failed=broken,
            resolved_workspace=deps.host.resolve(config.workspace),
            tool_error=tool_error,
            cannot_create=cannot_create,
        )

    async def _carry_out(self, step: Step) -> StepOutcome:
        runtime = self._deps.runtime
        match step.kind:
            case StepKind.REUSE_HEAL_SANDBOX | StepKind.ADOPT:
                assert step.sandbox is not None
                return await self._probed(step.sandbox)
            case StepKind.CREATE_FROM_TEMPLATE | StepKind.CREATE_FRESH:
                return await self._created(step)
            case StepKind.DISCOVER:
                listed = await runtime.list()
                if not is_successful(listed):
                    return StepOutcome.failed(listed.failure())
                return StepOutcome.listed(listed.unwrap())
            case StepKind.DONE | StepKind.GIVE_UP:  # pragma: no cover
                msg = f"a finished plan has no step to carry out: {step}"
                raise ValueError(msg)

    async def _probed(self, name: SandboxName) -> StepOutcome:
        health = await self._prober.probe(name)
        if is_successful(health):
            return StepOutcome.healthy()

        return StepOutcome.unhealthy(health.failure())

    async def _created(self, step: Step) -> StepOutcome:
        runtime = self._deps.runtime
        config = self._deps.config
        assert step.sandbox is not None

        if step.kind is StepKind.CREATE_FRESH and step.replace_existing:
            # A sandbox there that only lacks a login (perhaps one an
            # operator is logging into) is kept, not replaced by another
            # that lacks a login too. The probe checks the workspace
            # before the login: an auth failure means the right one.
            health = await self._prober.probe(step.sandbox)
            if not is_successful(health):
                if health.failure().kind is ErrorKind.AUTH:
                    return StepOutcome.awaiting_login(health.failure())
            else:
                return StepOutcome.healthy()
        if step.replace_existing:
            removed = await runtime.remove(step.sandbox)
            if not is_successful(removed) and not _missing(removed.failure()):
                return StepOutcome.failed(removed.failure())
        spec = SandboxSpec(
            name=step.sandbox,
            workspace=step.workspace or config.workspace,
            template=step.template,
        )
        created = await runtime.create(spec)
        if not is_successful(created):
            return StepOutcome.failed(created.failure())

        return await self._probed(step.sandbox)

    async def _settle(
        self,
        plan: HealPlan,
        state: BreakerState,
        broken: SandboxName,
        ended: float,
        started: float,
    ) -> HealReport:
        deps = self._deps
        policy = deps.config.breaker
        target = plan.swap_to
        swapped = False

        if target is not None and target != await self.active():
            await deps.store.set_active_sandbox(target)
            swapped = True
            deps.note(
                Topic.SWAP,
                f"active sandbox is now {target} (was {broken})",
                sandbox=str(target),
                previous=str(broken),
            )
        self._prober.forget()
        if plan.succeeded:
            update = policy.record_success(state, ended)
        else:
            update = policy.record_failure(state, ended)
        self._apply(update)
        await deps.store.save_breaker(update.state)
        previous = await self._last_heal()
        await deps.store.record_heal(plan.record(started, ended))
        login_action = None
        if plan.needs_login and target is not None:
            login_action = await self._login_action(target)
        summary = _summary(plan)
        deps.note(
            Topic.HEAL,
            summary,
            outcome=None if plan.outcome is None else str(plan.outcome),
            sandbox=None if target is None else str(target),
        )
        # An operator is paged when healing starts to fail, not at every
        # failed attempt after that: the breaker's alert covers a streak.
        if previous is None or previous.succeeded:
            self._alert_if_needed(plan, login_action)
        elif not plan.succeeded:
            deps.note(
                Topic.HEAL_STEP,
                "still failing; the operator was alerted at the first "
                "failed heal",
            )

        return HealReport(
            sandbox=target,
            outcome=plan.outcome,
            usable=plan.succeeded,
            swapped=swapped,
            steps=plan.sentences(),
            summary=summary,
            login_action=login_action,
        )

    async def _login_action(self, name: SandboxName) -> str:
        """How an operator logs ``name`` in, in the tool's own commands."""
        prefix = _tool_of(await self._deps.runtime.capabilities()).prefix

        return (
            f"log in once: `{prefix} exec -it {name} claude` and run "
            f"/login (or `sandwarden login --sandbox {name}`), then "
            "`sandwarden template save` so the next heal needs no human"
        )

    async def _last_heal(self) -> HealRecord | None:
        history = await self._deps.store.heal_history(1)
        if not is_successful(history) or not history.unwrap():
            return None

        return history.unwrap()[-1]

    def _apply(self, update: BreakerUpdate) -> BreakerState:
        """Note and alert on what an update changed; return its state."""
        deps = self._deps
        if update.change is BreakerChange.OPENED:
            policy = deps.config.breaker
            message = (
                f"self-heal stopped: {policy.max_failures} failed heals "
                f"within {policy.window:g} s"
            )
            deps.note(Topic.BREAKER, message, change=str(update.change))
            deps.alert(
                Alert(
                    AlertLevel.ERROR,
                    str(ErrorKind.BREAKER_OPEN),
                    message,
                    action=(
                        "look at `sandwarden status` and `sandwarden "
                        "doctor`; fix the sandbox or run `sandwarden heal "
                        "--force`"
                    ),
                    sandbox=str(deps.config.sandbox),
                ),
            )
        elif update.change is not BreakerChange.NONE:
            deps.note(
                Topic.BREAKER,
                f"breaker {update.change}",
                change=str(update.change),
            )

        return update.state

    async def _breaker_state(self) -> BreakerState:
        stored = await self._deps.store.breaker()
        if is_successful(stored):
            return stored.unwrap()
        self._deps.note(
            Topic.BREAKER,
            f"breaker state unreadable, starting fresh: "
            f"{stored.failure().message}",
        )

        return BreakerState()

    def _alert_if_needed(
        self,
        plan: HealPlan,
        login_action: str | None,
    ) -> None:
        deps = self._deps
        if login_action is not None and plan.swap_to is not None:
            name = plan.swap_to
            deps.alert(
                Alert(
                    AlertLevel.ERROR,
                    "login_needed",
                    f"Claude in sandbox {name} is not logged in, and no "
                    "healthy sandbox could be found or made",
                    action=login_action,
                    sandbox=str(name),
                ),
            )
        elif not plan.succeeded:
            last = "" if plan.error is None else f": {plan.error.message}"
            deps.alert(
                Alert(
                    AlertLevel.ERROR,
                    "heal_failed",
                    f"no healthy sandbox could be found or made{last}",
                    action="run `sandwarden doctor` to see what is wrong",
                    sandbox=str(deps.config.sandbox),
                ),
            )


def _summary(plan: HealPlan) -> str:
    target = plan.swap_to
    if plan.succeeded:
        return f"healed: {target} probes healthy"
    if plan.needs_login:
        return f"{target} needs an operator's login"

    return "heal failed: no healthy sandbox"


def _cannot_create(capabilities: Capabilities) -> str | None:
    """Why the tool cannot create sandboxes, or None when it can."""
    if capabilities.can(Operation.CREATE):
        return None
    version = capabilities.version or "of an unknown version"

    return (
        f"the sandbox tool ({capabilities.tool} {version}) cannot create "
        "sandboxes; nothing was removed"
    )


def _missing(error: WardenError) -> bool:
    return (
        error.kind is ErrorKind.NOT_FOUND
        or error.reason is UnavailableReason.NOT_FOUND
    )
