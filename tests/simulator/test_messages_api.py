from __future__ import annotations

import asyncio
import http.client
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sandwarden.simulator.messages_api import (
    HttpError,
    Malformed,
    MessagesApi,
    Stall,
    Text,
    ToolUse,
    long_answer,
    overloaded,
    rate_limited,
    unauthorized,
    usage_limit_reached,
)

STREAMED = {"model": "m", "max_tokens": 10, "messages": [], "stream": True}
WHOLE = {"model": "m", "max_tokens": 10, "messages": []}


def post(
    api: MessagesApi,
    body: dict[str, object],
    path: str = "/v1/messages?beta=true",
    timeout: float = 5.0,
) -> tuple[int, dict[str, str], bytes]:
    host, port = api.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        connection.request(
            "POST",
            path,
            json.dumps(body),
            {"content-type": "application/json", "x-api-key": "k"},
        )
        response = connection.getresponse()
        headers = {k.lower(): v for k, v in response.getheaders()}
        return response.status, headers, response.read()
    finally:
        connection.close()


def sse(data: bytes) -> list[tuple[str, str]]:
    events = []
    for block in data.decode().split("\n\n"):
        if not block.strip():
            continue
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines["event"], lines["data"]))
    return events


def parsed(data: bytes) -> list[dict[str, object]]:
    return [json.loads(payload) for _, payload in sse(data)]


def streamed_text(data: bytes) -> str:
    return "".join(
        str(event["delta"]["text"])  # type: ignore[index]
        for event in parsed(data)
        if event["type"] == "content_block_delta"
    )


@pytest.fixture
def api() -> Iterator[MessagesApi]:
    with MessagesApi() as running:
        yield running


def test_it_listens_on_a_free_loopback_port(api: MessagesApi) -> None:
    url = api.url

    assert url.startswith("http://127.0.0.1:")
    assert int(url.rsplit(":", 1)[1]) > 0


def test_a_streamed_text_answer_has_the_api_event_sequence() -> None:
    with MessagesApi([Text("Hello world.", pieces=3)]) as api:
        status, headers, body = post(api, STREAMED)

    kinds = [name for name, _ in sse(body)]
    assert status == 200
    assert headers["content-type"] == "text/event-stream"
    assert kinds == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert streamed_text(body) == "Hello world."


def test_a_non_streaming_request_gets_the_whole_message() -> None:
    with MessagesApi([Text("all at once")]) as api:
        status, _, body = post(api, WHOLE)

    message = json.loads(body)
    assert status == 200
    assert message["content"] == [{"type": "text", "text": "all at once"}]
    assert message["stop_reason"] == "end_turn"


def test_a_tool_use_streams_its_input_and_stops_for_the_tool() -> None:
    tool = ToolUse("Bash", {"command": "touch made"}, text="Making.")
    with MessagesApi([tool]) as api:
        _, _, body = post(api, STREAMED)

    events = parsed(body)
    starts = [
        e["content_block"]
        for e in events
        if e["type"] == "content_block_start"
    ]
    inputs = [
        e["delta"]["partial_json"]  # type: ignore[index]
        for e in events
        if e["type"] == "content_block_delta"
        and e["delta"]["type"] == "input_json_delta"  # type: ignore[index]
    ]
    stop = next(e for e in events if e["type"] == "message_delta")
    assert [b["type"] for b in starts] == ["text", "tool_use"]  # type: ignore[index]
    assert json.loads("".join(inputs)) == {"command": "touch made"}
    assert stop["delta"]["stop_reason"] == "tool_use"  # type: ignore[index]


def test_replies_answer_requests_in_order_and_the_last_one_repeats() -> None:
    with MessagesApi([Text("one"), Text("two")]) as api:
        answers = [streamed_text(post(api, STREAMED)[2]) for _ in range(4)]

    assert answers == ["one", "two", "two", "two"]


def test_an_empty_script_answers_ok_and_push_adds_replies() -> None:
    with MessagesApi() as api:
        first = streamed_text(post(api, STREAMED)[2])
        api.push(Text("pushed"))
        second = streamed_text(post(api, STREAMED)[2])

    assert (first, second) == ("ok", "pushed")


def test_a_long_answer_arrives_whole_in_many_deltas() -> None:
    reply = long_answer(200_000, pieces=500)
    with MessagesApi([reply]) as api:
        _, _, body = post(api, STREAMED)

    deltas = [e for e in parsed(body) if e["type"] == "content_block_delta"]
    assert len(deltas) == 500
    assert streamed_text(body) == reply.text
    assert len(reply.text) == 200_000


def test_a_slow_drip_keeps_every_piece_in_order() -> None:
    with MessagesApi([Text("abcdef", pieces=6, delay=0.01)]) as api:
        _, _, body = post(api, STREAMED)

    assert streamed_text(body) == "abcdef"


def test_a_stall_sends_headers_then_nothing_until_the_server_stops() -> None:
    api = MessagesApi([Stall()])
    api.start()
    host, port = api.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=0.3)
    connection.request("POST", "/v1/messages", json.dumps(STREAMED))
    response = connection.getresponse()

    with pytest.raises(socket.timeout):
        response.read(1)
    api.stop()

    connection.close()
    assert response.status == 200


def eventually(condition: Callable[[], bool], limit: float = 10.0) -> bool:
    """Poll ``condition`` until it holds or ``limit`` seconds pass."""
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_a_non_streaming_stall_sends_headers_then_nothing() -> None:
    with MessagesApi([Stall()]) as api:
        host, port = api.url.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=0.3)
        connection.request("POST", "/v1/messages", json.dumps(WHOLE))
        response = connection.getresponse()

        with pytest.raises(socket.timeout):
            response.read(1)

        connection.close()
    assert response.status == 200
    assert response.getheader("content-type") == "application/json"


@pytest.mark.parametrize("asked", [STREAMED, WHOLE], ids=["stream", "whole"])
def test_a_stall_ends_when_its_client_hangs_up(
    asked: dict[str, object],
) -> None:
    with MessagesApi([Stall(), Text("after the stall")]) as api:
        host, port = api.url.removeprefix("http://").split(":")
        before = set(threading.enumerate())
        connection = http.client.HTTPConnection(host, int(port), timeout=5)
        connection.request("POST", "/v1/messages", json.dumps(asked))
        connection.getresponse()
        # Threads, not their count: one left over from an earlier test
        # may end meanwhile and hide the stalled handler in a count.
        stalled = set(threading.enumerate()) - before

        connection.close()

        assert stalled
        assert eventually(lambda: not any(t.is_alive() for t in stalled))
        _, _, body = post(api, WHOLE)
    assert json.loads(body)["content"][0]["text"] == "after the stall"


@pytest.mark.parametrize(
    ("reply", "status", "error_type"),
    [
        (unauthorized(), 401, "authentication_error"),
        (rate_limited(), 429, "rate_limit_error"),
        (overloaded(), 529, "overloaded_error"),
    ],
)
def test_an_http_error_comes_with_the_api_error_body(
    reply: HttpError, status: int, error_type: str
) -> None:
    with MessagesApi([reply]) as api:
        got, _, body = post(api, STREAMED)

    error = json.loads(body)
    assert got == status
    assert error["type"] == "error"
    assert error["error"]["type"] == error_type


def test_a_rate_limit_carries_retry_after_and_ratelimit_headers() -> None:
    reply = rate_limited(retry_after=7, reset="2026-01-01T00:00:00Z")
    with MessagesApi([reply]) as api:
        _, headers, _ = post(api, STREAMED)

    assert headers["retry-after"] == "7"
    assert headers["anthropic-ratelimit-requests-remaining"] == "0"
    assert (
        headers["anthropic-ratelimit-tokens-reset"] == "2026-01-01T00:00:00Z"
    )


def test_a_malformed_event_is_not_json() -> None:
    with MessagesApi([Malformed()]) as api:
        _, _, body = post(api, STREAMED)

    events = sse(body)
    assert events[0][0] == "message_start"
    with pytest.raises(json.JSONDecodeError):
        json.loads(events[1][1])


def test_a_non_streaming_malformed_reply_has_a_body_that_is_not_json() -> None:
    with MessagesApi([Malformed()]) as api:
        status, headers, body = post(api, WHOLE)

    assert status == 200
    assert headers["content-type"] == "application/json"
    assert body == Malformed().garbage.encode()
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)


@pytest.mark.parametrize(
    "method", ["GET", "PUT", "PATCH", "DELETE", "OPTIONS"]
)
def test_any_other_method_gets_an_empty_object_and_is_recorded(
    api: MessagesApi, method: str
) -> None:
    host, port = api.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        connection.request(method, "/api/anything", b'{"a": 1}')
        response = connection.getresponse()
        status, body = response.status, response.read()
    finally:
        connection.close()

    (request,) = api.requests
    assert (status, json.loads(body)) == (200, {})
    assert (request.method, request.body) == (method, b'{"a": 1}')
    assert not request.is_message


def test_count_tokens_and_other_paths_get_harmless_answers(
    api: MessagesApi,
) -> None:
    status, _, body = post(api, WHOLE, path="/v1/messages/count_tokens")
    other, _, other_body = post(api, {}, path="/api/event_logging/batch")

    assert status == 200
    assert json.loads(body)["input_tokens"] > 0
    assert (other, json.loads(other_body)) == (200, {})
    assert api.message_requests == ()


def test_it_records_what_it_received(api: MessagesApi) -> None:
    post(api, STREAMED)

    (request,) = api.requests
    assert request.method == "POST"
    assert request.path == "/v1/messages?beta=true"
    assert request.headers["x-api-key"] == "k"
    assert request.json()["stream"] is True
    assert request.is_message


def test_env_points_a_cli_at_it_offline(api: MessagesApi) -> None:
    env = api.env()

    assert env["ANTHROPIC_BASE_URL"] == api.url
    assert env["ANTHROPIC_API_KEY"]
    assert env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] == "1"


def test_it_refuses_to_give_a_url_when_stopped() -> None:
    api = MessagesApi()

    with pytest.raises(RuntimeError, match="not running"):
        _ = api.url


def test_it_serves_from_async_code_without_blocking_the_loop() -> None:
    async def scenario() -> str:
        async with MessagesApi([Text("async")]) as api:
            host, port = api.url.removeprefix("http://").split(":")
            reader, writer = await asyncio.open_connection(host, int(port))
            payload = json.dumps(STREAMED).encode()
            writer.write(
                b"POST /v1/messages HTTP/1.1\r\nhost: x\r\n"
                b"content-length: %d\r\n\r\n%s" % (len(payload), payload)
            )
            await writer.drain()
            data = await reader.read()
            writer.close()
            return data.decode()

    raw = asyncio.run(scenario())

    assert raw.startswith("HTTP/1.1 200")
    assert '"text": "async"' in raw


@settings(max_examples=25, deadline=None)
@given(
    text=st.text(min_size=1, max_size=300),
    pieces=st.integers(1, 40),
)
def test_any_text_streams_back_exactly(text: str, pieces: int) -> None:
    with MessagesApi([Text(text, pieces=pieces)]) as api:
        _, _, body = post(api, STREAMED)

    assert streamed_text(body) == text


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"pieces": 0}, "pieces"), ({"delay": -1.0}, "delay")],
)
def test_a_text_reply_refuses_impossible_settings(
    kwargs: dict[str, float], field: str
) -> None:
    with pytest.raises(ValueError, match=field):
        Text("x", **kwargs)  # type: ignore[arg-type]


def test_a_spent_plan_quota_carries_the_unified_headers() -> None:
    with MessagesApi([usage_limit_reached(1_800_000_000)]) as api:
        status, headers, _ = post(api, STREAMED)

    assert status == 429
    assert headers["anthropic-ratelimit-unified-status"] == "rejected"
    assert headers["anthropic-ratelimit-unified-reset"] == "1800000000"
    assert headers["anthropic-ratelimit-unified-5h-status"] == "rejected"
