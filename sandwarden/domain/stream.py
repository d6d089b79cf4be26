"""
An incremental decoder for Claude's stream-json output.

Bytes go in as they arrive, in chunks of any size; typed events come out,
the same ones whatever the chunking. Lines are framed on ``\\n`` in bytes
before any decoding, so a multibyte character or a CRLF split across two
chunks is harmless. Nothing in the output can make the decoder raise: a
line it cannot use becomes an event saying so (see ``events``).

Memory is bounded by ``max_line``: a line longer than that is counted,
never kept, and reported as an ``OversizedLine``; the lines after it are
decoded as usual. The decoder keeps no event and no complete line, and a
long line is never held as bytes, text and parsed object all at once: a
line held across chunks is dropped once decoded to text, a long line
inside one chunk is decoded from a view of it (no copy), and the text is
dropped once parsed.
"""

from __future__ import annotations

import json
import json.scanner
import math
from collections.abc import Callable
from typing import Final

from sandwarden.domain.events import (
    ApiRetry,
    AssistantMessage,
    Block,
    CorruptLine,
    Event,
    NoiseLine,
    OtherBlock,
    OversizedLine,
    RateLimitEvent,
    ResultEvent,
    StreamEvent,
    SystemEvent,
    SystemInit,
    TextBlock,
    ThinkingBlock,
    ToolResult,
    ToolUseBlock,
    TruncatedLine,
    UnknownEvent,
    UserMessage,
)

__all__ = ["DEFAULT_MAX_LINE", "StreamDecoder"]

#: The stream reference (§10) asks for a cap of at least 64 MiB: single
#: lines of several MiB are normal (images, file contents in tool results).
DEFAULT_MAX_LINE: Final = 64 * 1024 * 1024

# Bytes of an unusable line kept in its event, enough to recognise it.
_HEAD: Final = 80

# A line at least this long that lies inside one chunk is decoded from a
# view of the chunk instead of a copy. Below it, slicing the bytes is the
# faster way, and the copy is too small to matter: this is the size of
# the chunks a pipe delivers.
_VIEW_FROM: Final = 64 * 1024

# The C scanner behind ``json.loads``, called directly: the Python wrapper
# around it (two regular-expression matches and a slice per call) costs a
# third of the time of a small delta line.
# typeshed types the scanner's argument as a scanner; it is a decoder.
_scan: Callable[[str, int], tuple[object, int]] = json.scanner.make_scanner(
    json.JSONDecoder(),  # type: ignore[arg-type]
)
_JSON_SPACE = " \t\r\n"

JsonObject = dict[str, object]


class StreamDecoder:
    """
    Turn stream-json bytes into events, one line at a time.

    Call ``feed`` with each chunk as it arrives and ``finish`` once at the
    end of the output; each returns the events of the lines it completed.
    """

    __slots__ = ("_max_line", "_pending", "_skip_head", "_skipped")

    def __init__(self, max_line: int = DEFAULT_MAX_LINE) -> None:
        if max_line < 1:
            raise ValueError(f"max_line must be positive, not {max_line}")
        self._max_line = max_line
        # The start of a line whose newline has not arrived yet.
        self._pending = bytearray()
        # Inside an oversized line: its size so far (None when not).
        self._skipped: int | None = None
        self._skip_head = bytearray()

    def feed(self, data: bytes | bytearray) -> list[Event]:
        """Decode ``data``, the next chunk of output."""
        events: list[Event] = []
        start = self._complete_held_line(data, events)
        if start < 0:
            return events

        # Lines that lie wholly inside this chunk are sliced from it
        # directly; only the unfinished last one is copied and held.
        find = data.find
        max_line = self._max_line
        newline = find(b"\n", start)
        while newline >= 0:
            size = newline - start
            if size > max_line:
                head = _head(data[start : min(newline, start + _HEAD)])
                events.append(OversizedLine(size, head))
            else:
                line = (
                    data[start:newline]
                    if size < _VIEW_FROM
                    else memoryview(data)[start:newline]
                )
                event = _line_event(line, final=False)
                if event is not None:
                    events.append(event)
            start = newline + 1
            newline = find(b"\n", start)
        if start < len(data):
            self._hold(data, start)

        return events

    def finish(self) -> list[Event]:
        """Decode the last line, which had no newline, and reset."""
        events: list[Event] = []
        if self._skipped is not None:
            events.append(self._skipped_line())
        elif self._pending:
            event = _line_event(self._pending, final=True)
            if event is not None:
                events.append(event)
        self._pending = bytearray()

        return events

    def _complete_held_line(
        self,
        data: bytes | bytearray,
        events: list[Event],
    ) -> int:
        """
        Continue the held or skipped line with ``data``.

        Return where the rest of ``data`` starts, or -1 when all of it
        belonged to that line.
        """
        if self._skipped is not None:
            newline = data.find(b"\n")
            end = len(data) if newline < 0 else newline
            if len(self._skip_head) < _HEAD:
                self._skip_head += data[: min(end, _HEAD)]
            self._skipped += end
            if newline < 0:
                return -1
            events.append(self._skipped_line())
            return newline + 1
        if not self._pending:
            return 0

        newline = data.find(b"\n")
        if newline < 0:
            self._hold(data, 0)
            return -1
        pending = self._pending
        size = len(pending) + newline
        if size > self._max_line:
            head = _head(pending[:_HEAD] + data[: min(newline, _HEAD)])
            events.append(OversizedLine(size, head))
        else:
            pending += memoryview(data)[:newline]
            event = _line_event(pending, final=False)
            if event is not None:
                events.append(event)
        # A fresh buffer lets a large line's memory go.
        self._pending = bytearray()

        return newline + 1

    def _skipped_line(self) -> OversizedLine:
        """Report the oversized line that just ended, and stop skipping."""
        event = OversizedLine(self._skipped or 0, _head(self._skip_head))
        self._skipped = None
        self._skip_head = bytearray()

        return event

    def _hold(self, data: bytes | bytearray, start: int) -> None:
        """Keep ``data[start:]``, the start of a line, or begin skipping."""
        size = len(self._pending) + len(data) - start
        if size > self._max_line:
            head = data[start : start + _HEAD]
            self._skip_head = self._pending[:_HEAD] + head
            self._skipped = size
            self._pending = bytearray()
            return

        self._pending += memoryview(data)[start:]


def _line_event(
    line: bytes | bytearray | memoryview,
    *,
    final: bool,
) -> Event | None:
    """Decode one line (without its newline); None for a blank line."""
    size = len(line)
    if line[:1] != b"{":
        line = bytes(line).strip()
        if not line:
            return None
        if line[:1] != b"{":
            return NoiseLine(size, _head(line))

    head = line[:_HEAD]
    try:
        parsed = _parsed(line)
    except (ValueError, RecursionError) as error:
        if final:
            return TruncatedLine(size, _head(head))
        return CorruptLine(size, _head(head), str(error))

    event = _event(parsed)
    if event is None:
        return NoiseLine(size, _head(head))

    return event


def _parsed(line: bytes | bytearray | memoryview) -> object:
    """
    Decode ``line`` to text and parse it.

    A ``bytearray`` is the decoder's own buffer: it is emptied once
    decoded. The text lives only until parsed. So a long line is held
    twice at most, never three times.
    """
    if type(line) is memoryview:
        text = _text(line)
    else:
        try:
            text = line.decode()
        except UnicodeDecodeError:
            text = line.decode(errors="replace")
    if type(line) is bytearray:
        line.clear()

    return _parse(text)


def _text(view: memoryview) -> str:
    try:
        return str(view, "utf-8")
    except UnicodeDecodeError:
        return str(view, "utf-8", "replace")


def _parse(text: str) -> object:
    """Parse one JSON document, as ``json.loads`` would."""
    try:
        parsed, end = _scan(text, 0)
    except StopIteration:
        raise ValueError("Expecting value at char 0") from None
    if end != len(text) and text[end:].strip(_JSON_SPACE):
        raise ValueError(f"Extra data after the object at char {end}")

    return parsed


def _head(data: bytes | bytearray | memoryview) -> str:
    return bytes(data[:_HEAD]).decode(errors="replace")


def _event(parsed: object) -> Event | None:
    """Build the event for one parsed line; None if it is not an event."""
    if not isinstance(parsed, dict):
        return None
    kind = parsed.get("type")
    if not isinstance(kind, str):
        return None

    build = _BUILDERS.get(kind)
    if build is None:
        return UnknownEvent(kind, parsed)

    return build(parsed)


def _system(line: JsonObject) -> Event:
    subtype = _str(line, "subtype")
    session_id = _str(line, "session_id")
    if subtype == "init":
        tools = line.get("tools")
        return SystemInit(
            session_id=session_id,
            model=_str(line, "model"),
            api_key_source=_str(line, "apiKeySource"),
            cwd=_str(line, "cwd"),
            tools=tuple(_tool_names(tools)),
            claude_code_version=_str(line, "claude_code_version"),
            permission_mode=_str(line, "permissionMode"),
        )
    if subtype == "api_retry":
        return ApiRetry(
            session_id=session_id,
            attempt=_int(line, "attempt"),
            max_retries=_int(line, "max_retries"),
            retry_delay_ms=_number(line, "retry_delay_ms"),
            error_status=_int(line, "error_status"),
            error=_str(line, "error"),
        )

    return SystemEvent(subtype, session_id, line)


def _tool_names(tools: object) -> list[str]:
    if not isinstance(tools, list):
        return []
    names = []
    for tool in tools:
        if isinstance(tool, str):
            names.append(tool)
        elif isinstance(tool, dict) and isinstance(tool.get("name"), str):
            names.append(tool["name"])

    return names


def _assistant(line: JsonObject) -> Event:
    message = _object(line, "message")
    content = message.get("content")
    blocks: tuple[Block, ...] = ()
    if isinstance(content, list):
        blocks = tuple(
            _block(item) for item in content if isinstance(item, dict)
        )
    elif isinstance(content, str):
        blocks = (TextBlock(content),)

    return AssistantMessage(
        session_id=_str(line, "session_id"),
        message_id=_str(message, "id"),
        model=_str(message, "model"),
        blocks=blocks,
        error=_str(line, "error"),
        parent_tool_use_id=_str(line, "parent_tool_use_id"),
    )


def _block(item: JsonObject) -> Block:
    kind = item.get("type")
    if kind == "text":
        return TextBlock(_str(item, "text") or "")
    if kind == "thinking":
        return ThinkingBlock(_str(item, "thinking") or "")
    if kind == "tool_use":
        return ToolUseBlock(
            _str(item, "id"),
            _str(item, "name"),
            item.get("input"),
        )

    return OtherBlock(kind if isinstance(kind, str) else None, item)


def _user(line: JsonObject) -> Event:
    content = _object(line, "message").get("content")
    results: list[ToolResult] = []
    texts: list[str] = []
    if isinstance(content, str):
        texts.append(content)
    elif isinstance(content, list):
        for item in content:
            if not isinstance(item, dict):
                continue
            if item.get("type") == "tool_result":
                results.append(
                    ToolResult(
                        _str(item, "tool_use_id"),
                        _flatten(item.get("content")),
                        item.get("is_error") is True,
                    ),
                )
            elif item.get("type") == "text":
                texts.append(_str(item, "text") or "")

    return UserMessage(
        session_id=_str(line, "session_id"),
        results=tuple(results),
        text="\n".join(texts),
        parent_tool_use_id=_str(line, "parent_tool_use_id"),
    )


def _flatten(content: object) -> str:
    """Render a tool result's content (a string or blocks) as text."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    parts = []
    for item in content:
        if isinstance(item, dict):
            text = item.get("text")
            kind = item.get("type")
            parts.append(text if isinstance(text, str) else f"[{kind}]")

    return "\n".join(parts)


def _stream_event(line: JsonObject) -> Event:
    event = line.get("event")
    session_id = line.get("session_id")
    return _partial(
        event if type(event) is dict else {},
        session_id if type(session_id) is str else None,
        True,
    )


def _bare_delta(line: JsonObject) -> Event:
    return _partial(line, _str(line, "session_id"), False)


def _partial(
    event: JsonObject,
    session_id: str | None,
    wrapped: bool,
) -> StreamEvent:
    # The bulk of a run with partial messages: kept free of helper calls.
    event_type = event.get("type")
    if type(event_type) is not str:
        event_type = None
    index = event.get("index")
    if type(index) is not int:
        index = None
    delta = event.get("delta")
    if type(delta) is dict:
        delta_type = delta.get("type")
        text = delta.get("text", "")
        partial_json = delta.get("partial_json", "")
        thinking = delta.get("thinking", "")
        return StreamEvent(
            session_id,
            event_type,
            delta_type if type(delta_type) is str else None,
            text if type(text) is str else "",
            partial_json if type(partial_json) is str else "",
            thinking if type(thinking) is str else "",
            index,
            None,
            wrapped,
        )
    message_id = None
    if event_type == "message_start":
        message_id = _str(_object(event, "message"), "id")

    return StreamEvent(
        session_id=session_id,
        event_type=event_type,
        index=index,
        message_id=message_id,
        wrapped=wrapped,
    )


def _rate_limit(line: JsonObject) -> Event:
    info = line.get("rate_limit_info")
    # Older lines may carry the fields at the top level.
    fields = info if isinstance(info, dict) else line

    return RateLimitEvent(
        session_id=_str(line, "session_id"),
        status=_str(fields, "status"),
        resets_at=_number(fields, "resetsAt"),
        rate_limit_type=_str(fields, "rateLimitType"),
        utilization=_number(fields, "utilization"),
        error_code=_str(fields, "errorCode"),
        info=fields,
    )


def _result(line: JsonObject) -> Event:
    subtype = _str(line, "subtype")
    cost = None
    # Renamed over the CLI's history: total_cost (before 1.0.22) and the
    # SDK's cost_usd both still appear in captured runs.
    for key in ("total_cost_usd", "total_cost", "cost_usd"):
        cost = _number(line, key)
        if cost is not None:
            break
    usage = line.get("usage")
    model_usage = line.get("modelUsage")

    return ResultEvent(
        session_id=_str(line, "session_id"),
        subtype=subtype,
        is_error=_is_error(line.get("is_error"), subtype),
        result=_str(line, "result"),
        errors=_errors(line.get("errors")),
        total_cost_usd=cost,
        num_turns=_int(line, "num_turns"),
        usage=usage if isinstance(usage, dict) else None,
        model_usage=model_usage if isinstance(model_usage, dict) else None,
        api_error_status=_status(line.get("api_error_status")),
        terminal_reason=_str(line, "terminal_reason"),
        stop_reason=_str(line, "stop_reason"),
        duration_ms=_number(line, "duration_ms"),
        duration_api_ms=_number(line, "duration_api_ms"),
    )


def _is_error(value: object, subtype: str | None) -> bool:
    """
    Read a result's ``is_error``, or its subtype when that is no boolean.

    Without a real boolean the subtype is the only word left on how the
    run ended: ``error_max_turns`` and the other ``error_*`` arms fail.
    """
    if isinstance(value, bool):
        return value

    return subtype is not None and subtype.startswith("error")


def _errors(value: object) -> tuple[str, ...]:
    """
    Read a result's ``errors``, keeping a value that is not a list.

    A lone string or object is still what the run said went wrong, so it
    becomes the one error rather than disappearing.
    """
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]

    return tuple(
        item if isinstance(item, str) else json.dumps(item) for item in items
    )


_BUILDERS = {
    "system": _system,
    "assistant": _assistant,
    "user": _user,
    "stream_event": _stream_event,
    "content_block_delta": _bare_delta,
    "rate_limit_event": _rate_limit,
    "result": _result,
}


def _str(obj: JsonObject, key: str) -> str | None:
    value = obj.get(key)
    return value if isinstance(value, str) else None


def _int(obj: JsonObject, key: str) -> int | None:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        return None

    return value


def _number(obj: JsonObject, key: str) -> float | None:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None

    return number if math.isfinite(number) else None


def _status(value: object) -> int | None:
    """Read an HTTP status, a number or a string of digits."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit() and len(value) <= 3:
        return int(value)

    return None


def _object(obj: JsonObject, key: str) -> JsonObject:
    value = obj.get(key)
    return value if isinstance(value, dict) else {}
