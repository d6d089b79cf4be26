"""
What a Claude run answered, and whether and why it failed.

A ``ReplyBuilder`` is fed the decoder's events one at a time, so a
streaming caller never holds the whole output; ``decode`` does both steps
for an output already in memory. The verdict follows the stream
reference (§10): the last result decides, ``is_error`` over ``subtype``
and over the exit code; no result at all is a ``truncated`` run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum, unique

from returns.result import Failure, Result, Success

from sandwarden.domain import claude_texts
from sandwarden.domain.errors import ErrorKind, WardenError
from sandwarden.domain.events import (
    LINE_EVENT_TYPES,
    AssistantMessage,
    Event,
    RateLimitEvent,
    ResultEvent,
    SystemInit,
    TruncatedLine,
    UserMessage,
)
from sandwarden.domain.live_text import LiveText
from sandwarden.domain.stream import DEFAULT_MAX_LINE, StreamDecoder
from sandwarden.domain.values import SessionId

__all__ = ["Outcome", "Reply", "ReplyBuilder", "decode"]

# Assistant error codes (DOC-ts) that settle the kind of a failed run.
_AUTH_CODES = frozenset({"authentication_failed", "oauth_org_not_allowed"})
_QUOTA_CODES = frozenset({"rate_limit", "billing_error"})
_API_CODES = frozenset({"overloaded", "server_error"})


@unique
class Outcome(StrEnum):
    """Whether the run succeeded, by its result."""

    SUCCESS = "success"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Reply:
    """
    The answer of one run, and its verdict.

    ``text`` is the result's text or, without one, the assistant text of
    the last turn that had any. ``session_id`` is the result's, or the
    last one seen when the run ended without a result. ``is_error`` is
    ``None`` without a result. ``error_kind`` is one of
    ``REPLY_ERROR_KINDS`` on an error, ``None`` on success.
    ``total_cost_usd`` stays ``None`` when the run did not report it.
    ``event_counts`` counts the events by ``type``. ``notes`` are what the
    warden did around the run, for the caller (a new conversation and why,
    a heal); the decoder leaves them empty.
    """

    outcome: Outcome
    error_kind: ErrorKind | None
    text: str
    session_id: str | None
    init_session_id: str | None = None
    model: str | None = None
    api_key_source: str | None = None
    subtype: str | None = None
    is_error: bool | None = None
    result_text: str | None = None
    errors: tuple[str, ...] = ()
    total_cost_usd: float | None = None
    num_turns: int | None = None
    usage: Mapping[str, object] | None = None
    model_usage: Mapping[str, object] | None = None
    api_error_status: int | None = None
    terminal_reason: str | None = None
    stop_reason: str | None = None
    duration_ms: float | None = None
    assistant_error: str | None = None
    rate_limit: RateLimitEvent | None = None
    event_counts: Mapping[str, int] | None = None
    notes: tuple[str, ...] = ()

    @property
    def succeeded(self) -> bool:
        """Tell whether the run succeeded."""
        return self.outcome is Outcome.SUCCESS

    @property
    def resumable_session_id(self) -> SessionId | None:
        """
        Return the session id to store for a later ``--resume``.

        Never the id of a run that could not find its session: resuming
        it again would fail the same way.
        """
        if self.error_kind is ErrorKind.SESSION_NOT_FOUND:
            return None
        if self.session_id is None:
            return None
        parsed = SessionId.parse(self.session_id)

        return parsed.value_or(None)

    @property
    def json_events(self) -> int:
        """Count the events that were JSON objects with a ``type``."""
        counts = self.event_counts or {}
        return sum(
            count
            for kind, count in counts.items()
            if kind not in LINE_EVENT_TYPES
        )

    @property
    def error_message(self) -> str | None:
        """
        Say what went wrong, for a human; ``None`` on success.

        From the result's ``errors`` (joined), else its text, else its
        subtype, else its HTTP status, the order the SDK uses.
        """
        if self.outcome is Outcome.SUCCESS:
            return None
        if self.error_kind is ErrorKind.TRUNCATED:
            return self._truncation_message()
        if self.errors:
            return "; ".join(self.errors)
        if self.result_text:
            return self.result_text
        if self.subtype and self.subtype != "success":
            return self.subtype
        if self.api_error_status is not None:
            return f"API error (HTTP {self.api_error_status})"

        return "Claude reported an error without saying what it was"

    def error(self) -> WardenError | None:
        """Return the failure as a ``WardenError``; ``None`` on success."""
        if self.error_kind is None:
            return None

        return WardenError(
            self.error_kind,
            self.error_message or "",
            detail=self.result_text or "",
        )

    def checked(self) -> Result[Reply, WardenError]:
        """Return this reply if it succeeded, its error otherwise."""
        failure = self.error()
        if failure is not None:
            return Failure(failure)

        return Success(self)

    def _truncation_message(self) -> str:
        counts = self.event_counts or {}
        said = (
            "its last line was cut off"
            if counts.get(TruncatedLine.type)
            else f"after {self.json_events} events"
        )

        return (
            f"the output ended without a result event ({said}); expected "
            "a complete stream-json run ending in a result"
        )


class ReplyBuilder:
    """
    Assemble a ``Reply`` from events, keeping only what it needs.

    Of the assistant text it keeps the last turn's, the fallback for a
    result without text: a turn's text replaces the previous turn's, and
    a result with text drops it, so what it holds is bounded by one turn
    rather than by the run.
    """

    __slots__ = (
        "_assistant_error",
        "_counts",
        "_failed_texts",
        "_init",
        "_last_session_id",
        "_live",
        "_new_turn",
        "_rate_limit",
        "_rejected",
        "_result",
        "_text",
    )

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._init: SystemInit | None = None
        self._last_session_id: str | None = None
        self._result: ResultEvent | None = None
        self._live = LiveText(include_errors=True)
        self._text: list[str] = []
        # Tool results came: the next text starts a new turn.
        self._new_turn = False
        self._assistant_error: str | None = None
        self._failed_texts: list[str] = []
        self._rate_limit: RateLimitEvent | None = None
        self._rejected = False

    def add(self, event: Event) -> None:
        """Take one event into account."""
        kind = event.type
        self._counts[kind] = self._counts.get(kind, 0) + 1
        if event.session_id is not None:
            self._last_session_id = event.session_id
        self._keep_text(event, self._live.feed(event))

        if type(event) is SystemInit and self._init is None:
            self._init = event
        elif type(event) is ResultEvent:
            self._result = event
        elif type(event) is AssistantMessage:
            self._note_failure(event)
        elif type(event) is RateLimitEvent:
            self._rate_limit = event
            self._rejected = self._rejected or event.status == "rejected"

    @property
    def held_text(self) -> str:
        """Return the assistant text kept for a reply without result text."""
        return "".join(self._text)

    def build(self) -> Reply:
        """Return the reply to the events added so far."""
        init = self._init
        result = self._result
        counts = dict(sorted(self._counts.items()))
        seen = self.held_text.strip()
        truncated = Reply(
            outcome=Outcome.ERROR,
            error_kind=ErrorKind.TRUNCATED,
            text=seen,
            session_id=self._last_session_id,
            init_session_id=init.session_id if init else None,
            model=init.model if init else None,
            api_key_source=init.api_key_source if init else None,
            assistant_error=self._assistant_error,
            rate_limit=self._rate_limit,
            event_counts=counts,
        )
        if result is None:
            return truncated

        return replace(
            truncated,
            outcome=Outcome.ERROR if result.is_error else Outcome.SUCCESS,
            error_kind=self._error_kind(result) if result.is_error else None,
            text=seen if result.result is None else result.result,
            session_id=result.session_id or self._last_session_id,
            subtype=result.subtype,
            is_error=result.is_error,
            result_text=result.result,
            errors=result.errors,
            total_cost_usd=result.total_cost_usd,
            num_turns=result.num_turns,
            usage=result.usage,
            model_usage=result.model_usage,
            api_error_status=result.api_error_status,
            terminal_reason=result.terminal_reason,
            stop_reason=result.stop_reason,
            duration_ms=result.duration_ms,
        )

    def _keep_text(self, event: Event, text: str) -> None:
        if type(event) is ResultEvent:
            if event.result is not None:
                self._text.clear()
            return
        if type(event) is UserMessage and event.results:
            self._new_turn = True
        if not text:
            return
        if self._new_turn:
            self._text.clear()
            self._new_turn = False
        self._text.append(text)

    def _note_failure(self, event: AssistantMessage) -> None:
        if event.error is not None:
            self._assistant_error = event.error
        # The CLI's own sentence for a failed turn; a couple is plenty.
        if (event.synthetic or event.error) and len(self._failed_texts) < 4:
            self._failed_texts.append(event.text)

    def _error_kind(self, result: ResultEvent) -> ErrorKind:
        """Name the failure; the first rule that matches wins (§10.5)."""
        evidence = "\n".join(
            (*result.errors, result.result or "", *self._failed_texts),
        )
        code = self._assistant_error
        status = result.api_error_status
        if claude_texts.is_session_missing(evidence):
            return ErrorKind.SESSION_NOT_FOUND
        if result.subtype == "error_max_turns":
            return ErrorKind.MAX_TURNS
        if result.subtype == "error_max_budget_usd":
            return ErrorKind.MAX_BUDGET
        if (
            code in _AUTH_CODES
            or status == 401
            or claude_texts.is_auth_failure(evidence)
        ):
            return ErrorKind.AUTH
        throttled = claude_texts.is_throttled(evidence)
        if (
            self._rejected
            or claude_texts.is_usage_limit(evidence)
            or (code in _QUOTA_CODES and not throttled)
        ):
            return ErrorKind.USAGE_LIMIT
        if (
            result.terminal_reason == "api_error"
            or status is not None
            or code in _API_CODES
            or claude_texts.is_api_error(evidence)
        ):
            return ErrorKind.API_ERROR

        return ErrorKind.EXECUTION_ERROR


def decode(data: bytes, *, max_line: int = DEFAULT_MAX_LINE) -> Reply:
    """Decode a whole stream-json output into its reply."""
    decoder = StreamDecoder(max_line)
    builder = ReplyBuilder()
    for event in decoder.feed(data):
        builder.add(event)
    for event in decoder.finish():
        builder.add(event)

    return builder.build()
