"""
Adoption candidates: which listed sandboxes a heal may probe and adopt.

A candidate runs the same agent over the same workspace and is neither
the sandbox that failed nor one already tried; running sandboxes come
first, and at most ``max_candidates`` are chosen. Every sandbox passed
over is named with the reason, for the heal history.
"""

from __future__ import annotations

from collections.abc import Sequence

from returns.pipeline import is_successful

from sandwarden.domain.healsteps import PlanContext
from sandwarden.domain.sandbox import SandboxInfo, SandboxStatus
from sandwarden.domain.values import SandboxName

__all__ = ["choose_candidates"]


def choose_candidates(
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
