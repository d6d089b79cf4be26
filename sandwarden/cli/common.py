"""
What every warden subcommand shares: exit codes, output, the warden.

One table maps each ``ErrorKind`` to an exit code; ``--help`` shows it
(``EXIT_CODES_HELP``). A subcommand adds its parser with
``add_command``, which gives it ``--json``, the settings flags and the
table as its epilog, and runs its work with ``run_with_warden``: the
settings are loaded, logging to stderr is set up at their level, the
warden is built by ``bootstrap`` and closed afterwards. On the
simulator (``--runtime sim``) the work runs on virtual time, so a
rehearsal's delays pass at once.

Output: human text by default; with ``--json`` one JSON object on
stdout, ``{"ok": true, ...}`` or ``{"ok": false, "error": {...}}``,
ASCII with JSON's escapes, so that any text fits any stdout (a lone
surrogate from a stream-json escape included); ``printable`` does the
same for human text. Text streamed to stdout as it comes (``live``)
has its last line ended before anything else is printed where it
shows, so a note or a log line never runs into it.
Errors without ``--json`` are one line on stderr,
``sandwarden: <kind>: <message>``, then the evidence when there is any.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import textwrap
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum, unique
from typing import Any, TextIO, assert_never

from returns.pipeline import is_successful

from sandwarden.bootstrap import bootstrap
from sandwarden.cli.config import add_settings_arguments, settings_from_args
from sandwarden.domain.errors import ErrorKind, WardenError
from sandwarden.settings import LogLevel, Runtime, Settings
from sandwarden.simulator.clock import VirtualClock
from sandwarden.warden import Warden

__all__ = [
    "EXIT_CODES_HELP",
    "Exit",
    "HelpFormatter",
    "LiveText",
    "Output",
    "Session",
    "add_command",
    "add_group",
    "error_json",
    "exit_code",
    "load",
    "logging_to_stderr",
    "printable",
    "progress_meter",
    "run_with_warden",
    "utc",
]

# Lines of an error's evidence shown on a terminal; --json has it all.
_DETAIL_LINES = 12
_LOGGER = "sandwarden"


@unique
class Exit(IntEnum):
    """The exit codes of the warden's subcommands."""

    OK = 0
    FAILED = 1
    USAGE = 2
    HUMAN = 3
    UNAVAILABLE = 4
    STOPPED = 5
    BREAKER = 6
    REFUSED = 7


def exit_code(kind: ErrorKind) -> Exit:
    """The exit code of a failure of ``kind``."""
    match kind:
        case (
            ErrorKind.INVALID_INPUT
            | ErrorKind.UNSUPPORTED_OPTION
            | ErrorKind.UNSUPPORTED
        ):
            return Exit.USAGE
        case ErrorKind.AUTH | ErrorKind.BILLING_GUARD:
            return Exit.HUMAN
        case (
            ErrorKind.SANDBOX_UNAVAILABLE
            | ErrorKind.DESKTOP_REQUIRED
            | ErrorKind.WORKSPACE_MISMATCH
            | ErrorKind.PARITY_MISMATCH
            | ErrorKind.NOT_FOUND
        ):
            return Exit.UNAVAILABLE
        case (
            ErrorKind.TIMEOUT
            | ErrorKind.STALLED
            | ErrorKind.CANCELLED
            | ErrorKind.TRUNCATED
        ):
            return Exit.STOPPED
        case ErrorKind.BREAKER_OPEN:
            return Exit.BREAKER
        case ErrorKind.USAGE_LIMIT | ErrorKind.API_ERROR:
            return Exit.REFUSED
        case (
            ErrorKind.SESSION_NOT_FOUND
            | ErrorKind.MAX_TURNS
            | ErrorKind.MAX_BUDGET
            | ErrorKind.EXECUTION_ERROR
            | ErrorKind.ALREADY_EXISTS
            | ErrorKind.STORAGE
            | ErrorKind.LOCKED
            | ErrorKind.UNKNOWN
        ):
            return Exit.FAILED
        case _:  # pragma: no cover
            assert_never(kind)


_MEANINGS = {
    Exit.OK: "success",
    Exit.FAILED: "the operation failed for another reason",
    Exit.USAGE: "bad usage or configuration",
    Exit.HUMAN: "a human must act on Claude's login or billing",
    Exit.UNAVAILABLE: "the sandbox, its tool or a named file is unavailable",
    Exit.STOPPED: "the run was stopped (deadline, stall, Ctrl-C, cut off)",
    Exit.BREAKER: "self-heal is paused by the circuit breaker",
    Exit.REFUSED: "Claude refused for now (usage limit, API error)",
}


def _exit_codes_help() -> str:
    kinds: dict[Exit, list[str]] = {code: [] for code in Exit}
    for kind in ErrorKind:
        kinds[exit_code(kind)].append(str(kind))
    lines = ["exit codes:"]
    for code in Exit:
        lines.append(f"  {code.value}  {_MEANINGS[code]}")
        if code is not Exit.OK:
            lines.extend(
                textwrap.wrap(
                    f"({', '.join(kinds[code])})",
                    width=76,
                    initial_indent=" " * 5,
                    subsequent_indent=" " * 6,
                ),
            )

    return "\n".join(lines)


#: The exit-code table as ``--help`` shows it.
EXIT_CODES_HELP = _exit_codes_help()


class HelpFormatter(argparse.HelpFormatter):
    """Wraps paragraphs of prose; keeps text laid out in lines (tables)."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if "\n" not in text:
            return super()._fill_text(text, width, indent)

        return "".join(indent + line for line in text.splitlines(True))


def add_command(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    *,
    summary: str,
    description: str,
    epilog: str = "",
    json_help: str = "print one JSON object on stdout instead of text",
) -> argparse.ArgumentParser:
    """
    Add a subcommand with ``--json``, the settings flags, the exit codes.

    ``summary`` is its line in the parent's list of commands.
    """
    parser = subparsers.add_parser(
        name,
        help=summary,
        description=description,
        epilog="\n\n".join(part for part in (epilog, EXIT_CODES_HELP) if part),
        formatter_class=HelpFormatter,
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help=json_help,
    )
    add_settings_arguments(parser)

    return parser


def add_group(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    *,
    summary: str,
    description: str,
) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    """Add a command of subcommands (``template save``); return its actions."""
    parser = subparsers.add_parser(
        name,
        help=summary,
        description=description,
        epilog=EXIT_CODES_HELP,
        formatter_class=HelpFormatter,
    )

    return parser.add_subparsers(
        dest="action",
        metavar="ACTION",
        required=True,
    )


def error_json(error: WardenError) -> dict[str, Any]:
    """The ``error`` member of a failed command's JSON object."""
    return {
        "kind": str(error.kind),
        "reason": None if error.reason is None else str(error.reason),
        "message": error.message,
        "detail": error.detail,
        "exit_code": int(exit_code(error.kind)),
    }


def printable(text: str, stream: TextIO) -> str:
    """
    Return ``text`` with what ``stream`` cannot encode backslash-escaped.

    Claude's text may hold what no encoding takes: a lone surrogate
    (``\\ud800`` in stream-json decodes to one) would otherwise stop the
    command with a UnicodeEncodeError halfway through its output.
    """
    encoding = getattr(stream, "encoding", None) or "utf-8"
    return text.encode(encoding, "backslashreplace").decode(encoding)


class LiveText:
    """
    Text written to stdout as it streams, its last line ended once.

    Where stdout and stderr show in one place (a terminal, ``2>&1``),
    ``interrupt`` ends an unfinished line before stderr is written, so
    that a log line starts a line of its own; elsewhere stdout keeps the
    text as it came, ended by ``end`` alone.
    """

    def __init__(self, out: TextIO, err: TextIO) -> None:
        self._out = out
        self._shared = _same_place(out, err)
        self._open = False

    def __call__(self, text: str) -> None:
        if not text:
            return
        self._out.write(printable(text, self._out))
        self._out.flush()
        self._open = not text.endswith("\n")

    def interrupt(self) -> None:
        """End an unfinished line that stderr's next words would join."""
        if self._shared:
            self.end()

    def end(self) -> None:
        """End the last line with a newline, unless the text did."""
        if self._open:
            self._out.write("\n")
            self._out.flush()
            self._open = False


def _same_place(one: TextIO, other: TextIO) -> bool:
    """Whether both streams write to the same file, pipe or terminal."""
    try:
        return os.path.samestat(
            os.fstat(one.fileno()),
            os.fstat(other.fileno()),
        )
    except (OSError, ValueError):  # no descriptor (a StringIO), or closed
        return False


@dataclass(frozen=True, slots=True)
class Output:
    """Where a command's words go: text on a terminal, or one JSON object."""

    json: bool
    out: TextIO
    err: TextIO
    _live: list[LiveText] = field(
        default_factory=list,
        init=False,
        repr=False,
        compare=False,
    )

    @classmethod
    def current(cls, *, json: bool) -> Output:
        """Write to this moment's ``sys.stdout`` and ``sys.stderr``."""
        return cls(json=json, out=sys.stdout, err=sys.stderr)

    def live(self) -> LiveText:
        """A writer of text streamed to stdout as it comes."""
        text = LiveText(self.out, self.err)
        self._live.append(text)

        return text

    def before_stderr(self) -> None:
        """End a live line that what is written to stderr next would join."""
        for text in self._live:
            text.interrupt()

    def say(self, text: str = "") -> None:
        """A line of the human answer (nothing under ``--json``)."""
        if not self.json:
            self._end_live()
            print(printable(text, self.out), file=self.out, flush=True)

    def note(self, text: str) -> None:
        """A side remark on stderr, in both modes."""
        self.before_stderr()
        print(f"sandwarden: {text}", file=self.err, flush=True)

    def _end_live(self) -> None:
        for text in self._live:
            text.end()

    def emit(self, payload: Mapping[str, Any], *, code: int = 0) -> int:
        """Print ``payload`` as the JSON answer (when ``--json``)."""
        if self.json:
            self._end_live()
            shown = {"ok": code == 0, **payload}
            print(
                json.dumps(shown, indent=2),
                file=self.out,
                flush=True,
            )

        return code

    def fail(
        self,
        error: WardenError,
        payload: Mapping[str, Any] | None = None,
    ) -> int:
        """Report ``error``; return its exit code."""
        code = int(exit_code(error.kind))
        if self.json:
            return self.emit(
                {**(payload or {}), "error": error_json(error)},
                code=code,
            )
        kind = str(error.kind)
        if error.reason is not None:
            kind = f"{kind} ({error.reason})"
        self.before_stderr()
        print(f"sandwarden: {kind}: {error.message}", file=self.err)
        detail = error.detail.strip()
        if detail and detail not in error.message:
            lines = detail.splitlines()
            for line in lines[-_DETAIL_LINES:]:
                print(f"  | {line}", file=self.err)
        self.err.flush()

        return code


@dataclass(frozen=True, slots=True)
class Session:
    """What a subcommand's work gets: the warden, its settings, output."""

    warden: Warden
    settings: Settings
    output: Output


Work = Callable[[Session], Awaitable[int]]


def run_with_warden(
    args: argparse.Namespace,
    work: Work,
    *,
    virtual_time: bool = True,
    journal_logs: bool = True,
) -> int:
    """
    Load the settings, build the warden, run ``work``, close the warden.

    ``virtual_time`` lets the simulator run on virtual time; a command
    that should wait in real time on it (an endless watch) says no.
    ``journal_logs`` off keeps the journal's notes out of the log, for
    a command that prints them itself. Ctrl-C cancels the work (its runs
    are stopped and cleaned up) and exits as ``cancelled``.
    """
    output = Output.current(json=bool(getattr(args, "json", False)))
    settings = load(args, output)
    if settings is None:
        return int(Exit.USAGE)

    with logging_to_stderr(
        settings.log_level,
        journal=journal_logs,
        before=output.before_stderr,
    ):
        return _run(settings, output, work, virtual_time=virtual_time)


def _run(
    settings: Settings,
    output: Output,
    work: Work,
    *,
    virtual_time: bool,
) -> int:
    simulated = settings.runtime is Runtime.SIM and virtual_time
    clock = VirtualClock() if simulated else None
    built = bootstrap(settings, clock=clock)
    if not is_successful(built):
        return output.fail(built.failure())
    warden = built.unwrap()

    async def main() -> int:
        _cancel_on_sigterm()
        async with warden:
            return await work(Session(warden, settings, output))

    try:
        if clock is not None:
            return clock.run(main())
        return asyncio.run(main())
    except (KeyboardInterrupt, asyncio.CancelledError):
        warden.close()
        return output.fail(
            WardenError(
                ErrorKind.CANCELLED,
                "interrupted; the run in the sandbox was stopped",
            ),
        )


def _cancel_on_sigterm() -> None:
    """
    Let SIGTERM cancel the work as Ctrl-C does.

    A service manager or `timeout` stops with SIGTERM; without this the
    process died at once, leaving Claude running inside the sandbox and
    a heal lock held until its time to live ran out. A command that
    stops in its own way (``watch``) installs its handler after this.
    """
    task = asyncio.current_task()
    if task is None:  # pragma: no cover - called from a coroutine
        return
    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        asyncio.get_running_loop().add_signal_handler(
            signal.SIGTERM,
            task.cancel,
        )


def load(args: argparse.Namespace, output: Output) -> Settings | None:
    """The settings of ``args``; None after reporting why not."""
    loaded = settings_from_args(args, os.environ)
    if not is_successful(loaded):
        output.fail(loaded.failure())
        return None
    settings = loaded.unwrap()
    for warning in settings.warnings:
        output.note(f"warning: {warning}")

    return settings


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A handler on whatever ``sys.stderr`` is when a record comes."""

    def __init__(self, before: Callable[[], None] | None) -> None:
        super().__init__(sys.stderr)
        self._before = before

    def emit(self, record: logging.LogRecord) -> None:
        # Not setStream: it flushes the old stream (perhaps closed by
        # now) outside the error handling that ``emit`` gives a write.
        self.stream = sys.stderr
        if self._before is not None:
            self._before()
        super().emit(record)


@contextlib.contextmanager
def logging_to_stderr(
    level: LogLevel,
    *,
    journal: bool = True,
    before: Callable[[], None] | None = None,
) -> Iterator[None]:
    """
    Log the library's records to stderr at ``level`` while inside.

    ``journal`` off leaves out the journal's notes below WARNING;
    ``before`` runs before each record is written. On
    leaving, the logger is as it was: a program that runs commands in
    its own process (tests, a shell) keeps its logging.
    """
    logger = logging.getLogger(_LOGGER)
    handler = _StderrHandler(before)
    handler.setFormatter(_Formatter())
    if not journal:
        handler.addFilter(_without_journal)
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(getattr(logging, level.value.upper()))
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


def _without_journal(record: logging.LogRecord) -> bool:
    # The journal logs on the package's own logger; adapters on theirs.
    return record.name != _LOGGER or record.levelno >= logging.WARNING


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        level = record.levelname.lower()
        text = f"sandwarden: {level}: {record.getMessage()}"
        if record.exc_info:
            text = f"{text}\n{self.formatException(record.exc_info)}"

        return text


def utc(at: float | None) -> str | None:
    """``at`` (epoch seconds) as an ISO 8601 UTC instant."""
    if at is None:
        return None
    instant = datetime.fromtimestamp(at, UTC)

    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


class _Meter:
    """A one-line progress meter redrawn on a terminal's stderr."""

    def __init__(self, label: str, stream: TextIO) -> None:
        self._label = label
        self._stream = stream
        self._drawn = False

    def __call__(self, done: int, total: int | None) -> None:
        shown = _size(done)
        if total:
            percent = min(100, done * 100 // total)
            shown = f"{shown} of {_size(total)} ({percent}%)"
        self._stream.write(f"\r\x1b[K{self._label}: {shown}")
        self._stream.flush()
        self._drawn = True

    def finish(self) -> None:
        """End the meter's line, if it drew one."""
        if self._drawn:
            self._stream.write("\n")
            self._stream.flush()
            self._drawn = False


def progress_meter(label: str, output: Output) -> _Meter | None:
    """A progress callback for a terminal's stderr; None elsewhere."""
    if output.json or not output.err.isatty():
        return None

    return _Meter(label, output.err)


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return (
                f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
            )
        value /= 1024

    return f"{value:.1f} GiB"  # pragma: no cover
