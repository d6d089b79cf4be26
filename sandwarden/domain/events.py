"""
The typed events of `claude -p --output-format stream-json --verbose`.

One event per line of output. The decoder's events fall in two groups::

    Event
    ├── what Claude wrote (a JSON object with a ``type``)
    │   ├── SystemInit        system/init: session, model, key source
    │   ├── ApiRetry          system/api_retry: the CLI retries the API
    │   ├── SystemEvent       any other system subtype, data kept
    │   ├── AssistantMessage  text, thinking and tool_use blocks
    │   ├── UserMessage       tool results
    │   ├── StreamEvent       partial messages (deltas), wrapped or bare
    │   ├── RateLimitEvent    plan usage status
    │   ├── ResultEvent       the end of the run
    │   └── UnknownEvent      a type this decoder does not know, kept
    └── what was wrong with a line
        ├── NoiseLine         not a JSON event (debug output, ...)
        ├── CorruptLine       a complete line that starts like JSON
        │                     but does not parse
        ├── OversizedLine     longer than the cap; skipped, not kept
        └── TruncatedLine     the last line, cut off mid-object

Every event has a ``type``: the line's own ``type`` for the first group,
``noise_line``, ``corrupt_line``, ``oversized_line`` or
``truncated_line`` for the second. ``session_id`` is ``None`` where the
line had none. Unknown keys are dropped; ``data`` fields keep the parsed
object where the shape is open-ended.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

__all__ = [
    "LINE_EVENT_TYPES",
    "SYNTHETIC_MODEL",
    "ApiRetry",
    "AssistantMessage",
    "Block",
    "CorruptLine",
    "Event",
    "NoiseLine",
    "OtherBlock",
    "OversizedLine",
    "RateLimitEvent",
    "ResultEvent",
    "StreamEvent",
    "SystemEvent",
    "SystemInit",
    "TextBlock",
    "ThinkingBlock",
    "ToolResult",
    "ToolUseBlock",
    "TruncatedLine",
    "UnknownEvent",
    "UserMessage",
]

#: The model name the CLI gives messages it made up itself (failures).
SYNTHETIC_MODEL = "<synthetic>"


@dataclass(frozen=True, slots=True)
class SystemInit:
    """The run's metadata; usually, not always, the first event."""

    type: ClassVar[str] = "system"

    session_id: str | None
    model: str | None
    api_key_source: str | None
    cwd: str | None
    tools: tuple[str, ...]
    claude_code_version: str | None
    permission_mode: str | None


@dataclass(frozen=True, slots=True)
class ApiRetry:
    """The CLI is about to retry a failed API request."""

    type: ClassVar[str] = "system"

    session_id: str | None
    attempt: int | None
    max_retries: int | None
    retry_delay_ms: float | None
    error_status: int | None
    error: str | None


@dataclass(frozen=True, slots=True)
class SystemEvent:
    """A system event of another subtype (hooks, compaction, tasks...)."""

    type: ClassVar[str] = "system"

    subtype: str | None
    session_id: str | None
    data: Mapping[str, object]


@dataclass(frozen=True, slots=True)
class TextBlock:
    """Text Claude wrote."""

    text: str


@dataclass(frozen=True, slots=True)
class ThinkingBlock:
    """Claude's visible reasoning."""

    thinking: str


@dataclass(frozen=True, slots=True)
class ToolUseBlock:
    """A tool call."""

    id: str | None
    name: str | None
    input: object


@dataclass(frozen=True, slots=True)
class OtherBlock:
    """A content block of another type, kept as parsed."""

    type: str | None
    data: Mapping[str, object]


Block = TextBlock | ThinkingBlock | ToolUseBlock | OtherBlock


@dataclass(frozen=True, slots=True)
class AssistantMessage:
    """
    One assistant line.

    The CLI writes one API response as several lines sharing
    ``message_id``, one block each. ``error`` is the CLI's code for a
    failed turn (``authentication_failed``, ``rate_limit``...), set on
    the synthetic message that carries the error sentence.
    """

    type: ClassVar[str] = "assistant"

    session_id: str | None
    message_id: str | None
    model: str | None
    blocks: tuple[Block, ...]
    error: str | None = None
    parent_tool_use_id: str | None = None

    @property
    def synthetic(self) -> bool:
        """Tell whether the CLI made this message up (a failed turn)."""
        return self.model == SYNTHETIC_MODEL

    @property
    def text(self) -> str:
        """Return the text blocks, joined."""
        return "".join(
            block.text for block in self.blocks if type(block) is TextBlock
        )


@dataclass(frozen=True, slots=True)
class ToolResult:
    """What one tool call returned, flattened to text."""

    tool_use_id: str | None
    content: str
    is_error: bool


@dataclass(frozen=True, slots=True)
class UserMessage:
    """A user line: tool results, or a replayed prompt in ``text``."""

    type: ClassVar[str] = "user"

    session_id: str | None
    results: tuple[ToolResult, ...]
    text: str = ""
    parent_tool_use_id: str | None = None


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """
    A partial-message event, as ``--include-partial-messages`` writes.

    ``wrapped`` is true for the real CLI's ``stream_event`` line and false
    for the bare ``content_block_delta`` line the specification shows.
    ``message_id`` is set on ``message_start`` only. Of ``text``,
    ``partial_json`` and ``thinking``, the one ``delta_type`` names is set.
    """

    session_id: str | None
    event_type: str | None
    delta_type: str | None = None
    text: str = ""
    partial_json: str = ""
    thinking: str = ""
    index: int | None = None
    message_id: str | None = None
    wrapped: bool = True

    @property
    def type(self) -> str:
        """Return the line's type."""
        return "stream_event" if self.wrapped else "content_block_delta"


@dataclass(frozen=True, slots=True)
class RateLimitEvent:
    """The plan's usage status; ``rejected`` means the run was refused."""

    type: ClassVar[str] = "rate_limit_event"

    session_id: str | None
    status: str | None
    resets_at: float | None
    rate_limit_type: str | None
    utilization: float | None
    error_code: str | None
    info: Mapping[str, object]


@dataclass(frozen=True, slots=True)
class ResultEvent:
    """
    The end of a run.

    ``is_error`` decides success, never ``subtype``: API and login
    failures come back as ``success`` with ``is_error`` true. Only a line
    without a boolean ``is_error`` is read by its subtype (``error_*``
    failed). ``result`` exists on the success arm only; error arms put
    prose in ``errors``.
    ``total_cost_usd`` also takes the older ``total_cost`` and
    ``cost_usd`` names and stays ``None`` when absent.
    """

    type: ClassVar[str] = "result"

    session_id: str | None
    subtype: str | None
    is_error: bool
    result: str | None = None
    errors: tuple[str, ...] = ()
    total_cost_usd: float | None = None
    num_turns: int | None = None
    usage: Mapping[str, object] | None = None
    model_usage: Mapping[str, object] | None = None
    api_error_status: int | None = None
    terminal_reason: str | None = None
    stop_reason: str | None = None
    duration_ms: float | None = None
    duration_api_ms: float | None = None


@dataclass(frozen=True, slots=True)
class UnknownEvent:
    """A JSON event of a type this decoder does not model, kept whole."""

    type: str
    data: Mapping[str, object]

    @property
    def session_id(self) -> str | None:
        """Return the line's session id, if it carried one."""
        value = self.data.get("session_id")
        return value if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class NoiseLine:
    """
    A line that is not a JSON event: debug output, a JSON value that is
    not an object, or an object without a string ``type``.

    ``head`` is the start of the line, decoded leniently, for diagnosis.
    """

    type: ClassVar[str] = "noise_line"
    session_id: ClassVar[None] = None

    size: int
    head: str


@dataclass(frozen=True, slots=True)
class CorruptLine:
    """A complete line that starts with ``{`` but is not valid JSON."""

    type: ClassVar[str] = "corrupt_line"
    session_id: ClassVar[None] = None

    size: int
    head: str
    error: str


@dataclass(frozen=True, slots=True)
class OversizedLine:
    """A line longer than the decoder's cap; its bytes were not kept."""

    type: ClassVar[str] = "oversized_line"
    session_id: ClassVar[None] = None

    size: int
    head: str


@dataclass(frozen=True, slots=True)
class TruncatedLine:
    """The output ended inside a JSON object: the last line is cut."""

    type: ClassVar[str] = "truncated_line"
    session_id: ClassVar[None] = None

    size: int
    head: str


Event = (
    SystemInit
    | ApiRetry
    | SystemEvent
    | AssistantMessage
    | UserMessage
    | StreamEvent
    | RateLimitEvent
    | ResultEvent
    | UnknownEvent
    | NoiseLine
    | CorruptLine
    | OversizedLine
    | TruncatedLine
)

#: The ``type`` of the events that report a problem with a line.
LINE_EVENT_TYPES = frozenset(
    {"noise_line", "corrupt_line", "oversized_line", "truncated_line"},
)
