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
template is configured. The sandbox that failed is never chosen again by
the same heal. The last resort creates nothing when a sandbox already
exists that only needs a login: the operator is asked to log in there.

"Probes healthy" is the service's probe: logged in, with a billing
method the settings allow, over the configured workspace. Every step and
every skip is recorded, for the heal history.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum, unique
from typing import assert_never

from returns.pipeline import is_successful
from returns.result import Failure, Result, Success

from sandwarden.domain.errors import ErrorKind, UnavailableReason, WardenError
from sandwarden.domain.healing import HealRecord
from sandwarden.domain.sandbox import SandboxInfo, SandboxStatus
from sandwarden.domain.values import ImageTag, SandboxName, Workspace

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

# Each candidate costs a probe of up to 30 s (the specification's probe
# limit); eight keep a whole heal inside the breaker's trial timeout.
_MAX_CANDIDATES = 8
# How many passed-over sandboxes a discovery sentence names.
_NAMED = 5


@unique
class HealCause(StrEnum):
    """Why a heal starts; the failure kinds that recreating can fix."""

    UNAVAILABLE = "sandbox_unavailable"
    LOGIN = "auth"
    TIMEOUT = "timeout"
    STALLED = "stalled"
    WORKSPACE_MISMATCH = "workspace_mismatch"
    PARITY_MISMATCH = "parity_mismatch"
    REQUESTED = "requested"


@dataclass(frozen=True, slots=True)
class HealTrigger:
    """What started a heal: an eligible failure, or an operator."""

    cause: HealCause
    error: WardenError | None = None
    note: str = ""

    @classmethod
    def requested(cls, note: str = "an operator asked") -> HealTrigger:
        """A heal nobody's failure started."""
        return cls(HealCause.REQUESTED, note=note)

    def describe(self) -> str:
        """One line for the heal history."""
        if self.error is not None:
            return str(self.error)

        return f"{self.cause}: {self.note}"


def heal_trigger(error: WardenError) -> Result[HealTrigger, WardenError]:
    """
    Tell whether replacing the sandbox can fix ``error``.

    A refusal keeps the error's kind and reason, says why no heal, and
    keeps the original message as its detail.
    """
    match _eligibility(error):
        case HealCause() as cause:
            return Success(HealTrigger(cause, error))
        case str() as why:
            return Failure(
                WardenError(
                    error.kind,
                    f"not healed: {why}",
                    error.reason,
                    error.message,
                ),
            )


def _eligibility(error: WardenError) -> HealCause | str:
    kind = error.kind
    match kind:
        case ErrorKind.SANDBOX_UNAVAILABLE:
            return _unavailable_eligibility(error.reason)
        case ErrorKind.AUTH:
            return HealCause.LOGIN
        case ErrorKind.TIMEOUT:
            return HealCause.TIMEOUT
        case ErrorKind.STALLED:
            return HealCause.STALLED
        case ErrorKind.WORKSPACE_MISMATCH:
            return HealCause.WORKSPACE_MISMATCH
        case ErrorKind.PARITY_MISMATCH:
            return HealCause.PARITY_MISMATCH
        case ErrorKind.BILLING_GUARD:
            return (
                "the API key comes from the environment or settings the "
                "sandbox is given, and a new sandbox would bill the same "
                "way; remove the key or log in with a subscription"
            )
        case ErrorKind.USAGE_LIMIT:
            return (
                "the usage limit belongs to the account, which every "
                "sandbox shares; wait for it to reset"
            )
        case ErrorKind.API_ERROR:
            return (
                "the Claude API failed, and a new sandbox calls the same "
                "API; retry later"
            )
        case ErrorKind.SESSION_NOT_FOUND:
            return "a lost session is replaced by a new conversation"
        case ErrorKind.MAX_TURNS | ErrorKind.MAX_BUDGET:
            return "the run reached a limit its caller set"
        case ErrorKind.EXECUTION_ERROR:
            return "Claude reported an error in the task itself"
        case ErrorKind.TRUNCATED:
            return (
                "a cut-off answer is retried, not healed; a broken "
                "sandbox shows at the next probe"
            )
        case ErrorKind.CANCELLED:
            return "the caller cancelled the run"
        case ErrorKind.BREAKER_OPEN:
            return "healing is paused by the circuit breaker"
        case ErrorKind.DESKTOP_REQUIRED:
            return (
                "the operation needs Docker Desktop's image store; start "
                "Docker Desktop"
            )
        case ErrorKind.UNSUPPORTED | ErrorKind.UNSUPPORTED_OPTION:
            return "the sandbox tool lacks this; upgrade or reconfigure it"
        case (
            ErrorKind.NOT_FOUND
            | ErrorKind.ALREADY_EXISTS
            | ErrorKind.INVALID_INPUT
            | ErrorKind.STORAGE
            | ErrorKind.LOCKED
        ):
            return "the failure is not in the sandbox"
        case ErrorKind.UNKNOWN:
            return "an unrecognised failure is reported, not healed blindly"
        case _:
            assert_never(kind)


def _unavailable_eligibility(
    reason: UnavailableReason | None,
) -> HealCause | str:
    match reason:
        case UnavailableReason.PLUGIN_MISSING | UnavailableReason.TOOL_MISSING:
            return (
                "the sandbox tool itself is missing, and no sandbox can "
                "be created without it; install it"
            )
        case UnavailableReason.FEATURE_DISABLED:
            return (
                "sandboxes are disabled in Docker Desktop's settings; "
                "enable them"
            )
        case (
            UnavailableReason.DAEMON_DOWN
            | UnavailableReason.NOT_FOUND
            | UnavailableReason.NOT_RUNNING
            | UnavailableReason.WEDGED
            | UnavailableReason.PROBE_FAILED
            | UnavailableReason.CREATE_FAILED
            | None
        ):
            return HealCause.UNAVAILABLE
        case _:
            assert_never(reason)


@dataclass(frozen=True, slots=True)
class PlanContext:
    """
    What a heal plan needs to know about the world when it starts.

    ``failed`` is the sandbox that failed (the active one; the primary
    when omitted). ``template_exists`` is None when unknown: the
    template step is tried. ``resolved_workspace`` is the workspace with
    its symbolic links resolved, which a tool may list instead.
    """

    primary: SandboxName
    workspace: Workspace
    image_store: bool
    template: ImageTag | None = None
    template_exists: bool | None = None
    failed: SandboxName | None = None
    resolved_workspace: str | None = None
    agent: str = "claude"
    max_candidates: int = _MAX_CANDIDATES

    @property
    def heal_name(self) -> SandboxName:
        """The heal sandbox's name, ``<primary>-heal``."""
        return self.primary.heal()

    @property
    def failed_name(self) -> SandboxName:
        """The sandbox that failed."""
        return self.primary if self.failed is None else self.failed


@unique
class StepKind(StrEnum):
    """What the service does next."""

    REUSE_HEAL_SANDBOX = "reuse_heal_sandbox"
    CREATE_FROM_TEMPLATE = "create_from_template"
    DISCOVER = "discover"
    ADOPT = "adopt"
    CREATE_FRESH = "create_fresh"
    DONE = "done"
    GIVE_UP = "give_up"


@unique
class HealOutcome(StrEnum):
    """How a heal ended."""

    HEALED = "healed"
    NEEDS_LOGIN = "needs_login"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Step:
    """
    One step for the service to carry out.

    - ``REUSE_HEAL_SANDBOX``, ``ADOPT``: probe ``sandbox``.
    - ``CREATE_FROM_TEMPLATE``: create ``sandbox`` from ``template`` over
      ``workspace``, then probe it.
    - ``CREATE_FRESH``: create ``sandbox`` without a template, then probe.
    - ``DISCOVER``: list the sandboxes.
    - ``DONE``: make ``sandbox`` active; ``outcome`` says whether it
      needs an operator's login first. ``GIVE_UP``: ``error`` is the
      last failure seen.

    ``replace_existing`` asks to remove a sandbox of that name before
    creating (a missing one is fine). ``candidates_left`` counts the
    candidates after this one.
    """

    kind: StepKind
    sandbox: SandboxName | None = None
    template: ImageTag | None = None
    workspace: Workspace | None = None
    replace_existing: bool = False
    candidates_left: int = 0
    outcome: HealOutcome | None = None
    error: WardenError | None = None


@unique
class OutcomeKind(StrEnum):
    """How a step went."""

    HEALTHY = "healthy"
    UNHEALTHY = "unhealthy"
    FAILED = "failed"
    LISTED = "listed"


@dataclass(frozen=True, slots=True)
class StepOutcome:
    """
    What the service saw when it carried out a step.

    ``UNHEALTHY``: the sandbox exists (or was created) but its probe
    failed with ``error``. ``FAILED``: the action itself failed (create
    refused, probe could not run, listing failed). ``LISTED``: what a
    ``DISCOVER`` step found.
    """

    kind: OutcomeKind
    error: WardenError | None = None
    sandboxes: tuple[SandboxInfo, ...] = ()

    @classmethod
    def healthy(cls) -> StepOutcome:
        """The sandbox probed healthy."""
        return cls(OutcomeKind.HEALTHY)

    @classmethod
    def unhealthy(cls, error: WardenError) -> StepOutcome:
        """The sandbox exists but its probe failed with ``error``."""
        return cls(OutcomeKind.UNHEALTHY, error)

    @classmethod
    def failed(cls, error: WardenError) -> StepOutcome:
        """The step's action failed with ``error``."""
        return cls(OutcomeKind.FAILED, error)

    @classmethod
    def listed(cls, sandboxes: Sequence[SandboxInfo]) -> StepOutcome:
        """The sandboxes a listing returned."""
        return cls(OutcomeKind.LISTED, sandboxes=tuple(sandboxes))


@dataclass(frozen=True, slots=True)
class PlanEntry:
    """One recorded step or skip: which, on what, how it went."""

    step: StepKind
    sandbox: str | None
    status: str
    note: str = ""
    template: str | None = None

    def sentence(self) -> str:
        """The entry as a short human sentence."""
        label = (
            _LABELS[self.step]
            .format(
                sandbox=self.sandbox or "",
                template=self.template or "the template",
            )
            .rstrip()
        )
        if not self.note:
            return f"{label}: {self.status}"

        return f"{label}: {self.status}, {self.note}"


_LABELS = {
    StepKind.REUSE_HEAL_SANDBOX: "reuse heal sandbox {sandbox}",
    StepKind.CREATE_FROM_TEMPLATE: "create {sandbox} from {template}",
    StepKind.DISCOVER: "discover sandboxes",
    StepKind.ADOPT: "adopt {sandbox}",
    StepKind.CREATE_FRESH: "create fresh sandbox {sandbox}",
    StepKind.DONE: "done",
    StepKind.GIVE_UP: "give up",
}


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
    entry = PlanEntry(
        step.kind,
        None if step.sandbox is None else str(step.sandbox),
        _status(step.kind, outcome),
        "" if outcome.error is None else str(outcome.error),
        None if step.template is None else str(step.template),
    )
    plan = replace(plan, entries=(*plan.entries, entry))
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

    chosen, passed = _candidates(plan.context, outcome.sandboxes)
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


def _candidates(
    context: PlanContext,
    listed: Sequence[SandboxInfo],
) -> tuple[tuple[SandboxName, ...], list[str]]:
    """Pick the sandboxes worth a probe; say why each other was not."""
    tried = {context.failed_name.value, context.heal_name.value}
    chosen: list[tuple[bool, SandboxName]] = []
    passed: list[str] = []
    for info in listed:
        why = _passed_over(context, info, tried)
        parsed = SandboxName.parse(info.name)
        if why is None and not is_successful(parsed):
            why = "a name we cannot use"
        if why is not None:
            passed.append(f"{info.name} ({why})")
            continue
        tried.add(info.name)
        chosen.append(
            (info.status is not SandboxStatus.RUNNING, parsed.unwrap())
        )
    # Running sandboxes first: a stopped one must start before it answers.
    ordered = [name for _, name in sorted(chosen, key=lambda c: c[0])]
    limit = max(0, context.max_candidates)
    for name in ordered[limit:]:
        passed.append(f"{name} (over the limit of {limit} probes)")

    return tuple(ordered[:limit]), passed


def _passed_over(
    context: PlanContext,
    info: SandboxInfo,
    tried: set[str],
) -> str | None:
    if info.name == context.failed_name.value:
        return "the sandbox that failed"
    if info.name in tried:
        return "already tried"
    if info.agent != context.agent:
        return f"agent {info.agent}"
    if not info.workspaces:
        return "no workspace listed"
    if not context.workspace.matches(
        info.workspaces[0],
        context.resolved_workspace,
    ):
        return f"workspace {info.workspaces[0]}"

    return None


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
