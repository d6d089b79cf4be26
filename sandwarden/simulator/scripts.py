"""
Scripted output: what a simulated command prints, when, and how it ends.

A ``Script`` is pure data, a sequence of ``Step``s (a virtual delay, a
stream, bytes) and an exit code, so that ``SimulatedRuntime`` can play it
on virtual time and the fake executables can play it with real, scaled
delays. The renderers below build the bytes of Claude's
``--output-format stream-json`` as the real CLI prints them: compact JSON
objects, one a line, UTF-8, every line with ``session_id`` and ``uuid``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from sandwarden.domain.sandbox import Stream

__all__ = [
    "Line",
    "Script",
    "Step",
    "assistant_line",
    "drip",
    "encode",
    "init_line",
    "paced",
    "partial_lines",
    "result_line",
    "synthetic_error_line",
    "usage_of",
]

#: A JSON object as the CLI prints it.
Line = dict[str, object]

_TOOLS = ("Task", "Bash", "Glob", "Grep", "Read", "Edit", "Write", "WebFetch")
_SLASH_COMMANDS = ("compact", "context", "cost", "init", "review")


@dataclass(frozen=True, slots=True)
class Step:
    """Wait ``delay`` virtual seconds, then write ``data`` to ``stream``."""

    delay: float
    stream: Stream
    data: bytes


@dataclass(frozen=True, slots=True)
class Script:
    """
    A command's whole run.

    ``exit_code`` ``None`` means the command never ends by itself: it
    waits until it is killed (a hang, a stall). ``session_id`` and
    ``needs_login`` mark a Claude run that turns into an authentication
    failure if the login dies while it plays.
    """

    steps: tuple[Step, ...]
    exit_code: int | None
    session_id: str | None = None
    needs_login: bool = False

    def stdout(self) -> bytes:
        """Everything the script writes to stdout."""
        return self._joined(Stream.STDOUT)

    def stderr(self) -> bytes:
        """Everything the script writes to stderr."""
        return self._joined(Stream.STDERR)

    def duration(self) -> float:
        """The sum of the steps' delays."""
        return sum(step.delay for step in self.steps)

    def _joined(self, stream: Stream) -> bytes:
        return b"".join(s.data for s in self.steps if s.stream is stream)


def encode(line: Mapping[str, object]) -> bytes:
    """One compact JSON line, as the CLI writes it, newline included."""
    text = json.dumps(line, ensure_ascii=False, separators=(",", ":"))
    return text.encode("utf-8") + b"\n"


def paced(lines: Sequence[bytes], pace: float) -> list[Step]:
    """Stdout steps, one per line, each ``pace`` seconds after the last."""
    return [Step(pace, Stream.STDOUT, line) for line in lines]


def drip(data: bytes, piece: int, pace: float) -> list[Step]:
    """Stdout steps of ``piece`` bytes each, ``pace`` seconds apart."""
    return [
        Step(pace, Stream.STDOUT, data[start : start + piece])
        for start in range(0, len(data), piece)
    ]


def usage_of(prompt: str, reply: str) -> dict[str, int]:
    """A deterministic token usage, roughly four characters a token."""
    return {
        "input_tokens": len(prompt) // 4 + 3,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": len(reply) // 4 + 1,
    }


def _zero_usage() -> dict[str, int]:
    return usage_of("", "") | {"input_tokens": 0, "output_tokens": 0}


def init_line(
    *,
    session_id: str,
    uuid: str,
    cwd: str,
    model: str,
    version: str,
    permission_mode: str,
    api_key_source: str,
) -> Line:
    """The ``system``/``init`` event that opens a run."""
    return {
        "type": "system",
        "subtype": "init",
        "cwd": cwd,
        "session_id": session_id,
        "tools": list(_TOOLS),
        "mcp_servers": [],
        "model": model,
        "permissionMode": permission_mode,
        "slash_commands": list(_SLASH_COMMANDS),
        "apiKeySource": api_key_source,
        "claude_code_version": version,
        "output_style": "default",
        "agents": ["general-purpose"],
        "skills": [],
        "plugins": [],
        "uuid": uuid,
    }


def assistant_line(
    *,
    session_id: str,
    uuid: str,
    message_id: str,
    model: str,
    content: list[Line],
    usage: dict[str, int],
) -> Line:
    """A complete ``assistant`` message (one content block a line)."""
    return {
        "type": "assistant",
        "message": {
            "id": message_id,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": content,
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage,
        },
        "parent_tool_use_id": None,
        "session_id": session_id,
        "uuid": uuid,
    }


def synthetic_error_line(
    *,
    session_id: str,
    uuid: str,
    message_id: str,
    text: str,
    error: str,
) -> Line:
    """The synthetic assistant message a failed turn is reported with."""
    line = assistant_line(
        session_id=session_id,
        uuid=uuid,
        message_id=message_id,
        model="<synthetic>",
        content=[{"type": "text", "text": text}],
        usage=_zero_usage(),
    )
    message = line["message"]
    assert isinstance(message, dict)
    message["stop_reason"] = "stop_sequence"
    message["stop_sequence"] = ""

    return line | {"error": error, "isApiErrorMessage": True}


def partial_lines(
    *,
    session_id: str,
    next_uuid: Callable[[], str],
    message_id: str,
    model: str,
    text: str,
    usage: dict[str, int],
    pieces: int = 3,
) -> list[Line]:
    """
    The ``stream_event`` lines of one text block, for partial messages.

    The text is cut into ``pieces`` ``text_delta``s; the caller puts the
    complete ``assistant`` line after ``content_block_stop``.
    """
    size = max(1, -(-len(text) // pieces))
    deltas = [text[i : i + size] for i in range(0, len(text), size)] or [""]
    events: list[Line] = [
        {
            "type": "message_start",
            "message": {
                "id": message_id,
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": usage | {"output_tokens": 1},
            },
        },
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "text", "text": ""},
        },
        *(
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": delta},
            }
            for delta in deltas
        ),
        {"type": "content_block_stop", "index": 0},
    ]

    return [
        {
            "type": "stream_event",
            "event": event,
            "parent_tool_use_id": None,
            "session_id": session_id,
            "uuid": next_uuid(),
        }
        for event in events
    ]


def result_line(
    *,
    session_id: str,
    uuid: str,
    model: str,
    duration: float,
    turns: int,
    usage: dict[str, int],
    text: str | None,
    is_error: bool = False,
    subtype: str = "success",
    errors: Sequence[str] = (),
    terminal_reason: str = "completed",
    stop_reason: str | None = "end_turn",
    api_error_status: int | None = None,
) -> Line:
    """
    The ``result`` that ends a run.

    ``text`` ``None`` leaves out the ``result`` key, as the error
    subtypes do; their prose goes in ``errors``.
    """
    cost = round(
        usage["input_tokens"] * 3e-6 + usage["output_tokens"] * 15e-6,
        6,
    )
    model_usage = {
        model: {
            "inputTokens": usage["input_tokens"],
            "outputTokens": usage["output_tokens"],
            "cacheReadInputTokens": 0,
            "cacheCreationInputTokens": 0,
            "webSearchRequests": 0,
            "costUSD": cost,
            "contextWindow": 200000,
            "maxOutputTokens": 32000,
        },
    }
    line: Line = {
        "type": "result",
        "subtype": subtype,
        "is_error": is_error,
        "duration_ms": round(duration * 1000),
        "duration_api_ms": round(duration * 800) if turns else 0,
        "num_turns": turns,
        "stop_reason": stop_reason,
        "session_id": session_id,
        "total_cost_usd": cost if turns else 0,
        "usage": usage,
        "modelUsage": model_usage if turns else {},
        "permission_denials": [],
        "terminal_reason": terminal_reason,
        "uuid": uuid,
    }
    if text is not None:
        line["result"] = text
        line["api_error_status"] = api_error_status
    if is_error and text is None:
        line["errors"] = list(errors)
    elif is_error:
        line["errors"] = []

    return line
