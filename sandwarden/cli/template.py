"""
`sandwarden template save|rollback|list`: the authenticated template.

``save`` snapshots the active sandbox (after a probe: a logged-out
template would spread the logout) and keeps the template it replaces as
``prev``; ``rollback`` points the template back at ``prev``; ``list``
says which of the two tags the image store holds. All three need the
image store (Docker Desktop running): without it they exit 4.
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
    run_with_warden,
)
from sandwarden.service.templates import SavedTemplate

__all__ = ["register", "saved_json"]


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """Add ``template`` and its actions."""
    actions = add_group(
        subparsers,
        "template",
        summary="save, roll back or list the authenticated template",
        description=(
            "Manage the template image (SANDBOX_SELF_HEAL_TEMPLATE) that "
            "heals and restores create authenticated sandboxes from."
        ),
    )
    save = add_command(
        actions,
        "save",
        summary="save the active sandbox as the template",
        description=(
            "Probe the active sandbox, keep the current template as "
            "<name>:prev, then save the sandbox as the template. Needs "
            "the image store (Docker Desktop)."
        ),
    )
    save.set_defaults(handler=_run(_save))
    rollback = add_command(
        actions,
        "rollback",
        summary="point the template back at the previous one",
        description="Copy <name>:prev over the template's tag.",
    )
    rollback.set_defaults(handler=_run(_rollback))
    listing = add_command(
        actions,
        "list",
        summary="show which template tags the image store holds",
        description="Show whether the template and its :prev exist.",
    )
    listing.set_defaults(handler=_run(_list))


def _run(
    work: Callable[[Session], Awaitable[int]],
) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        return run_with_warden(args, work)

    return handler


async def _save(session: Session) -> int:
    output = session.output
    saved = await session.warden.save_template()
    if not is_successful(saved):
        return output.fail(saved.failure())
    template = saved.unwrap()

    for step in template.steps:
        output.say(f"- {step}")
    output.say(f"saved {template.sandbox} as {template.template}")
    output.say(
        "next: `sandwarden backup create` keeps it safe beyond Docker's "
        "image store",
    )

    return output.emit(saved_json(template))


async def _rollback(session: Session) -> int:
    output = session.output
    rolled = await session.warden.rollback_template()
    if not is_successful(rolled):
        return output.fail(rolled.failure())
    back = rolled.unwrap()

    for step in back.steps:
        output.say(f"- {step}")
    output.say(f"{back.template} now names what {back.source} names")

    return output.emit(
        {
            "template": str(back.template),
            "source": str(back.source),
            "copied_by": str(back.copied_by),
            "steps": list(back.steps),
        },
    )


async def _list(session: Session) -> int:
    output = session.output
    found = await session.warden.templates()
    if not is_successful(found):
        return output.fail(found.failure())
    state = found.unwrap()

    for tag, present in (
        (state.latest, state.latest_present),
        (state.prev, state.prev_present),
    ):
        output.say(f"{tag}  {'present' if present else 'missing'}")

    return output.emit(
        {
            "templates": [
                {"tag": str(state.latest), "present": state.latest_present},
                {"tag": str(state.prev), "present": state.prev_present},
            ],
        },
    )


def saved_json(saved: SavedTemplate) -> dict[str, Any]:
    """A saved template as JSON."""
    return {
        "sandbox": saved.sandbox.value,
        "template": str(saved.template),
        "previous": None if saved.previous is None else str(saved.previous),
        "copied_by": None if saved.copied_by is None else str(saved.copied_by),
        "steps": list(saved.steps),
    }
