"""
`sandwarden backup create|list|prune`: the template as verified tar files.

``create`` exports the template into the backup directory with a
manifest (size, SHA-256), points the ``latest`` link at it and prunes
old files (the newest is never deleted); ``--save`` first saves the
active sandbox as the template. ``list`` shows the backups, newest
first (``--verify`` checks every digest); ``prune`` applies the
rotation (SANDBOX_TEMPLATE_BACKUP_KEEP). A progress meter shows on a
terminal while a long export runs.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from typing import Any

from returns.pipeline import is_successful

from sandwarden.cli.common import (
    Session,
    add_command,
    add_group,
    progress_meter,
    run_with_warden,
    utc,
)
from sandwarden.cli.template import saved_json
from sandwarden.domain.errors import ErrorKind, WardenError
from sandwarden.service.backups import (
    Backup,
    BackupMethod,
    CreatedBackup,
    Integrity,
)

__all__ = ["backup_json", "register"]


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """Add ``backup`` and its actions."""
    actions = add_group(
        subparsers,
        "backup",
        summary="create, list or prune template backups (tar files)",
        description=(
            "Keep the template beyond Docker's image store: verified tar "
            "files in SANDBOX_TEMPLATE_BACKUP_DIR."
        ),
    )
    create = add_command(
        actions,
        "create",
        summary="export the template to a new backup file",
        description=(
            "Export the template to a timestamped tar with a manifest, "
            "move the latest link to it, prune old ones. Needs the image "
            "store (Docker Desktop). Under sbx, which cannot export a "
            "stored template, the active sandbox is saved as the "
            "template and the tar written as it is saved (as --save)."
        ),
    )
    create.add_argument(
        "--save",
        action="store_true",
        help="first save the active sandbox as the template",
    )
    create.set_defaults(handler=_handler(_create))
    listing = add_command(
        actions,
        "list",
        summary="list the backups, newest first",
        description=(
            "List the backup files with their age, size and integrity. "
            "Exit 1 when any is corrupt."
        ),
    )
    listing.add_argument(
        "--verify",
        action="store_true",
        help="read every file and check its SHA-256 (slow for big files)",
    )
    listing.set_defaults(handler=_handler(_list))
    prune = add_command(
        actions,
        "prune",
        summary="delete all but the newest backups kept by the settings",
        description=(
            "Delete old backups beyond SANDBOX_TEMPLATE_BACKUP_KEEP; the "
            "newest is never deleted."
        ),
    )
    prune.set_defaults(handler=_handler(_prune))


Action = Callable[[Session, argparse.Namespace], Awaitable[int]]


def _handler(action: Action) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        return run_with_warden(args, lambda session: action(session, args))

    return handler


async def _create(session: Session, args: argparse.Namespace) -> int:
    output = session.output
    meter = progress_meter("exporting", output)
    try:
        made = await session.warden.backup(save=args.save, progress=meter)
    finally:
        if meter is not None:
            meter.finish()
    if not is_successful(made):
        return output.fail(made.failure())
    created = made.unwrap()

    if created.saved is not None:
        for step in created.saved.steps:
            output.say(f"- {step}")
    output.say(f"backed up {created.manifest.template} to {created.path}")
    if created.method is BackupMethod.SNAPSHOT:
        output.say(
            "  written while saving the sandbox as the template (the tool "
            "cannot export a stored one)",
        )
    output.say(
        f"  {created.manifest.size} bytes, sha256 {created.manifest.sha256}",
    )
    for name in created.pruned:
        output.say(f"  pruned {name}")

    return output.emit(_created_json(created))


async def _list(session: Session, args: argparse.Namespace) -> int:
    output = session.output
    found = await session.warden.backups(verify=args.verify)
    if not is_successful(found):
        return output.fail(found.failure())
    backups = found.unwrap()

    if not backups:
        output.say(f"no backups in {session.settings.backup_dir}")
    for backup in backups:
        mark = "*" if backup.latest else " "
        size = "-" if backup.size is None else str(backup.size)
        why = f" ({backup.why})" if backup.why else ""
        output.say(
            f"{mark} {backup.path}  {utc(backup.created_at)}  {size} bytes"
            f"  {backup.integrity}{why}",
        )
    payload = {"backups": [backup_json(backup) for backup in backups]}
    corrupt = [b.path for b in backups if b.integrity is Integrity.CORRUPT]
    if corrupt:
        return output.fail(
            WardenError(
                ErrorKind.STORAGE,
                f"{len(corrupt)} backup(s) do not match their manifest: "
                + ", ".join(corrupt),
            ),
            payload,
        )

    return output.emit(payload)


async def _prune(session: Session, _: argparse.Namespace) -> int:
    output = session.output
    pruned = await session.warden.prune_backups()
    if not is_successful(pruned):
        return output.fail(pruned.failure())
    result = pruned.unwrap()

    for name in result.files:
        output.say(f"deleted {name}")
    # Both counts are backups; a backup's manifest goes with it.
    output.say(
        f"kept {_backups(len(result.kept))}, deleted "
        f"{_backups(len(result.deleted))} ({len(result.files)} files)",
    )

    return output.emit(
        {
            "kept": list(result.kept),
            "deleted": list(result.deleted),
            "files": list(result.files),
        },
    )


def _backups(count: int) -> str:
    return f"{count} backup{'' if count == 1 else 's'}"


def backup_json(backup: Backup) -> dict[str, Any]:
    """One backup file as JSON."""
    return {
        "path": backup.path,
        "template": str(backup.template),
        "created_at": utc(backup.created_at),
        "age_seconds": round(backup.age, 3),
        "size": backup.size,
        "integrity": str(backup.integrity),
        "latest": backup.latest,
        "why": backup.why,
    }


def _created_json(created: CreatedBackup) -> dict[str, Any]:
    manifest = created.manifest
    saved = None if created.saved is None else saved_json(created.saved)

    return {
        "path": created.path,
        "link": created.link,
        "template": str(manifest.template),
        "size": manifest.size,
        "sha256": manifest.sha256,
        "created_at": utc(manifest.created_at),
        "tool": manifest.tool,
        "saved": saved,
        "pruned": list(created.pruned),
        "method": str(created.method),
    }
