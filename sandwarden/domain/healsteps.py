"""
The values a heal plan exchanges with the service that runs it.

The plan hands out a ``Step``; the service carries it out and answers
with a ``StepOutcome``; the plan records a ``PlanEntry`` for the heal
history. ``PlanContext`` is what the plan knows of the world when it
starts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum, unique

from sandwarden.domain.errors import WardenError
from sandwarden.domain.sandbox import SandboxInfo
from sandwarden.domain.values import ImageTag, SandboxName, Workspace

__all__ = [
    "HealOutcome",
    "OutcomeKind",
    "PlanContext",
    "PlanEntry",
    "Step",
    "StepKind",
    "StepOutcome",
]

# Each candidate costs a probe of up to 30 s (the specification's probe
# limit); eight keep a whole heal inside the breaker's trial timeout.
_MAX_CANDIDATES = 8


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
    tool_error: str | None = None
    cannot_create: str | None = None

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
    ``DISCOVER`` step found. ``kept``: a create found the sandbox there,
    over the workspace, lacking only a login, and created nothing.
    """

    kind: OutcomeKind
    error: WardenError | None = None
    sandboxes: tuple[SandboxInfo, ...] = ()
    kept: bool = False

    @classmethod
    def healthy(cls) -> StepOutcome:
        """The sandbox probed healthy."""
        return cls(OutcomeKind.HEALTHY)

    @classmethod
    def unhealthy(cls, error: WardenError) -> StepOutcome:
        """The sandbox exists but its probe failed with ``error``."""
        return cls(OutcomeKind.UNHEALTHY, error)

    @classmethod
    def awaiting_login(cls, error: WardenError) -> StepOutcome:
        """The sandbox to create exists and lacks only a login."""
        return cls(OutcomeKind.UNHEALTHY, error, kept=True)

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
