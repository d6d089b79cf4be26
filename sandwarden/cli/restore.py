"""
`sandwarden restore [FILE]`: rebuild the sandbox from a template backup.

The file (default: the latest backup) is checked against its manifest
before the image store sees it, loaded, and the configured sandbox is
replaced by one created from the template and probed. ``--force``
accepts a file without a manifest, never one that contradicts its own.
"""

from __future__ import annotations

import argparse
from typing import Any

from returns.pipeline import is_successful

from sandwarden.cli.common import (
    Session,
    add_command,
    progress_meter,
    run_with_warden,
)
from sandwarden.service.backups import Restored

__all__ = ["register", "restored_json"]


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """Add the ``restore`` subcommand."""
    parser = add_command(
        subparsers,
        "restore",
        summary="recreate the sandbox from a verified template backup",
        description=(
            "Verify the backup against its manifest, load it into the "
            "image store, replace the configured sandbox with one made "
            "from it, and check its login. Needs the image store."
        ),
    )
    parser.add_argument(
        "file",
        nargs="?",
        metavar="FILE",
        help="the backup tar (default: the latest backup of the template)",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="accept a backup that has no manifest (unverified)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Restore; return the exit code."""
    return run_with_warden(args, lambda session: _restore(session, args))


async def _restore(session: Session, args: argparse.Namespace) -> int:
    output = session.output
    meter = progress_meter("loading", output)
    try:
        restored = await session.warden.restore(
            args.file,
            force=args.force,
            progress=meter,
        )
    finally:
        if meter is not None:
            meter.finish()
    if not is_successful(restored):
        return output.fail(restored.failure())
    done = restored.unwrap()

    for step in done.steps:
        output.say(f"- {step}")
    output.say(f"restored {done.sandbox} from {done.backup}")

    return output.emit(restored_json(done))


def restored_json(restored: Restored) -> dict[str, Any]:
    """A restore as JSON."""
    return {
        "backup": restored.backup,
        "verified": restored.verified,
        "template": str(restored.template),
        "loaded": [str(tag) for tag in restored.loaded],
        "sandbox": restored.sandbox.value,
        "replaced": restored.replaced,
        "steps": list(restored.steps),
    }
