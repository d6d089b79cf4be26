"""
A loopback stand-in for the Anthropic Messages API.

It lets the real Claude CLI run whole turns offline: point the CLI at
``MessagesApi.url`` with ``ANTHROPIC_BASE_URL`` (``MessagesApi.env()``
gives the whole environment) and it answers ``POST /v1/messages`` from a
script, streamed as server-sent events or as one JSON message, as the
request asks. ``/v1/messages/count_tokens`` gets a rough count and any
other request, whatever its method, a harmless ``200`` with an empty
JSON object (no body for ``HEAD``), so probes the CLI makes at start
(2.1.142 sends ``HEAD /``) never fail.

The script is a queue of replies, one per ``/v1/messages`` request, in
order::

    Text          plain text, in one or more deltas, optionally dripped
    ToolUse       a tool call (the CLI then runs the tool for real and
                  asks again with its result: queue the next reply)
    Stall         the status line and headers, then silence
    HttpError     an error status with the API's error body and headers
                  (``unauthorized``, ``rate_limited``, ``usage_limit_reached``,
                  ``overloaded``)
    Malformed     a stream whose second event is not JSON, or a body
                  that is not JSON for a request that does not stream

When the queue runs dry the last reply keeps answering, so a dead login
(``unauthorized()``) stays dead however often the CLI retries. An empty
script answers ``Text("ok")``.

The server runs on 127.0.0.1, port 0 (a free one), in a thread of its
own, so sync and async tests use it alike: ``with MessagesApi(...) as
api:``. Stopping it ends every stall and drip at once; a stall also ends
when its client hangs up.
"""

from __future__ import annotations

import http.server
import json
import select
import socket
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Final

__all__ = [
    "DUMMY_API_KEY",
    "HttpError",
    "Malformed",
    "MessagesApi",
    "RecordedRequest",
    "Reply",
    "Stall",
    "Text",
    "ToolUse",
    "long_answer",
    "overloaded",
    "rate_limited",
    "unauthorized",
    "usage_limit_reached",
]

#: The key the CLI is given; the stand-in accepts any key.
DUMMY_API_KEY: Final = "sk-ant-api03-sandwarden-dummy"

#: The model named in answers when the request names none.
_DEFAULT_MODEL: Final = "claude-sandwarden-sim"

#: Seconds between a stall's checks that its client is still there.
_STALL_POLL: Final = 0.05


@dataclass(frozen=True, slots=True)
class Text:
    """
    A plain text answer.

    ``pieces`` splits the text into that many ``text_delta`` events;
    ``delay`` seconds pass before each event of the stream (a slow drip).
    """

    text: str
    pieces: int = 1
    delay: float = 0.0

    def __post_init__(self) -> None:
        if self.pieces < 1:
            msg = f"pieces must be at least 1, got {self.pieces}"
            raise ValueError(msg)
        if self.delay < 0:
            msg = f"delay must be zero or more seconds, got {self.delay}"
            raise ValueError(msg)


@dataclass(frozen=True, slots=True)
class ToolUse:
    """
    A call of the CLI's tool ``name`` with ``input``, after ``text``.

    The CLI runs the tool in its working directory and sends the result
    in its next request, which the next reply in the script answers.
    """

    name: str
    input: Mapping[str, object]
    text: str = ""


@dataclass(frozen=True, slots=True)
class Stall:
    """
    A 200 status line and headers, then nothing until the server stops.

    The silence also ends when the client hangs up. With ``after_start``
    a stream sends its ``message_start`` event first, as an API that
    stalls mid-answer would; a request that does not stream gets the
    headers of its JSON body alone either way.
    """

    after_start: bool = False


@dataclass(frozen=True, slots=True)
class HttpError:
    """An error status with the API's JSON error body."""

    status: int
    error_type: str
    message: str
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Malformed:
    """
    A stream whose second event carries data that is not JSON.

    A request that does not stream gets ``garbage`` as its whole body,
    labelled JSON.
    """

    garbage: str = '{"type": "content_block_delta", "index": 0, "delta":'


Reply = Text | ToolUse | Stall | HttpError | Malformed


def unauthorized(message: str = "invalid x-api-key") -> HttpError:
    """The 401 the API sends for a rejected key or token."""
    return HttpError(401, "authentication_error", message)


def rate_limited(retry_after: int = 30, reset: str = "") -> HttpError:
    """
    A 429 with the rate-limit headers the API sends.

    ``reset`` is the RFC 3339 instant the limit resets (empty: left out).
    """
    headers = [
        ("retry-after", str(retry_after)),
        ("anthropic-ratelimit-requests-limit", "50"),
        ("anthropic-ratelimit-requests-remaining", "0"),
        ("anthropic-ratelimit-tokens-limit", "40000"),
        ("anthropic-ratelimit-tokens-remaining", "0"),
    ]
    if reset:
        headers += [
            ("anthropic-ratelimit-requests-reset", reset),
            ("anthropic-ratelimit-tokens-reset", reset),
        ]

    return HttpError(
        429,
        "rate_limit_error",
        "Number of requests has exceeded your rate limit.",
        tuple(headers),
    )


def usage_limit_reached(
    resets_at: int,
    window: str = "five_hour",
) -> HttpError:
    """
    The 429 of a subscription whose plan quota ran out until ``resets_at``.

    The ``anthropic-ratelimit-unified-*`` headers are what a claude.ai or
    OAuth-token login reads: the real CLI then prints a ``rate_limit_event``
    with status ``rejected`` and "You've hit your ... limit · resets ...",
    and does not retry. ``resets_at`` is in Unix seconds.
    """
    short = {"five_hour": "5h", "seven_day": "7d"}.get(window, window)
    reset = str(resets_at)

    return HttpError(
        429,
        "rate_limit_error",
        "This request would exceed your account's rate limit.",
        (
            ("anthropic-ratelimit-unified-status", "rejected"),
            ("anthropic-ratelimit-unified-reset", reset),
            ("anthropic-ratelimit-unified-representative-claim", window),
            (f"anthropic-ratelimit-unified-{short}-status", "rejected"),
            (f"anthropic-ratelimit-unified-{short}-reset", reset),
            (f"anthropic-ratelimit-unified-{short}-utilization", "1.0"),
        ),
    )


def overloaded() -> HttpError:
    """The 529 the API sends when it is overloaded."""
    return HttpError(529, "overloaded_error", "Overloaded")


def long_answer(chars: int, pieces: int = 64) -> Text:
    """A deterministic answer of ``chars`` characters in ``pieces`` deltas."""
    words = " ".join(f"word{i}" for i in range(chars // 5 + 1))

    return Text(words[:chars], pieces=max(1, min(pieces, chars)))


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request the stand-in received."""

    method: str
    path: str
    headers: Mapping[str, str] = field(repr=False)
    body: bytes = field(repr=False)

    def json(self) -> dict[str, object]:
        """The body parsed as a JSON object (empty when it is not one)."""
        try:
            parsed = json.loads(self.body) if self.body else {}
        except ValueError:
            return {}

        return parsed if isinstance(parsed, dict) else {}

    @property
    def is_message(self) -> bool:
        """Whether this asked for a model answer (``POST /v1/messages``)."""
        return self.method == "POST" and _route(self.path) == "/v1/messages"


class MessagesApi:
    """
    The stand-in server; a context manager, sync or async.

    Replies may be added with ``push`` while it runs; ``requests`` lists
    what it received, oldest first.
    """

    def __init__(self, script: Iterable[Reply] = ()) -> None:
        self._queue: deque[Reply] = deque(script)
        self._last: Reply = Text("ok")
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._counter = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL to give the CLI as ``ANTHROPIC_BASE_URL``."""
        host, port = self._bound().server_address[:2]

        return f"http://{host!s}:{port}"

    @property
    def requests(self) -> tuple[RecordedRequest, ...]:
        """Every request received so far."""
        with self._lock:
            return tuple(self._requests)

    @property
    def message_requests(self) -> tuple[RecordedRequest, ...]:
        """The requests that asked for a model answer."""
        return tuple(r for r in self.requests if r.is_message)

    def env(self, api_key: str = DUMMY_API_KEY) -> dict[str, str]:
        """The environment that points a real CLI here, offline."""
        return {
            "ANTHROPIC_BASE_URL": self.url,
            "ANTHROPIC_API_KEY": api_key,
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        }

    def push(self, *replies: Reply) -> None:
        """Queue more replies after those already scripted."""
        with self._lock:
            self._queue.extend(replies)

    def start(self) -> None:
        """Bind a free loopback port and serve in a daemon thread."""
        if self._server is not None:
            return
        self._stopping.clear()
        server = _Server(("127.0.0.1", 0), _Handler)
        server.api = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="messages-api",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """End stalls and drips, stop serving and free the port."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        thread.join()
        self._server = self._thread = None

    def __enter__(self) -> MessagesApi:
        self.start()

        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> MessagesApi:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _bound(self) -> _Server:
        if self._server is None:
            msg = "the Messages API stand-in is not running; start() it"
            raise RuntimeError(msg)

        return self._server

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _next_reply(self) -> tuple[Reply, int]:
        with self._lock:
            if self._queue:
                self._last = self._queue.popleft()
            self._counter += 1

            return self._last, self._counter

    def _pause(self, seconds: float) -> bool:
        """Wait ``seconds``; False when the server stopped meanwhile."""
        return not self._stopping.wait(seconds)

    def _stall(self, client_gone: Callable[[], bool]) -> None:
        """Wait until the server stops or ``client_gone`` says so."""
        while not self._stopping.wait(_STALL_POLL):
            if client_gone():
                return


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    # A CLI may hold a keep-alive connection open; never wait for it.
    block_on_close = False
    api: MessagesApi


def _route(path: str) -> str:
    return path.split("?", 1)[0].rstrip("/") or "/"


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet: tests read the recorded requests instead."""

    def do_GET(self) -> None:
        self._answer_other()

    def do_PUT(self) -> None:
        self._answer_other()

    def do_PATCH(self) -> None:
        self._answer_other()

    def do_DELETE(self) -> None:
        self._answer_other()

    def do_OPTIONS(self) -> None:
        self._answer_other()

    def do_HEAD(self) -> None:
        self._record(b"")
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def do_POST(self) -> None:
        request = self._record(self._body())
        body = request.body
        route = _route(self.path)
        if route == "/v1/messages/count_tokens":
            # About four bytes of request per token: close enough for a CLI
            # that only uses the figure to decide when to compact.
            self._send_json(200, {"input_tokens": max(1, len(body) // 4)})
        elif route == "/v1/messages":
            self._answer(request.json())
        else:
            self._send_json(200, {})

    def _answer_other(self) -> None:
        """Anything but a message or a token count: an empty object."""
        self._record(self._body())
        self._send_json(200, {})

    def _body(self) -> bytes:
        length = int(self.headers.get("content-length") or 0)

        return self.rfile.read(length) if length > 0 else b""

    def _record(self, body: bytes) -> RecordedRequest:
        request = RecordedRequest(
            method=self.command,
            path=self.path,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        self.server.api._record(request)

        return request

    def _answer(self, request: Mapping[str, object]) -> None:
        reply, number = self.server.api._next_reply()
        model = str(request.get("model") or _DEFAULT_MODEL)
        if isinstance(reply, HttpError):
            self._send_error(reply, number)
        elif request.get("stream") is True:
            self._stream(reply, model, number)
        elif isinstance(reply, Stall):
            self._hold(number)
        elif isinstance(reply, Malformed):
            self._send(200, reply.garbage.encode(), number=number)
        else:
            self._send_json(200, _message(reply, model, number))

    def _send_error(self, reply: HttpError, number: int) -> None:
        body = {
            "type": "error",
            "error": {"type": reply.error_type, "message": reply.message},
            "request_id": f"req_sim_{number:04d}",
        }
        self._send_json(reply.status, body, reply.headers, number)

    def _send_json(
        self,
        status: int,
        body: Mapping[str, object],
        headers: Iterable[tuple[str, str]] = (),
        number: int = 0,
    ) -> None:
        self._send(status, json.dumps(body).encode(), headers, number)

    def _send(
        self,
        status: int,
        data: bytes,
        headers: Iterable[tuple[str, str]] = (),
        number: int = 0,
    ) -> None:
        """Answer with ``data`` as a JSON body, well formed or not."""
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.send_header("request-id", f"req_sim_{number:04d}")
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _hold(self, number: int) -> None:
        """Send the headers of a JSON answer, then nothing (a ``Stall``)."""
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("transfer-encoding", "chunked")
        self.send_header("request-id", f"req_sim_{number:04d}")
        self.end_headers()
        self.wfile.flush()
        self.server.api._stall(self._client_gone)
        self.close_connection = True

    def _client_gone(self) -> bool:
        """Whether the client hung up (it stopped waiting for the answer)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if not readable:
                return False
            return not self.connection.recv(1, socket.MSG_PEEK)
        except OSError:
            return True

    def _stream(self, reply: Reply, model: str, number: int) -> None:
        api = self.server.api
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.send_header("request-id", f"req_sim_{number:04d}")
        self.end_headers()
        self.wfile.flush()
        delay = reply.delay if isinstance(reply, Text) else 0.0
        try:
            for event in _events(reply, model, number):
                if delay and not api._pause(delay):
                    break
                if event is _STALL:
                    api._stall(self._client_gone)
                    break
                self._write_chunk(event)
            self._write_chunk(b"")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the CLI gave up on this answer; nothing left to say
        self.close_connection = True

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()


#: Marks the point in a stream where a ``Stall`` stops talking.
_STALL: Final = b"\x00stall"


def _events(reply: Reply, model: str, number: int) -> list[bytes]:
    """The server-sent events of one streamed answer, as bytes."""
    start = _event("message_start", _message_start(model, number))
    match reply:
        case Stall(after_start=after_start):
            return [start, _STALL] if after_start else [_STALL]
        case Malformed(garbage=garbage):
            return [
                start,
                b"event: content_block_delta\ndata: %s\n\n" % garbage.encode(),
            ]
        case HttpError():  # pragma: no cover - answered before streaming
            return []
        case Text() | ToolUse():
            return [start, *_content_events(reply, number)]


def _content_events(reply: Text | ToolUse, number: int) -> list[bytes]:
    events: list[bytes] = []
    text = reply.text
    pieces = reply.pieces if isinstance(reply, Text) else 1
    index = 0
    if text:
        events.append(_block_start(index, {"type": "text", "text": ""}))
        events.extend(
            _event(
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": index,
                    "delta": {"type": "text_delta", "text": piece},
                },
            )
            for piece in _split(text, pieces)
        )
        events.append(_block_stop(index))
        index += 1
    if isinstance(reply, ToolUse):
        events.extend(_tool_events(reply, index, number))
    stop_reason = "tool_use" if isinstance(reply, ToolUse) else "end_turn"
    events.append(
        _event(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                "usage": {"output_tokens": max(1, len(text) // 4)},
            },
        )
    )
    events.append(_event("message_stop", {"type": "message_stop"}))

    return events


def _tool_events(reply: ToolUse, index: int, number: int) -> list[bytes]:
    block = {
        "type": "tool_use",
        "id": _tool_id(number),
        "name": reply.name,
        "input": {},
    }
    delta = {
        "type": "content_block_delta",
        "index": index,
        "delta": {
            "type": "input_json_delta",
            "partial_json": json.dumps(dict(reply.input)),
        },
    }

    return [
        _block_start(index, block),
        _event("content_block_delta", delta),
        _block_stop(index),
    ]


def _block_start(index: int, block: Mapping[str, object]) -> bytes:
    return _event(
        "content_block_start",
        {
            "type": "content_block_start",
            "index": index,
            "content_block": block,
        },
    )


def _block_stop(index: int) -> bytes:
    return _event(
        "content_block_stop", {"type": "content_block_stop", "index": index}
    )


def _message_start(model: str, number: int) -> dict[str, object]:
    return {
        "type": "message_start",
        "message": {
            "id": _message_id(number),
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 8, "output_tokens": 1},
        },
    }


def _message(
    reply: Text | ToolUse,
    model: str,
    number: int,
) -> dict[str, object]:
    """The whole answer as one JSON message (a non-streaming request)."""
    content: list[dict[str, object]] = []
    text = reply.text
    if text:
        content.append({"type": "text", "text": text})
    if isinstance(reply, ToolUse):
        content.append(
            {
                "type": "tool_use",
                "id": _tool_id(number),
                "name": reply.name,
                "input": dict(reply.input),
            }
        )

    return {
        "id": _message_id(number),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": "tool_use"
        if isinstance(reply, ToolUse)
        else "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 8, "output_tokens": max(1, len(text) // 4)},
    }


def _event(name: str, data: Mapping[str, object]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


def _split(text: str, pieces: int) -> list[str]:
    size = -(-len(text) // pieces)  # ceiling division

    return [text[i : i + size] for i in range(0, len(text), size)]


def _message_id(number: int) -> str:
    return f"msg_sim_{number:04d}"


def _tool_id(number: int) -> str:
    return f"toolu_sim_{number:04d}"
