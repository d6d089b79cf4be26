"""
`sandwarden transcript FILE`: why a captured Claude run ended as it did.

Reads the stdout of `claude -p --output-format stream-json --verbose`
(a file, or ``-`` for standard input) in chunks through the stream
decoder, and prints the reply's verdict: outcome, error kind with what to
do about it, session id, result text, errors, cost, turns, event counts
and any line that could not be used. Exit 0 for a success, 1 for a run
that failed, 2 when the input is unusable. With ``--json`` the verdict,
or why the input is unusable, is one JSON object whose ``ok`` is true
exactly when the exit code is 0, as for every other command.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import BinaryIO

from sandwarden.cli.common import Output, printable
from sandwarden.domain.errors import ErrorKind, WardenError
from sandwarden.domain.events import (
    CorruptLine,
    Event,
    NoiseLine,
    OversizedLine,
    TruncatedLine,
)
from sandwarden.domain.reply import Outcome, Reply, ReplyBuilder
from sandwarden.domain.stream import DEFAULT_MAX_LINE, StreamDecoder

__all__ = ["register", "run"]

_CHUNK = 64 * 1024
# Enough of a long answer to recognise it; --json prints all of it.
_SHOWN_TEXT = 1000
_EXPECTED = (
    "expected the standard output of `claude -p --output-format "
    "stream-json --verbose`, one JSON event per line"
)

_NEXT_STEP = {
    ErrorKind.AUTH: (
        "the sandbox's Claude login is missing, expired or revoked: log "
        "in again inside the sandbox (`sandwarden login`) or heal from an "
        "authenticated template"
    ),
    ErrorKind.USAGE_LIMIT: (
        "the plan's usage limit or the credit is used up: wait for the "
        "reset shown under rate limit, or switch the account"
    ),
    ErrorKind.API_ERROR: (
        "the Anthropic API failed or is overloaded: retry later "
        "(https://status.claude.com)"
    ),
    ErrorKind.MAX_TURNS: "the run reached --max-turns: raise it or split "
    "the task",
    ErrorKind.MAX_BUDGET: "the run reached --max-budget-usd: raise the budget",
    ErrorKind.EXECUTION_ERROR: (
        "Claude failed while working: read the errors below and the "
        "run's stderr"
    ),
    ErrorKind.SESSION_NOT_FOUND: (
        "the session to resume is not in this sandbox: start a new "
        "conversation; the stored session id is stale"
    ),
    ErrorKind.TRUNCATED: (
        "the output stopped before its result: the run was killed "
        "(timeout, stall, cancel; exit 143), crashed, or the capture was "
        "cut; check the exit code and stderr"
    ),
}


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """Add the ``transcript`` subcommand."""
    parser = subparsers.add_parser(
        "transcript",
        help="explain a captured stream-json run: outcome, error, session",
        description=(
            "Read the output of `claude -p --output-format stream-json "
            "--verbose` and print how the run ended and why. Exit 0 for "
            "a success, 1 for a failed run, 2 for unusable input."
        ),
    )
    parser.add_argument(
        "file",
        metavar="FILE",
        help="the captured output, or - for standard input",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object instead of text",
    )
    parser.add_argument(
        "--max-line",
        type=_positive,
        default=DEFAULT_MAX_LINE,
        metavar="BYTES",
        help="skip lines longer than this (default: 64 MiB)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print the verdict of the transcript ``args.file``."""
    output = Output.current(json=args.json)
    name = "standard input" if args.file == "-" else args.file
    if args.file == "-" and sys.stdin is None:
        return _unusable(output, "standard input is closed")
    problems = _Problems()
    try:
        if args.file == "-":
            reply = _read(sys.stdin.buffer, args.max_line, problems)
        else:
            with open(args.file, "rb") as stream:
                reply = _read(stream, args.max_line, problems)
    except OSError as error:
        reason = error.strerror or str(error)
        return _unusable(output, f"cannot read {name}: {reason}")
    if problems.size == 0:
        return _unusable(output, f"{name} is empty")
    if reply.json_events == 0:
        return _unusable(
            output,
            f"{name} holds no stream-json event "
            f"({problems.summary() or 'nothing'})",
        )

    code = 0 if reply.outcome is Outcome.SUCCESS else 1
    # Claude's text may hold a lone surrogate (from a "\ud800" escape):
    # JSON stays ASCII, text gets it backslash-escaped.
    if output.json:
        return output.emit(summary(reply), code=code)
    print(printable(describe(reply, name, problems), sys.stdout))

    return code


def summary(reply: Reply) -> dict[str, object]:
    """Return the ``--json`` object: a stable set of keys."""
    return {
        "outcome": str(reply.outcome),
        "error_kind": None if reply.error_kind is None else reply.error_kind,
        "session_id": reply.session_id,
        "subtype": reply.subtype,
        "is_error": reply.is_error,
        "result_text": reply.result_text,
        "errors": list(reply.errors),
        "total_cost_usd": reply.total_cost_usd,
        "num_turns": reply.num_turns,
        "event_counts": dict(reply.event_counts or {}),
    }


def describe(reply: Reply, name: str, problems: _Problems) -> str:
    """Render the verdict for a person reading a terminal."""
    rows: list[tuple[str, str]] = [("transcript", name)]
    if reply.error_kind is None:
        rows.append(("outcome", "success"))
    else:
        rows += [
            ("outcome", f"error: {reply.error_kind}"),
            ("what", reply.error_message or ""),
            ("next step", _NEXT_STEP[reply.error_kind]),
        ]
    rows += _session_rows(reply)
    rows += _detail_rows(reply)
    counts = reply.event_counts or {}
    rows.append(
        ("events", ", ".join(f"{k} {v}" for k, v in counts.items())),
    )
    if problems.summary():
        rows.append(("bad lines", problems.summary()))
    if reply.errors:
        labels = ["errors"] + [""] * (len(reply.errors) - 1)
        rows += [
            (label, f"- {error}")
            for label, error in zip(labels, reply.errors, strict=True)
        ]
    rows.append(("result text", _shown(reply)))

    width = max(len(label) for label, _ in rows) + 2
    return "\n".join(
        f"{label:<{width}}{_indented(value, width)}" for label, value in rows
    )


def _session_rows(reply: Reply) -> list[tuple[str, str]]:
    session = reply.session_id or "none reported"
    if reply.init_session_id and reply.init_session_id != reply.session_id:
        session += f" (init said {reply.init_session_id})"
    resumable = reply.resumable_session_id
    rows = [
        ("session id", session),
        (
            "resume with",
            str(resumable)
            if resumable
            else "nothing: start a new conversation",
        ),
    ]
    if reply.model or reply.api_key_source:
        rows.append(
            (
                "model",
                f"{reply.model or 'unknown'} (apiKeySource "
                f"{reply.api_key_source or 'unknown'})",
            ),
        )

    return rows


def _detail_rows(reply: Reply) -> list[tuple[str, str]]:
    is_error = "-" if reply.is_error is None else str(reply.is_error).lower()
    rows = [("subtype", f"{reply.subtype or '-'} (is_error {is_error})")]
    signals = [
        f"{label} {value}"
        for label, value in (
            ("HTTP", reply.api_error_status),
            ("terminal reason", reply.terminal_reason),
            ("assistant error", reply.assistant_error),
        )
        if value is not None
    ]
    if signals:
        rows.append(("signals", ", ".join(signals)))
    limit = reply.rate_limit
    if limit is not None:
        text = f"{limit.status or 'unknown'} ({limit.rate_limit_type or '-'})"
        if limit.resets_at is not None:
            resets = datetime.fromtimestamp(limit.resets_at, UTC)
            text += f", resets {resets:%Y-%m-%d %H:%M} UTC"
        rows.append(("rate limit", text))
    cost = reply.total_cost_usd
    rows += [
        ("cost", "not reported" if cost is None else f"${cost:.4f}"),
        ("turns", "-" if reply.num_turns is None else str(reply.num_turns)),
    ]

    return rows


def _shown(reply: Reply) -> str:
    text = reply.text
    if not text:
        return "(none)"
    if len(text) <= _SHOWN_TEXT:
        return text
    hidden = len(text) - _SHOWN_TEXT

    return f"{text[:_SHOWN_TEXT]}… ({hidden} more characters; see --json)"


def _indented(value: str, width: int) -> str:
    return value.replace("\n", "\n" + " " * width)


class _Problems:
    """Counts the input's bytes and remembers its first bad lines."""

    def __init__(self) -> None:
        self.size = 0
        self.noise = 0
        self.first_noise = ""
        self.corrupt = 0
        self.oversized: list[int] = []
        self.truncated = False

    def note(self, event: Event) -> None:
        if type(event) is NoiseLine:
            self.noise += 1
            self.first_noise = self.first_noise or event.head
        elif type(event) is CorruptLine:
            self.corrupt += 1
        elif type(event) is OversizedLine:
            self.oversized.append(event.size)
        elif type(event) is TruncatedLine:
            self.truncated = True

    def summary(self) -> str:
        parts = []
        if self.noise:
            parts.append(
                f"{self.noise} line(s) that are not stream-json events "
                f"skipped, the first: {self.first_noise!r}",
            )
        if self.corrupt:
            parts.append(f"{self.corrupt} corrupt JSON line(s)")
        if self.oversized:
            sizes = ", ".join(f"{size:,} bytes" for size in self.oversized)
            parts.append(f"line(s) over the --max-line cap skipped: {sizes}")
        if self.truncated:
            parts.append("the last line is cut off")

        return "; ".join(parts)


def _read(stream: BinaryIO, max_line: int, problems: _Problems) -> Reply:
    decoder = StreamDecoder(max_line)
    builder = ReplyBuilder()
    while chunk := stream.read(_CHUNK):
        problems.size += len(chunk)
        for event in decoder.feed(chunk):
            problems.note(event)
            builder.add(event)
    for event in decoder.finish():
        problems.note(event)
        builder.add(event)

    return builder.build()


def _unusable(output: Output, problem: str) -> int:
    message = f"{problem}; {_EXPECTED}"
    if output.json:
        output.fail(WardenError.invalid(message))
    else:
        print(f"sandwarden transcript: {message}", file=sys.stderr)

    return 2


def _positive(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(
            f"{raw!r} is not a positive number of bytes",
        )

    return value
