"""
Templates: an authenticated sandbox saved as an image, with a way back.

Saving probes the sandbox first (a template of a logged-out sandbox
would hand the logout to every sandbox made from it), needs the image
store, and keeps the template it replaces: ``latest`` is copied to
``prev`` before the new snapshot is saved over ``latest``; a rollback
copies ``prev`` back. The copy is an ``image tag`` where the tool has
one; `sbx` has none, so there the copy is made the long way: a scratch
sandbox is created from the source image and saved under the target
tag, then removed. That takes a VM boot and a snapshot (a minute or
so), but the previous template survives on every tool.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import StrEnum, unique

from returns.pipeline import is_successful
from returns.result import Failure, Result, Success

from sandwarden.domain.errors import ErrorKind, WardenError
from sandwarden.domain.sandbox import Capabilities, Operation, SandboxSpec
from sandwarden.domain.templates import TagRotation, rollback, rotation
from sandwarden.domain.values import ImageTag, SandboxName
from sandwarden.service.deps import Deps
from sandwarden.service.heallock import holding_heal_lock
from sandwarden.service.journal import Topic
from sandwarden.service.probe import Prober

__all__ = [
    "CopyMethod",
    "RolledBack",
    "SavedTemplate",
    "TemplateState",
    "Templates",
    "active_sandbox",
    "configured_template",
    "image_store",
]


# The scratch sandbox that copies an image on a tool without `image tag`;
# letters and hyphens only, which every tool's naming rule accepts.
_SCRATCH = SandboxName("sandwarden-template-copy")


@unique
class CopyMethod(StrEnum):
    """How one template tag was made to name another's image."""

    TAG = "tag"
    RESAVE = "resave"


@dataclass(frozen=True, slots=True)
class SavedTemplate:
    """
    A template saved from a sandbox.

    ``previous`` is the tag that now holds the template ``template``
    named before, or None when there was none to keep; ``steps`` says
    what was done, in order.
    """

    sandbox: SandboxName
    template: ImageTag
    previous: ImageTag | None
    copied_by: CopyMethod | None
    steps: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RolledBack:
    """A rollback: ``template`` names again what ``source`` named."""

    template: ImageTag
    source: ImageTag
    copied_by: CopyMethod
    steps: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TemplateState:
    """Which of the template's two tags the image store holds."""

    latest: ImageTag
    latest_present: bool
    prev: ImageTag
    prev_present: bool


class Templates:
    """Saves, lists and rolls back the configured template."""

    def __init__(self, deps: Deps, prober: Prober) -> None:
        self._deps = deps
        self._prober = prober
        self._owner = f"pid-{os.getpid()}-templates-{id(self):x}"

    async def save(
        self,
        sandbox: SandboxName | None = None,
    ) -> Result[SavedTemplate, WardenError]:
        """
        Save ``sandbox`` (the active one by default) as the template.

        Refused, with nothing changed, when the sandbox does not probe
        healthy or the image store is down. Holds the heal lock, so no
        heal swaps or replaces the sandbox meanwhile; under sbx, which
        saves only a stopped sandbox, the sandbox is left stopped and
        the next turn starts it again (a step says so).
        """
        deps = self._deps
        template = configured_template(deps)
        if not is_successful(template):
            return Failure(template.failure())

        async with holding_heal_lock(deps, self._owner, "template save"):
            return await self._save(template.unwrap(), sandbox)

    async def _save(
        self,
        latest: ImageTag,
        sandbox: SandboxName | None,
    ) -> Result[SavedTemplate, WardenError]:
        deps = self._deps
        # Named under the lock: a heal that just ended may have swapped.
        name = sandbox or await active_sandbox(deps)
        steps: list[str] = []

        health = await self._prober.probe(name, parity=False)
        if not is_successful(health):
            error = health.failure()
            return Failure(
                WardenError(
                    error.kind,
                    f"not saving sandbox '{name}' as template {latest}: "
                    f"{error.message}; a template of an unhealthy sandbox "
                    "would pass the problem to every sandbox made from it",
                    error.reason,
                    error.detail,
                ),
            )
        steps.append(f"probed {name}: logged in")
        caps = await image_store(deps, "saving a template")
        if not is_successful(caps):
            return Failure(caps.failure())
        exists = await deps.runtime.image_exists(latest)
        if not is_successful(exists):
            return Failure(exists.failure())

        previous: ImageTag | None = None
        method: CopyMethod | None = None
        if exists.unwrap():
            move = rotation(latest)
            copied = await self._copy(move, caps.unwrap())
            if not is_successful(copied):
                return Failure(_stopped(copied.failure(), steps))
            previous, method = move.target, copied.unwrap()
            steps.append(f"kept the current template: {move.describe()}")
        stops = _saves_only_stopped(caps.unwrap())
        saved = await deps.runtime.save(name, latest)
        if stops:
            steps.append(self._note_stop(name, stopped=is_successful(saved)))
        if not is_successful(saved):
            return Failure(_stopped(saved.failure(), steps))
        steps.append(f"saved {name} as {latest}")
        deps.note(
            Topic.TEMPLATE,
            f"saved sandbox {name} as template {latest}",
            sandbox=str(name),
            template=str(latest),
            previous=None if previous is None else str(previous),
        )

        return Success(
            SavedTemplate(name, latest, previous, method, tuple(steps)),
        )

    def _note_stop(self, name: SandboxName, *, stopped: bool) -> str:
        """Say, and journal, that saving stopped (or may have) ``name``."""
        done = "stopped" if stopped else "may have stopped"
        step = (
            f"{done} sandbox {name} (sbx saves only a stopped sandbox; "
            "the next turn starts it again)"
        )
        self._deps.note(Topic.TEMPLATE, step, sandbox=str(name))

        return step

    async def rollback(self) -> Result[RolledBack, WardenError]:
        """Point the template back at the one it replaced (``prev``)."""
        deps = self._deps
        template = configured_template(deps)
        if not is_successful(template):
            return Failure(template.failure())
        move = rollback(template.unwrap())

        caps = await image_store(deps, "rolling back a template")
        if not is_successful(caps):
            return Failure(caps.failure())
        exists = await deps.runtime.image_exists(move.source)
        if not is_successful(exists):
            return Failure(exists.failure())
        if not exists.unwrap():
            return Failure(
                WardenError(
                    ErrorKind.NOT_FOUND,
                    f"there is no previous template {move.source} to roll "
                    f"back to; {move.target} is unchanged (a previous "
                    "template is kept from the second save on)",
                ),
            )
        copied = await self._copy(move, caps.unwrap())
        if not is_successful(copied):
            return Failure(copied.failure())
        deps.note(
            Topic.TEMPLATE,
            f"rolled template {move.target} back to {move.source}",
            template=str(move.target),
        )

        return Success(
            RolledBack(
                move.target,
                move.source,
                copied.unwrap(),
                (move.describe(),),
            ),
        )

    async def state(self) -> Result[TemplateState, WardenError]:
        """Tell which of ``latest`` and ``prev`` the image store holds."""
        deps = self._deps
        template = configured_template(deps)
        if not is_successful(template):
            return Failure(template.failure())
        latest = template.unwrap()
        prev = rotation(latest).target

        caps = await image_store(deps, "listing templates")
        if not is_successful(caps):
            return Failure(caps.failure())
        found: list[bool] = []
        for tag in (latest, prev):
            exists = await deps.runtime.image_exists(tag)
            if not is_successful(exists):
                return Failure(exists.failure())
            found.append(exists.unwrap())

        return Success(TemplateState(latest, found[0], prev, found[1]))

    async def _copy(
        self,
        move: TagRotation,
        caps: Capabilities,
    ) -> Result[CopyMethod, WardenError]:
        runtime = self._deps.runtime
        if caps.can(Operation.IMAGE_TAG):
            tagged = await runtime.image_tag(move.source, move.target)
            return tagged.map(lambda _: CopyMethod.TAG)

        self._deps.note(
            Topic.TEMPLATE,
            f"{caps.tool} cannot tag images: copying {move.source} to "
            f"{move.target} through the scratch sandbox {_SCRATCH}",
            template=str(move.source),
        )
        # A scratch sandbox left by an interrupted copy is ours to drop.
        await runtime.remove(_SCRATCH)
        spec = SandboxSpec(
            _SCRATCH,
            self._deps.config.workspace,
            template=move.source,
        )
        created = await runtime.create(spec)
        if not is_successful(created):
            return Failure(created.failure())
        try:
            saved = await runtime.save(_SCRATCH, move.target)
        finally:
            await runtime.remove(_SCRATCH)

        return saved.map(lambda _: CopyMethod.RESAVE)


def configured_template(deps: Deps) -> Result[ImageTag, WardenError]:
    """The configured template, or why there is none."""
    template = deps.config.template
    if template is None:
        return Failure(
            WardenError.invalid(
                "no template is configured; set SANDBOX_SELF_HEAL_TEMPLATE "
                "(for example sandwarden-auth:latest)",
            ),
        )

    return Success(template)


async def active_sandbox(deps: Deps) -> SandboxName:
    """The sandbox turns go to: the stored choice, else the configured."""
    stored = await deps.store.active_sandbox()
    if is_successful(stored):
        name = stored.unwrap()
        if name is not None:
            return name

    return deps.config.sandbox


async def image_store(
    deps: Deps,
    doing: str,
) -> Result[Capabilities, WardenError]:
    """The runtime's capabilities, refused when its image store is down."""
    caps = await deps.runtime.capabilities()
    if not is_successful(caps):
        return Failure(caps.failure())
    if not caps.unwrap().image_store:
        return Failure(
            WardenError(
                ErrorKind.DESKTOP_REQUIRED,
                f"{doing} needs the image store, and it is not reachable: "
                "start Docker Desktop (or the sbx daemon) and retry; "
                "until then heals skip the template and adopt a healthy "
                "sandbox they discover, or create a fresh one and ask you "
                "to log in",
            ),
        )

    return caps


def _saves_only_stopped(caps: Capabilities) -> bool:
    """Tell whether the tool stops a sandbox to save it (sbx does)."""
    # The doctor tells the tools apart the same way, by name.
    return "sbx" in caps.tool.lower()


def _stopped(error: WardenError, steps: list[str]) -> WardenError:
    """``error``, saying what had been done before it."""
    if not steps:
        return error
    done = "; ".join(steps)

    return WardenError(
        error.kind,
        f"{error.message} (done before the failure: {done})",
        error.reason,
        error.detail,
    )
