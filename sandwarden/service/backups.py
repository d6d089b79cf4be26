"""
Backups: the template as a verified tar file, and the way back from one.

A backup exports the template into the backup directory (0700) under a
temporary name, measures it, writes its manifest (size and SHA-256),
then makes it 0600, syncs it and renames it to its final timestamped
name, so that a tar under a final name always has its manifest; the
``latest`` link is then replaced atomically and old backups are pruned
(the newest is never deleted). A failed or cancelled export leaves no
file behind.

A tool that cannot export a stored template (sbx) writes the tar while
it saves one (``save_to_tar``): there a backup saves the active sandbox
as the template, exactly as `template save` does (probed first, the
current template kept as ``prev``), with the tar going to the temporary
name; the rest is the same. ``CreatedBackup.method`` says which way a
backup went.

A restore checks the tar against its manifest before the image store
sees a byte of it, loads it, replaces the sandbox with one created from
the template, and probes the new sandbox's login. Long exports and loads
report progress to an optional callback.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import os
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from enum import StrEnum, unique
from typing import Any, TypeVar

from returns.pipeline import is_successful
from returns.result import Failure, Result, Success

from sandwarden.domain.backups import (
    Manifest,
    backup_name,
    latest_link_name,
    manifest_name,
    parse_backup_name,
    rotation_plan,
    temporary_name,
)
from sandwarden.domain.errors import ErrorKind, UnavailableReason, WardenError
from sandwarden.domain.sandbox import Capabilities, Operation, SandboxSpec
from sandwarden.domain.values import ImageTag, SandboxName
from sandwarden.ports import Clock, SandboxRuntime
from sandwarden.service.deps import Deps
from sandwarden.service.journal import Topic
from sandwarden.service.probe import Prober
from sandwarden.service.templates import (
    SavedTemplate,
    Templates,
    active_sandbox,
    configured_template,
    image_store,
)

__all__ = [
    "Backup",
    "BackupMethod",
    "Backups",
    "CreatedBackup",
    "Integrity",
    "Progress",
    "Pruned",
    "Restored",
]

#: Called with bytes done and bytes in all (None: not known) while an
#: export or a load runs, and once with the total at its end. A load is
#: reported as the tool takes the tar (the plugin's Docker reads it from
#: a pipe); sbx reads the file itself, so its load is reported only
#: when it is done.
Progress = Callable[[int, int | None], None]

# Twice a second moves a terminal bar smoothly without busy polling.
_POLL = 0.5
# The specification's SANDBOX_TEMPLATE_BACKUP_KEEP default.
_KEEP = 14
# No export runs for a day: a temporary that old was left by a crash.
_DAY = 86400.0
_PARTIAL = ".partial"
_R = TypeVar("_R")


@unique
class Integrity(StrEnum):
    """What is known of a backup's contents."""

    VERIFIED = "verified"
    UNCHECKED = "unchecked"
    CORRUPT = "corrupt"
    NO_MANIFEST = "no_manifest"


@dataclass(frozen=True, slots=True)
class Backup:
    """
    One backup file, as found in the backup directory.

    ``unchecked`` means the size matches the manifest and the digest was
    not computed; ``why`` says what is wrong with a corrupt one; ``age``
    is seconds since it was taken; ``latest`` is true for the one the
    template's link points at.
    """

    path: str
    template: ImageTag
    created_at: float
    age: float
    size: int | None
    integrity: Integrity
    latest: bool
    why: str = ""


@unique
class BackupMethod(StrEnum):
    """How a backup's tar was written."""

    #: The stored template was exported (`docker image save`).
    EXPORT = "export"
    #: The active sandbox was saved as the template and to the tar at
    #: once (`sbx template save -o`), the tool having no export.
    SNAPSHOT = "snapshot"


@dataclass(frozen=True, slots=True)
class CreatedBackup:
    """
    A backup just made: the file, its manifest, what else happened.

    ``saved`` is the template save that came first (``--save``) or that
    wrote the tar (``method`` is ``SNAPSHOT``).
    """

    path: str
    manifest: Manifest
    link: str
    saved: SavedTemplate | None
    pruned: tuple[str, ...]
    method: BackupMethod = BackupMethod.EXPORT


@dataclass(frozen=True, slots=True)
class Pruned:
    """
    What a rotation kept and deleted, as backup (tar) names.

    ``files`` is every file deleted: the backups, their manifests and
    the leftovers of crashed exports.
    """

    kept: tuple[str, ...]
    deleted: tuple[str, ...]
    files: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Restored:
    """
    A restore: which backup, loaded as what, into which sandbox.

    ``verified`` is false only when a missing manifest was overridden;
    ``replaced`` says whether a sandbox of that name was removed first.
    """

    backup: str
    verified: bool
    template: ImageTag
    loaded: tuple[ImageTag, ...]
    sandbox: SandboxName
    replaced: bool
    steps: tuple[str, ...]


class Backups:
    """
    Creates, lists, prunes and restores template backups.

    ``directory`` and ``keep`` are the specification's
    SANDBOX_TEMPLATE_BACKUP_DIR and SANDBOX_TEMPLATE_BACKUP_KEEP.
    """

    def __init__(
        self,
        deps: Deps,
        prober: Prober,
        *,
        directory: str,
        keep: int = _KEEP,
    ) -> None:
        self._deps = deps
        self._prober = prober
        self._directory = directory
        self._keep = keep
        self._templates = Templates(deps, prober)

    async def create(
        self,
        *,
        save: bool = False,
        progress: Progress | None = None,
    ) -> Result[CreatedBackup, WardenError]:
        """
        Export the configured template to a new backup file.

        With ``save``, the active sandbox is saved as the template first.
        A tool that cannot export a stored template always saves the
        active sandbox, writing the tar as it does (see the module
        docstring); it must probe healthy and logged in.
        """
        deps = self._deps
        template = configured_template(deps)
        if not is_successful(template):
            return Failure(template.failure())
        tag = template.unwrap()
        caps = await image_store(deps, "backing up a template")
        if not is_successful(caps):
            return Failure(caps.failure())
        method = _method(caps.unwrap())
        if method is None:
            return Failure(
                WardenError(
                    ErrorKind.UNSUPPORTED,
                    f"{caps.unwrap().tool} can neither export a stored "
                    "template nor save a sandbox to a tar file, so it "
                    "cannot be backed up here",
                ),
            )

        saved: SavedTemplate | None = None
        if method is BackupMethod.EXPORT:
            ready = await self._export_ready(tag, save=save)
            if not is_successful(ready):
                return Failure(ready.failure())
            saved = ready.unwrap()
        made = deps.host.ensure_private_dir(self._directory)
        if not is_successful(made):
            return Failure(made.failure())
        named = await self._free_name(tag)
        if not is_successful(named):
            return Failure(named.failure())
        name, at = named.unwrap()

        written = await self._write(
            tag, name, at, caps.unwrap(), progress, method=method
        )
        if not is_successful(written):
            return Failure(written.failure())
        manifest, snapshot = written.unwrap()
        saved = snapshot or saved
        final = self._path(name)
        link = self._path(latest_link_name(tag))
        linked = deps.host.replace_link(link, name)
        if not is_successful(linked):
            error = linked.failure()
            return Failure(
                WardenError(
                    error.kind,
                    f"backup {final} is written and verified, but "
                    f"{link} still points at the previous one: "
                    f"{error.message}",
                    detail=error.detail,
                ),
            )
        how = (
            ""
            if saved is None or method is BackupMethod.EXPORT
            else f" while saving sandbox {saved.sandbox} as the template"
        )
        deps.note(
            Topic.BACKUP,
            f"backed up template {tag} to {final}{how}",
            template=str(tag),
            path=final,
            size=manifest.size,
            sha256=manifest.sha256,
            method=str(method),
        )
        pruned = self._prune(verified={name})

        return Success(
            CreatedBackup(
                final, manifest, link, saved, pruned.deleted, method
            ),
        )

    async def _export_ready(
        self,
        tag: ImageTag,
        *,
        save: bool,
    ) -> Result[SavedTemplate | None, WardenError]:
        """Save first if asked, then make sure the store holds ``tag``."""
        saved: SavedTemplate | None = None
        if save:
            made = await self._templates.save()
            if not is_successful(made):
                return Failure(made.failure())
            saved = made.unwrap()
        exists = await self._deps.runtime.image_exists(tag)
        if not is_successful(exists):
            return Failure(exists.failure())
        if not exists.unwrap():
            return Failure(
                WardenError(
                    ErrorKind.NOT_FOUND,
                    f"template {tag} is not in the image store; save one "
                    "first: `sandwarden template save`, or `sandwarden "
                    "backup create --save`",
                ),
            )

        return Success(saved)

    async def list(
        self,
        *,
        verify: bool = False,
    ) -> Result[tuple[Backup, ...], WardenError]:
        """
        The backups in the directory, newest first.

        Without ``verify`` only sizes are compared with the manifests;
        with it every file is read and its SHA-256 checked.
        """
        host = self._deps.host
        names = host.list_dir(self._directory)
        if not is_successful(names):
            return Failure(names.failure())
        now = self._deps.clock.time()
        found: list[Backup] = []
        links: dict[ImageTag, str | None] = {}

        for name in names.unwrap():
            parsed = parse_backup_name(name)
            if not is_successful(parsed):
                continue
            backup = parsed.unwrap()
            if backup.template not in links:
                links[backup.template] = self._link_target(backup.template)
            path = self._path(name)
            integrity, size, why = self._inspect(path, verify=verify)
            found.append(
                Backup(
                    path=path,
                    template=backup.template,
                    created_at=backup.created_at,
                    age=max(0.0, now - backup.created_at),
                    size=size,
                    integrity=integrity,
                    latest=links[backup.template] == name,
                    why=why,
                ),
            )
        found.sort(key=lambda b: (b.created_at, b.path), reverse=True)

        return Success(tuple(found))

    def prune(self) -> Result[Pruned, WardenError]:
        """Delete all but the newest ``keep`` backups of each template."""
        names = self._deps.host.list_dir(self._directory)
        if not is_successful(names):
            return Failure(names.failure())

        return Success(self._prune(verified=None))

    async def restore(
        self,
        path: str | None = None,
        *,
        force: bool = False,
        progress: Progress | None = None,
    ) -> Result[Restored, WardenError]:
        """
        Restore the sandbox from ``path`` (default: the latest backup).

        The file must match its manifest; ``force`` accepts a file that
        has no manifest at all, never one that contradicts its manifest.
        """
        deps = self._deps
        name = deps.config.sandbox
        steps: list[str] = []

        caps = await image_store(deps, "restoring a backup")
        if not is_successful(caps):
            return Failure(caps.failure())
        if not caps.unwrap().can(Operation.IMAGE_LOAD):
            return Failure(
                WardenError(
                    ErrorKind.UNSUPPORTED,
                    f"{caps.unwrap().tool} cannot load a template tar",
                ),
            )
        chosen = self._choose(path)
        if not is_successful(chosen):
            return Failure(chosen.failure())
        backup = chosen.unwrap()
        checked = self._check(backup, force=force)
        if not is_successful(checked):
            return Failure(checked.failure())
        manifest, size = checked.unwrap()
        steps.append(
            f"verified {backup} against its manifest"
            if manifest is not None
            else f"accepted {backup} without a manifest (forced)",
        )
        deps.note(Topic.BACKUP, steps[-1], path=backup)

        fed: list[int] = []
        loaded = await _watched(
            deps.clock,
            deps.runtime.image_load(backup, progress=fed.append),
            progress,
            # Only what the tool has taken; nothing when it cannot tell.
            lambda: (fed[-1], size) if fed else None,
        )
        if not is_successful(loaded):
            return Failure(_stopped(loaded.failure(), steps))
        if progress is not None:
            progress(size, size)
        tags = loaded.unwrap()
        template = _template_to_use(manifest, tags, deps.config.template)
        if template is None:
            return Failure(
                _stopped(
                    WardenError(
                        ErrorKind.NOT_FOUND,
                        f"{backup} loaded without naming an image and no "
                        "template is configured; set "
                        "SANDBOX_SELF_HEAL_TEMPLATE to the image it holds",
                    ),
                    steps,
                ),
            )
        steps.append(f"loaded {', '.join(map(str, tags)) or template}")
        deps.note(Topic.BACKUP, steps[-1], path=backup, template=str(template))

        removed = await deps.runtime.remove(name)
        replaced = is_successful(removed)
        if not replaced and not _is_missing(removed.failure()):
            return Failure(_stopped(removed.failure(), steps))
        steps.append(
            f"removed sandbox {name}"
            if replaced
            else f"sandbox {name} was absent"
        )
        deps.note(Topic.BACKUP, steps[-1], sandbox=str(name))
        self._prober.forget(name)
        spec = SandboxSpec(name, deps.config.workspace, template=template)
        created = await deps.runtime.create(spec)
        if not is_successful(created):
            return Failure(_stopped(created.failure(), steps))
        steps.append(
            f"created {name} from {template} over {deps.config.workspace}",
        )
        deps.note(Topic.BACKUP, steps[-1], sandbox=str(name))

        health = await self._prober.probe(name, parity=False)
        if not is_successful(health):
            error = health.failure()
            return Failure(
                _stopped(
                    WardenError(
                        error.kind,
                        f"the restored sandbox {name} is not usable: "
                        f"{error.message}",
                        error.reason,
                        error.detail,
                    ),
                    steps,
                ),
            )
        steps.append(f"{name} is logged in")
        await deps.store.set_active_sandbox(name)
        deps.note(
            Topic.BACKUP,
            f"restored sandbox {name} from {backup}",
            sandbox=str(name),
            path=backup,
            verified=manifest is not None,
        )

        return Success(
            Restored(
                backup=backup,
                verified=manifest is not None,
                template=template,
                loaded=tags,
                sandbox=name,
                replaced=replaced,
                steps=tuple(steps),
            ),
        )

    async def _free_name(
        self,
        template: ImageTag,
    ) -> Result[tuple[str, float], WardenError]:
        """A backup name not yet taken; waits out a second if needed."""
        clock = self._deps.clock
        for _ in range(3):
            at = clock.time()
            name = backup_name(template, at)
            names = self._deps.host.list_dir(self._directory)
            if not is_successful(names):
                return Failure(names.failure())
            taken = set(names.unwrap())
            # A temporary of that name is another export in progress (or
            # a crashed one's leftover, which pruning clears): not ours.
            if not {name, temporary_name(name)} & taken:
                return Success((name, at))
            # Names have whole seconds: the next second gives a new one.
            await clock.sleep(math.floor(at) + 1.0 - at)

        return Failure(
            WardenError(
                ErrorKind.ALREADY_EXISTS,
                f"a backup named {name} already exists and the clock "
                "does not move on; nothing was written",
            ),
        )

    async def _write(
        self,
        template: ImageTag,
        name: str,
        at: float,
        caps: Capabilities,
        progress: Progress | None,
        *,
        method: BackupMethod,
    ) -> Result[tuple[Manifest, SavedTemplate | None], WardenError]:
        """Export, measure, describe and commit; leave nothing on failure."""
        deps, host = self._deps, self._deps.host
        temporary = self._path(temporary_name(name))
        final = self._path(name)
        manifest_path = self._path(manifest_name(name))

        # The tar holds credentials: it is 0600 before the tool writes a
        # byte, so a killed export leaves nothing others can read.
        created = host.create_private_file(temporary)
        if not is_successful(created):
            return Failure(created.failure())
        try:
            exported = await _watched(
                deps.clock,
                self._tar(method, template, temporary),
                progress,
                lambda: (host.file_size(temporary).value_or(0), None),
            )
        except BaseException:
            host.remove(temporary)
            raise
        if not is_successful(exported):
            host.remove(temporary)
            return Failure(exported.failure())
        measured = _measure(host.file_size(temporary), host.sha256(temporary))
        if not is_successful(measured):
            host.remove(temporary)
            return Failure(measured.failure())
        size, digest = measured.unwrap()
        if progress is not None:
            progress(size, size)
        if size == 0:
            host.remove(temporary)
            return Failure(
                WardenError(
                    ErrorKind.STORAGE,
                    f"exporting {template} wrote an empty file; nothing "
                    "was kept",
                ),
            )
        manifest = Manifest(
            file=name,
            template=template,
            created_at=at,
            size=size,
            sha256=digest,
            tool=f"{caps.tool} {caps.version or ''}".strip(),
        )
        described = host.write_text(manifest_path, manifest.to_json())
        if not is_successful(described):
            host.remove(temporary)
            return Failure(described.failure())
        committed = host.commit_file(temporary, final)
        if not is_successful(committed):
            host.remove(temporary)
            host.remove(manifest_path)
            return Failure(committed.failure())

        return Success((manifest, exported.unwrap()))

    async def _tar(
        self,
        method: BackupMethod,
        template: ImageTag,
        path: str,
    ) -> Result[SavedTemplate | None, WardenError]:
        """Write the template's tar to ``path``, the way ``method`` says."""
        match method:
            case BackupMethod.EXPORT:
                exported = await self._deps.runtime.image_export(
                    template, path
                )
                return exported.map(lambda _: None)
            case BackupMethod.SNAPSHOT:
                return await self._snapshot(template, path)

    async def _snapshot(
        self,
        template: ImageTag,
        path: str,
    ) -> Result[SavedTemplate | None, WardenError]:
        """
        Save the active sandbox as ``template``, the tar going to ``path``.

        `template save` does the work (probe, keeping ``prev``, the heal
        lock) over a runtime whose save of ``template`` is a
        ``save_to_tar``.
        """
        deps = self._deps
        runtime = _AlsoToTar(deps.runtime, template, path)
        templates = Templates(
            dataclasses.replace(deps, runtime=runtime), self._prober
        )
        saved = await templates.save()
        if not is_successful(saved):
            error = saved.failure()
            name = await active_sandbox(deps)
            return Failure(
                WardenError(
                    error.kind,
                    f"{error.message} (a backup under a tool that cannot "
                    f"export a stored template saves sandbox {name} as "
                    "the template and writes the tar as it does)",
                    error.reason,
                    error.detail,
                ),
            )
        if not runtime.written:
            return Failure(
                WardenError(
                    ErrorKind.UNKNOWN,
                    f"saving the template did not write {path}; nothing "
                    "was kept",
                ),
            )

        return Success(saved.unwrap())

    def _prune(self, *, verified: set[str] | None) -> Pruned:
        """Apply the rotation plan; a file that resists is noted, kept."""
        deps = self._deps
        names = deps.host.list_dir(self._directory).value_or(())
        plan = rotation_plan(names, self._keep, verified=verified)
        deleted: list[str] = []
        leftovers = _leftovers(names, deps.clock.time())

        for name in (*plan.delete, *leftovers):
            gone = deps.host.remove(self._path(name))
            if is_successful(gone):
                deleted.append(name)
            else:
                deps.note(
                    Topic.BACKUP,
                    f"could not delete old backup {name}: "
                    f"{gone.failure().message}",
                    path=self._path(name),
                )
        backups = tuple(n for n in deleted if _is_tar(n))
        if deleted:
            deps.note(
                Topic.BACKUP,
                f"pruned {len(backups)} old backups ({len(deleted)} files), "
                f"keeping {len(plan.keep)}",
                directory=self._directory,
            )

        return Pruned(plan.keep, backups, tuple(deleted))

    def _choose(self, path: str | None) -> Result[str, WardenError]:
        """The file to restore: ``path``, or the latest link, followed."""
        host = self._deps.host
        if path is None:
            template = configured_template(self._deps)
            if not is_successful(template):
                return Failure(template.failure())
            path = self._path(latest_link_name(template.unwrap()))
            target = host.read_link(path)
            if not is_successful(target):
                return Failure(target.failure())
            if target.unwrap() is None:
                return Failure(
                    WardenError(
                        ErrorKind.NOT_FOUND,
                        f"there is no backup to restore: {path} does not "
                        "exist; make one with `sandwarden backup create`",
                    ),
                )
        target = host.read_link(path)
        if not is_successful(target):
            return Failure(target.failure())
        pointed = target.unwrap()
        if pointed is None:
            return Success(path)

        return Success(os.path.join(os.path.dirname(path), pointed))

    def _check(
        self,
        path: str,
        *,
        force: bool,
    ) -> Result[tuple[Manifest | None, int], WardenError]:
        """Verify ``path`` against its manifest before anything loads it."""
        host = self._deps.host
        size = host.file_size(path)
        if not is_successful(size):
            if size.failure().kind is ErrorKind.NOT_FOUND:
                return Failure(
                    WardenError(
                        ErrorKind.NOT_FOUND,
                        f"there is no backup file {path}; name an existing "
                        "one (`sandwarden backup list`) or none for the "
                        "latest; nothing was loaded",
                    ),
                )
            return Failure(size.failure())
        manifest = self._manifest(path)
        if not is_successful(manifest):
            return Failure(manifest.failure())
        found = manifest.unwrap()
        if found is None:
            if force:
                return Success((None, size.unwrap()))
            return Failure(
                WardenError(
                    ErrorKind.NOT_FOUND,
                    f"{path} has no manifest ({manifest_name(path)}), so "
                    "it cannot be verified; nothing was loaded (restore "
                    "it unverified with --force if you trust the file)",
                ),
            )
        digest = host.sha256(path)
        if not is_successful(digest):
            return Failure(digest.failure())
        verified = found.verify(size.unwrap(), digest.unwrap())
        if not is_successful(verified):
            error = verified.failure()
            return Failure(
                WardenError(
                    error.kind,
                    f"{error.message}; nothing was loaded",
                    detail=error.detail,
                ),
            )

        return Success((found, size.unwrap()))

    def _manifest(self, path: str) -> Result[Manifest | None, WardenError]:
        """The manifest beside ``path``; None when there is none."""
        text = self._deps.host.read_text(manifest_name(path))
        if not is_successful(text):
            error = text.failure()
            if error.kind is ErrorKind.NOT_FOUND:
                return Success(None)
            return Failure(error)
        parsed = Manifest.from_json(text.unwrap())
        if not is_successful(parsed):
            return Failure(
                WardenError(
                    ErrorKind.STORAGE,
                    f"the manifest of {path} is damaged: "
                    f"{parsed.failure().message}",
                ),
            )

        return Success(parsed.unwrap())

    def _inspect(
        self,
        path: str,
        *,
        verify: bool,
    ) -> tuple[Integrity, int | None, str]:
        host = self._deps.host
        size = host.file_size(path).value_or(None)
        manifest = self._manifest(path)
        if not is_successful(manifest):
            return Integrity.CORRUPT, size, manifest.failure().message
        found = manifest.unwrap()
        if found is None:
            return Integrity.NO_MANIFEST, size, "no manifest"
        if size is None or size != found.size:
            return Integrity.CORRUPT, size, "size differs from its manifest"
        if not verify:
            return Integrity.UNCHECKED, size, ""
        checked = host.sha256(path).bind(
            lambda digest: found.verify(size, digest),
        )
        if not is_successful(checked):
            return Integrity.CORRUPT, size, checked.failure().message

        return Integrity.VERIFIED, size, ""

    def _link_target(self, template: ImageTag) -> str | None:
        link = self._path(latest_link_name(template))
        target = self._deps.host.read_link(link).value_or(None)

        return None if target is None else os.path.basename(target)

    def _path(self, name: str) -> str:
        return os.path.join(self._directory, name)


class _AlsoToTar:
    """
    A runtime whose save of one tag also writes that tag's tar.

    Every other call is the wrapped runtime's own.
    """

    def __init__(
        self, runtime: SandboxRuntime, tag: ImageTag, path: str
    ) -> None:
        self._runtime = runtime
        self._tag = tag
        self._path = path
        self.written = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._runtime, name)

    async def save(
        self, name: SandboxName, tag: ImageTag
    ) -> Result[None, WardenError]:
        if tag != self._tag:
            return await self._runtime.save(name, tag)
        saved = await self._runtime.save_to_tar(name, tag, self._path)
        self.written = is_successful(saved)

        return saved


def _method(caps: Capabilities) -> BackupMethod | None:
    """How this tool writes a template's tar, if it can at all."""
    if caps.can(Operation.IMAGE_EXPORT):
        return BackupMethod.EXPORT
    if caps.can(Operation.SAVE_TO_TAR):
        return BackupMethod.SNAPSHOT

    return None


async def _watched(
    clock: Clock,
    work: Coroutine[Any, Any, _R],
    progress: Progress | None,
    measure: Callable[[], tuple[int, int | None] | None],
) -> _R:
    """
    Await ``work``, reporting ``measure()`` every ``_POLL`` seconds.

    A measure of None (nothing known yet) is not reported.
    """
    if progress is None:
        return await work
    task = asyncio.ensure_future(work)

    try:
        while not task.done():
            measured = measure()
            if measured is not None:
                progress(*measured)
            tick = asyncio.ensure_future(clock.sleep(_POLL))
            try:
                await asyncio.wait(
                    {task, tick},
                    return_when=asyncio.FIRST_COMPLETED,
                )
            finally:
                tick.cancel()
    finally:
        if not task.done():
            task.cancel()

    return task.result()


def _leftovers(names: Sequence[str], now: float) -> tuple[str, ...]:
    """Temporaries older than a day: exports that crashed, not running."""
    old: list[str] = []
    for name in names:
        if not (name.startswith(".") and name.endswith(_PARTIAL)):
            continue
        parsed = parse_backup_name(name[1 : -len(_PARTIAL)])
        if is_successful(parsed) and now - parsed.unwrap().created_at > _DAY:
            old.append(name)

    return tuple(old)


def _is_tar(name: str) -> bool:
    """Whether ``name`` is a backup itself, not a manifest beside one."""
    return is_successful(parse_backup_name(name))


def _measure(
    size: Result[int, WardenError],
    digest: Result[str, WardenError],
) -> Result[tuple[int, str], WardenError]:
    return size.bind(lambda n: digest.map(lambda d: (n, d)))


def _template_to_use(
    manifest: Manifest | None,
    loaded: tuple[ImageTag, ...],
    configured: ImageTag | None,
) -> ImageTag | None:
    """The image to create from: the manifest's, else what was loaded."""
    if manifest is not None:
        return manifest.template
    if configured is not None and (not loaded or configured in loaded):
        return configured

    return loaded[0] if loaded else None


def _is_missing(error: WardenError) -> bool:
    return (
        error.kind is ErrorKind.NOT_FOUND
        or error.reason is UnavailableReason.NOT_FOUND
    )


def _stopped(error: WardenError, steps: list[str]) -> WardenError:
    """``error``, saying what the restore had done before it."""
    if not steps:
        return error

    return WardenError(
        error.kind,
        f"{error.message} (done before the failure: {'; '.join(steps)})",
        error.reason,
        error.detail,
    )
