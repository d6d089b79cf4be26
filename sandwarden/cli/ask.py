"""
`sandwarden ask PROMPT`: one turn, Claude's answer printed as it arrives.

The prompt is the argument, or standard input for ``-`` or none. The
answer goes to stdout as it streams, its last line ended with a newline
(before a note or a log line joins it on a terminal); what the warden did
on the way (a heal, a new conversation and why) goes to stderr. With
``--json`` nothing streams and the final reply is one JSON object.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from returns.pipeline import is_successful

from sandwarden.cli.common import (
    Session,
    add_command,
    run_with_warden,
)
from sandwarden.domain.errors import WardenError
from sandwarden.domain.reply import Reply

__all__ = ["register", "reply_json"]


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """Add the ``ask`` subcommand."""
    parser = add_command(
        subparsers,
        "ask",
        summary="send a prompt to Claude in the sandbox, print the answer",
        description=(
            "Run one turn: probe (cached briefly), guard the billing, run "
            "Claude with deadlines, heal and retry once when the sandbox "
            "broke. The answer streams to stdout; notes go to stderr."
        ),
    )
    parser.add_argument(
        "prompt",
        nargs="?",
        default="-",
        metavar="PROMPT",
        help="the prompt; - or none reads it from standard input",
    )
    parser.add_argument(
        "--conversation",
        metavar="KEY",
        help="continue the conversation named KEY (created on first use)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Ask, print, and return the exit code."""
    return run_with_warden(args, lambda session: _ask(session, args))


async def _ask(session: Session, args: argparse.Namespace) -> int:
    output = session.output
    prompt = _prompt(args.prompt)
    if isinstance(prompt, WardenError):
        return output.fail(prompt)
    live = output.live() if not output.json else None

    def retried(why: str) -> None:
        # What was shown was cut off: end its line and say so, so the
        # reader knows the answer that follows starts again.
        if live is not None:
            live.end()
        output.note(f"note: the answer above was cut off; {why}; again:")

    result = await session.warden.ask(
        prompt,
        conversation=args.conversation,
        on_text=live,
        on_retry=retried,
    )

    if live is not None:
        live.end()
    if not is_successful(result):
        return output.fail(result.failure())
    reply = result.unwrap()
    for note in reply.notes:
        output.note(f"note: {note}")

    return output.emit(reply_json(reply, args.conversation))


def _prompt(given: str) -> str | WardenError:
    """Return the prompt of ``given`` (``-``: stdin), or why it is unfit."""
    expected = "expected text as the argument or on standard input"
    if given != "-":
        prompt = given
    elif sys.stdin is None:
        return WardenError.invalid(f"standard input is closed; {expected}")
    else:
        try:
            prompt = sys.stdin.read()
        except UnicodeDecodeError:
            return WardenError.invalid(
                f"standard input is not UTF-8 text; {expected}",
            )
    if not prompt.strip():
        return WardenError.invalid(f"the prompt is empty; {expected}")
    try:
        prompt.encode("utf-8")
    except UnicodeEncodeError as error:
        # An argument of bytes that are not UTF-8 arrives with them
        # smuggled in as lone surrogates.
        return WardenError.invalid(
            f"the prompt is not UTF-8 text (character {error.start}); "
            f"{expected}",
        )

    return prompt


def reply_json(reply: Reply, conversation: str | None) -> dict[str, Any]:
    """The ``--json`` answer of a turn."""
    return {
        "text": reply.text,
        "session_id": reply.session_id,
        "conversation": conversation,
        "outcome": str(reply.outcome),
        "error_kind": None if reply.error_kind is None else reply.error_kind,
        "cost_usd": reply.total_cost_usd,
        "turns": reply.num_turns,
        "duration_ms": reply.duration_ms,
        "model": reply.model,
        "usage": None if reply.usage is None else dict(reply.usage),
        "notes": list(reply.notes),
    }
