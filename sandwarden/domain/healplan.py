"""
The heal plan: which failures heal, and in what order a heal proceeds.

A heal is a state machine whose transitions are pure; the service runs
it, one step at a time, through the ports::

    trigger = heal_trigger(error)          # eligible, or refused with why
    plan = start_plan(trigger, context)
    while not plan.finished:
        step = next_step(plan)             # what to do now
        outcome = <do it, probe the result>
        plan = advance(plan, outcome)

The order is the specification's: reuse the heal sandbox ``<name>-heal``
if it probes healthy; create it from the template; list the sandboxes
and adopt the first one of the same workspace that probes healthy;
create a fresh one and ask the operator to log in. Template steps are
skipped, with the reason recorded, when the image store is down or no
template is configured, or the sandbox tool cannot create sandboxes (no
sandbox is then removed). The sandbox that failed is never chosen again
by the same heal. The last resort creates nothing when a sandbox already
exists that only needs a login: the operator is asked to log in there.

"Probes healthy" is the service's probe: logged in, with a billing
method the settings allow, over the configured workspace. Every step and
every skip is recorded, for the heal history.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum, unique
from typing import assert_never

from sandwarden.domain.candidates import choose_candidates
from sandwarden.domain.eligibility import HealCause, HealTrigger, heal_trigger
from sandwarden.domain.errors import ErrorKind, UnavailableReason, WardenError
from sandwarden.domain.healing import HealRecord
from sandwarden.domain.healsteps import (
    HealOutcome,
    OutcomeKind,
    PlanContext,
    PlanEntry,
    Step,
    StepKind,
    StepOutcome,
)
from sandwarden.domain.values import SandboxName

__all__ = [
    "HealCause",
    "HealOutcome",
    "HealPlan",
    "HealTrigger",
    "OutcomeKind",
    "PlanContext",
    "PlanEntry",
    "Step",
    "StepKind",
    "StepOutcome",
    "advance",
    "heal_trigger",
    "next_step",
    "start_plan",
]

# How many passed-over sandboxes a discovery sentence names.
_NAMED = 5


@unique
class _Known(StrEnum):
    """What the plan knows about the sandbox named ``<primary>-heal``."""

    UNKNOWN = "unknown"
    ABSENT = "absent"
    NEEDS_LOGIN = "needs_login"
    BROKEN = "broken"


@dataclass(frozen=True, slots=True)
class HealPlan:
    """
    A heal in progress: where it stands and what it has seen.

    ``stage`` is the step to carry out next, or ``DONE``/``GIVE_UP``.
    ``sandbox`` is the sandbox the heal ends on; ``error`` the last
    failure seen.
    """

    trigger: HealTrigger
    context: PlanContext
    stage: StepKind
    candidates: tuple[SandboxName, ...] = ()
    heal_sandbox: _Known = _Known.UNKNOWN
    entries: tuple[PlanEntry, ...] = ()
    sandbox: SandboxName | None = None
    outcome: HealOutcome | None = None
    error: WardenError | None = None
    steps_taken: int = 0

    @property
    def finished(self) -> bool:
        """Tell whether the plan has ended."""
        return self.stage in {StepKind.DONE, StepKind.GIVE_UP}

    @property
    def succeeded(self) -> bool:
        """Tell whether a sandbox that probed healthy was found."""
        return self.outcome is HealOutcome.HEALED

    @property
    def needs_login(self) -> bool:
        """Tell whether the heal ended on a sandbox awaiting a login."""
        return self.outcome is HealOutcome.NEEDS_LOGIN

    @property
    def swap_to(self) -> SandboxName | None:
        """The sandbox to make active, healed or awaiting a login."""
        return self.sandbox

    def sentences(self) -> tuple[str, ...]:
        """Every step and skip, in order, as sentences for the history."""
        return tuple(entry.sentence() for entry in self.entries)

    def record(self, started_at: float, ended_at: float) -> HealRecord:
        """The heal as a history record."""
        return HealRecord(
            started_at=started_at,
            ended_at=ended_at,
            trigger=self.trigger.describe(),
            succeeded=self.succeeded,
            sandbox=None if self.sandbox is None else str(self.sandbox),
            steps=self.sentences(),
        )

    @property
    def max_steps(self) -> int:
        """The most steps any plan of this context can issue."""
        return 4 + max(0, self.context.max_candidates)


def start_plan(trigger: HealTrigger, context: PlanContext) -> HealPlan:
    """Begin a heal; skips that are already known are recorded now."""
    plan = HealPlan(trigger, context, StepKind.REUSE_HEAL_SANDBOX)

    return _settle(plan)


def next_step(plan: HealPlan) -> Step:
    """The step the service should carry out now."""
    context = plan.context
    heal = context.heal_name
    stage = plan.stage
    match stage:
        case StepKind.REUSE_HEAL_SANDBOX:
            return Step(stage, heal, workspace=context.workspace)
        case StepKind.CREATE_FROM_TEMPLATE:
            return Step(
                stage,
                heal,
                template=context.template,
                workspace=context.workspace,
                replace_existing=plan.heal_sandbox is not _Known.ABSENT,
            )
        case StepKind.DISCOVER:
            return Step(stage, workspace=context.workspace)
        case StepKind.ADOPT:
            return Step(
                stage,
                plan.candidates[0],
                workspace=context.workspace,
                candidates_left=len(plan.candidates) - 1,
            )
        case StepKind.CREATE_FRESH:
            return Step(
                stage,
                heal,
                workspace=context.workspace,
                replace_existing=plan.heal_sandbox is not _Known.ABSENT,
            )
        case StepKind.DONE:
            return Step(stage, plan.sandbox, outcome=plan.outcome)
        case StepKind.GIVE_UP:
            return Step(stage, outcome=plan.outcome, error=plan.error)
        case _:
            assert_never(stage)


def advance(plan: HealPlan, outcome: StepOutcome) -> HealPlan:
    """
    Record how the current step went and move to the next.

    An outcome that does not fit the step (a listing for a probe, any
    outcome for a finished plan) is a bug of the caller: ValueError.
    """
    _check_fits(plan, outcome)
    step = next_step(plan)
    plan = replace(
        plan,
        steps_taken=plan.steps_taken + 1,
        error=plan.error if outcome.error is None else outcome.error,
    )

    if step.kind is StepKind.DISCOVER:
        return _settle(_discovered(plan, outcome))
    plan = replace(plan, entries=(*plan.entries, _entry(step, outcome)))
    if outcome.kind is OutcomeKind.HEALTHY:
        return replace(
            plan,
            stage=StepKind.DONE,
            sandbox=step.sandbox,
            outcome=HealOutcome.HEALED,
        )

    return _settle(_after_unhealthy(plan, step, outcome))


def _check_fits(plan: HealPlan, outcome: StepOutcome) -> None:
    if plan.finished:
        msg = f"the heal plan has ended ({plan.stage}); nothing to advance"
        raise ValueError(msg)
    listing = plan.stage is StepKind.DISCOVER
    allowed = (
        {OutcomeKind.LISTED, OutcomeKind.FAILED}
        if listing
        else {OutcomeKind.HEALTHY, OutcomeKind.UNHEALTHY, OutcomeKind.FAILED}
    )
    if outcome.kind not in allowed:
        msg = f"a {outcome.kind} outcome does not fit a {plan.stage} step"
        raise ValueError(msg)
    needs_error = outcome.kind in {OutcomeKind.UNHEALTHY, OutcomeKind.FAILED}
    if needs_error and outcome.error is None:
        msg = f"a {outcome.kind} outcome must carry its error"
        raise ValueError(msg)


def _entry(step: Step, outcome: StepOutcome) -> PlanEntry:
    """The history's entry for ``step``, which went as ``outcome``."""
    status = _status(step.kind, outcome)
    note = "" if outcome.error is None else str(outcome.error)
    # Inside a heal a missing heal sandbox is expected, and a kept one
    # needs no create: the probe's advice to the operator would mislead.
    absent = _known_from(outcome.error) is _Known.ABSENT
    if step.kind is StepKind.REUSE_HEAL_SANDBOX and absent:
        status, note = "not there yet", ""
    elif outcome.kept:
        status, note = "kept", "it exists and only needs a login"

    return PlanEntry(
        step.kind,
        None if step.sandbox is None else str(step.sandbox),
        status,
        note,
        None if step.template is None else str(step.template),
    )


def _status(kind: StepKind, outcome: StepOutcome) -> str:
    match outcome.kind:
        case OutcomeKind.HEALTHY:
            return "healthy"
        case OutcomeKind.UNHEALTHY if kind is StepKind.CREATE_FRESH:
            return "created, not usable yet"
        case OutcomeKind.UNHEALTHY:
            return "unhealthy"
        case OutcomeKind.FAILED:
            return "failed"
        case OutcomeKind.LISTED:
            return "listed"
        case _:
            assert_never(outcome.kind)


def _after_unhealthy(
    plan: HealPlan,
    step: Step,
    outcome: StepOutcome,
) -> HealPlan:
    match step.kind:
        case StepKind.REUSE_HEAL_SANDBOX:
            return replace(
                plan,
                stage=StepKind.CREATE_FROM_TEMPLATE,
                heal_sandbox=_known_from(outcome.error),
            )
        case StepKind.CREATE_FROM_TEMPLATE:
            known = (
                _known_from(outcome.error)
                if outcome.kind is OutcomeKind.UNHEALTHY
                else _Known.UNKNOWN
            )
            return replace(plan, stage=StepKind.DISCOVER, heal_sandbox=known)
        case StepKind.ADOPT:
            return replace(plan, candidates=plan.candidates[1:])
        case StepKind.CREATE_FRESH if outcome.kind is OutcomeKind.UNHEALTHY:
            return replace(
                plan,
                stage=StepKind.DONE,
                sandbox=step.sandbox,
                outcome=HealOutcome.NEEDS_LOGIN,
            )
        case StepKind.CREATE_FRESH:
            return replace(
                plan,
                stage=StepKind.GIVE_UP,
                outcome=HealOutcome.FAILED,
            )
        case (
            StepKind.DISCOVER | StepKind.DONE | StepKind.GIVE_UP
        ):  # pragma: no cover - advance handles these before
            msg = f"no outcome follows a {step.kind} step"
            raise ValueError(msg)
        case _:
            assert_never(step.kind)


def _known_from(error: WardenError | None) -> _Known:
    if error is None:
        return _Known.UNKNOWN
    if error.kind is ErrorKind.AUTH:
        return _Known.NEEDS_LOGIN
    if (
        error.kind is ErrorKind.SANDBOX_UNAVAILABLE
        and error.reason is UnavailableReason.NOT_FOUND
    ):
        return _Known.ABSENT

    return _Known.BROKEN


def _discovered(plan: HealPlan, outcome: StepOutcome) -> HealPlan:
    if outcome.kind is OutcomeKind.FAILED:
        entry = PlanEntry(
            StepKind.DISCOVER,
            None,
            "failed",
            str(outcome.error),
        )
        return replace(
            plan,
            stage=StepKind.CREATE_FRESH,
            entries=(*plan.entries, entry),
        )

    chosen, passed = choose_candidates(plan.context, outcome.sandboxes)
    notes = [f"{len(outcome.sandboxes)} sandboxes"]
    notes.append(
        "candidates: " + ", ".join(str(name) for name in chosen)
        if chosen
        else "no candidate",
    )
    if passed:
        named = ", ".join(passed[:_NAMED])
        more = len(passed) - _NAMED
        notes.append(
            f"passed over {named}" + (f" and {more} more" if more > 0 else ""),
        )
    entry = PlanEntry(StepKind.DISCOVER, None, "listed", "; ".join(notes))

    return replace(
        plan,
        stage=StepKind.ADOPT,
        candidates=chosen,
        entries=(*plan.entries, entry),
    )


def _settle(plan: HealPlan) -> HealPlan:
    """Move past every step that must be skipped, recording why."""
    while True:
        skip = _skip_reason(plan)
        if skip is None:
            return plan
        plan = skip


def _skip_reason(plan: HealPlan) -> HealPlan | None:
    context = plan.context
    heal = str(context.heal_name)
    match plan.stage:
        case StepKind.REUSE_HEAL_SANDBOX if (
            context.heal_name == context.failed_name
        ):
            error = plan.trigger.error
            return _skipped(
                plan,
                heal,
                "it is the sandbox that failed",
                StepKind.CREATE_FROM_TEMPLATE,
                heal_sandbox=_known_from(error),
            )
        case StepKind.CREATE_FROM_TEMPLATE:
            why = _template_unusable(context)
            if why is None:
                return None
            return _skipped(plan, heal, why, StepKind.DISCOVER)
        case StepKind.ADOPT if not plan.candidates:
            return replace(plan, stage=StepKind.CREATE_FRESH)
        case StepKind.CREATE_FRESH:
            waiting = _awaiting_login(plan)
            if waiting is None and context.cannot_create is not None:
                return replace(
                    _skipped(
                        plan,
                        heal,
                        context.cannot_create,
                        StepKind.GIVE_UP,
                    ),
                    outcome=HealOutcome.FAILED,
                )
            if waiting is None:
                return None
            return replace(
                _skipped(
                    plan,
                    None,
                    f"{waiting} exists and only needs a login",
                    StepKind.DONE,
                ),
                sandbox=waiting,
                outcome=HealOutcome.NEEDS_LOGIN,
            )
        case _:
            return None


def _template_unusable(context: PlanContext) -> str | None:
    if context.tool_error is not None:
        return f"the sandbox tool did not answer ({context.tool_error})"
    if context.cannot_create is not None:
        return context.cannot_create
    if not context.image_store:
        return "image store unreachable (Docker Desktop down)"
    if context.template is None:
        return "no template configured"
    if context.template_exists is False:
        return f"template {context.template} not found in the image store"

    return None


def _awaiting_login(plan: HealPlan) -> SandboxName | None:
    """A sandbox that exists and lacks only a login, if the plan knows one."""
    context = plan.context
    if plan.heal_sandbox is _Known.NEEDS_LOGIN:
        return context.heal_name
    # The failed sandbox is untouched by the plan unless it is the heal
    # sandbox, whose fate ``heal_sandbox`` already tracks.
    failed_needs_login = (
        plan.trigger.cause is HealCause.LOGIN
        and context.failed_name != context.heal_name
    )
    if failed_needs_login:
        return context.failed_name

    return None


def _skipped(
    plan: HealPlan,
    sandbox: str | None,
    why: str,
    then: StepKind,
    *,
    heal_sandbox: _Known | None = None,
) -> HealPlan:
    template = plan.context.template
    entry = PlanEntry(
        plan.stage,
        sandbox,
        "skipped",
        why,
        None if template is None else str(template),
    )
    return replace(
        plan,
        stage=then,
        entries=(*plan.entries, entry),
        heal_sandbox=plan.heal_sandbox
        if heal_sandbox is None
        else heal_sandbox,
    )
