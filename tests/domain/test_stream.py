import json
from pathlib import Path

import pytest

from sandwarden.domain.events import (
    ApiRetry,
    AssistantMessage,
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
    ToolUseBlock,
    TruncatedLine,
    UnknownEvent,
    UserMessage,
)
from sandwarden.domain.stream import StreamDecoder

TRANSCRIPTS = Path(__file__).parent.parent / "fixtures" / "transcripts"


def decode_all(data: bytes, max_line: int = 64 * 1024 * 1024) -> list[Event]:
    decoder = StreamDecoder(max_line)
    return decoder.feed(data) + decoder.finish()


def decode_bytewise(data: bytes, max_line: int) -> list[Event]:
    decoder = StreamDecoder(max_line)
    events: list[Event] = []
    for index in range(len(data)):
        events += decoder.feed(data[index : index + 1])
    return events + decoder.finish()


def line(**fields: object) -> bytes:
    return json.dumps(fields).encode() + b"\n"


def test_init_carries_the_run_metadata() -> None:
    events = decode_all((TRANSCRIPTS / "success.jsonl").read_bytes())

    init = events[0]

    assert init == SystemInit(
        session_id="5f0c2a1e-8d7b-4c1a-9e3f-1a2b3c4d5e6f",
        model="claude-sonnet-4-6",
        api_key_source="none",
        cwd="/home/bot/workspace",
        tools=(
            "Task",
            "Bash",
            "Glob",
            "Grep",
            "Read",
            "Edit",
            "Write",
            "WebFetch",
            "TodoWrite",
        ),
        claude_code_version="2.1.240",
        permission_mode="bypassPermissions",
    )


def test_a_result_is_found_whatever_the_key_order() -> None:
    events = decode_all((TRANSCRIPTS / "success.jsonl").read_bytes())

    result = events[-1]

    assert isinstance(result, ResultEvent)
    assert result.subtype == "success"
    assert result.is_error is False
    assert result.result == "The code word is BANANA."
    assert result.total_cost_usd == pytest.approx(0.0123)
    assert result.num_turns == 1
    assert result.terminal_reason == "completed"
    assert result.stop_reason == "end_turn"
    assert result.duration_ms == 2874
    assert result.usage is not None
    assert result.usage["output_tokens"] == 9
    assert result.model_usage is not None
    assert "claude-sonnet-4-6" in result.model_usage


def test_the_older_cost_names_are_read_as_the_total_cost() -> None:
    old = line(type="result", total_cost=0.5, is_error=False)
    sdk = line(type="result", cost_usd=0.25, is_error=False)

    events = decode_all(old + sdk)

    assert [e.total_cost_usd for e in events if type(e) is ResultEvent] == [
        0.5,
        0.25,
    ]


def test_a_result_without_cost_keeps_the_cost_absent() -> None:
    events = decode_all(line(type="result", subtype="success"))

    assert isinstance(events[0], ResultEvent)
    assert events[0].total_cost_usd is None


def test_assistant_lines_keep_their_blocks_and_message_id() -> None:
    events = decode_all((TRANSCRIPTS / "tool_use.jsonl").read_bytes())

    thinking, text, tool = events[1:4]

    assert isinstance(thinking, AssistantMessage)
    assert thinking.blocks == (
        ThinkingBlock("The user wants the file list; run ls."),
    )
    assert isinstance(text, AssistantMessage)
    assert text.text == "Let me look at the directory."
    assert isinstance(tool, AssistantMessage)
    assert tool.blocks == (
        ToolUseBlock(
            "toolu_01Ls",
            "Bash",
            {"command": "ls", "description": "List files"},
        ),
    )
    assert {thinking.message_id, text.message_id, tool.message_id} == {
        "msg_01Tools",
    }


def test_tool_results_arrive_as_user_events() -> None:
    events = decode_all((TRANSCRIPTS / "tool_use.jsonl").read_bytes())

    user = events[4]

    assert isinstance(user, UserMessage)
    assert [(r.tool_use_id, r.content, r.is_error) for r in user.results] == [
        ("toolu_01Ls", "README.md\nsrc\ntests", False),
    ]


def test_tool_result_blocks_are_flattened_to_text() -> None:
    content = [
        {"type": "text", "text": "page 1"},
        {"type": "image", "source": {"data": "AAAA"}},
    ]
    data = line(
        type="user",
        message={
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "t1",
                    "content": content,
                    "is_error": True,
                },
            ],
        },
    )

    (user,) = decode_all(data)

    assert isinstance(user, UserMessage)
    assert user.results[0].content == "page 1\n[image]"
    assert user.results[0].is_error is True


def test_a_synthetic_failure_keeps_its_error_code() -> None:
    data = (TRANSCRIPTS / "auth_not_logged_in.jsonl").read_bytes()

    message = decode_all(data)[1]

    assert isinstance(message, AssistantMessage)
    assert message.synthetic
    assert message.error == "authentication_failed"
    assert message.text == "Not logged in · Please run /login"


def test_partial_messages_become_stream_events() -> None:
    data = (TRANSCRIPTS / "partial_messages.jsonl").read_bytes()

    events = [e for e in decode_all(data) if type(e) is StreamEvent]

    assert events[0].event_type == "message_start"
    assert events[0].message_id == "msg_01Partial"
    assert [e.text for e in events if e.delta_type == "text_delta"] == [
        "Hello",
        ", wörld",
        "! 👋",
        "Today is ",
        "Saturday.",
    ]
    assert (
        "".join(
            e.partial_json
            for e in events
            if e.delta_type == "input_json_delta"
        )
        == '{"command": "date"}'
    )
    assert [
        e.thinking for e in events if e.delta_type == "thinking_delta"
    ] == [
        "It is Saturday.",
    ]
    assert all(e.wrapped and e.type == "stream_event" for e in events)


def test_the_specifications_bare_delta_is_understood() -> None:
    data = (TRANSCRIPTS / "specification_form.jsonl").read_bytes()

    first = decode_all(data)[0]

    assert first == StreamEvent(
        session_id=None,
        event_type="content_block_delta",
        delta_type="text_delta",
        text="Here is ",
        wrapped=False,
    )
    assert first.type == "content_block_delta"


def test_api_retries_are_typed() -> None:
    data = (TRANSCRIPTS / "api_overloaded.jsonl").read_bytes()

    retry = decode_all(data)[1]

    assert retry == ApiRetry(
        session_id="c6d7e8f9-8888-4999-8aaa-bbbcccdddeee",
        attempt=1,
        max_retries=10,
        retry_delay_ms=1000.0,
        error_status=529,
        error="overloaded",
    )


def test_a_rejected_rate_limit_is_typed() -> None:
    data = (TRANSCRIPTS / "usage_limit.jsonl").read_bytes()

    event = decode_all(data)[1]

    assert isinstance(event, RateLimitEvent)
    assert event.status == "rejected"
    assert event.resets_at == 1787410800
    assert event.rate_limit_type == "five_hour"
    assert event.utilization == 1.0


def test_other_system_subtypes_and_unknown_types_pass_through() -> None:
    data = (TRANSCRIPTS / "unknown_events.jsonl").read_bytes()

    events = decode_all(data)

    hook = events[0]
    assert isinstance(hook, SystemEvent)
    assert hook.subtype == "hook_started"
    assert hook.data["hook_name"] == "SessionStart:startup"
    unknown = [e for e in events if type(e) is UnknownEvent]
    assert [e.type for e in unknown] == [
        "tool_progress",
        "telemetry_hint",
        "prompt_suggestion",
    ]
    assert unknown[1].data == {
        "type": "telemetry_hint",
        "payload": {"level": 3},
        "session_id": "e8f9a0b1-aaaa-4bbb-8ccc-dddeeefff000",
    }
    server_tool = events[5]
    assert isinstance(server_tool, AssistantMessage)
    assert type(server_tool.blocks[0]) is OtherBlock
    assert server_tool.blocks[1] == TextBlock(
        "Python 3.14 was released in October 2025.",
    )


def test_noise_lines_are_reported_and_skipped() -> None:
    data = (TRANSCRIPTS / "sandbox_debug_noise.jsonl").read_bytes()

    events = decode_all(data)

    noise = [e for e in events if type(e) is NoiseLine]
    assert len(noise) == 5
    assert noise[0].head == "[SandboxDebug] proxy: listening on 127.0.0.1:3128"
    assert [type(e) for e in events if type(e) is not NoiseLine] == [
        SystemInit,
        AssistantMessage,
        ResultEvent,
    ]


def test_crlf_line_endings_decode_like_lf() -> None:
    data = (TRANSCRIPTS / "tool_use.jsonl").read_bytes()

    crlf = decode_all(data.replace(b"\n", b"\r\n"))

    assert crlf == decode_all(data)


def test_blank_lines_yield_nothing() -> None:
    events = decode_all(b"\n\r\n   \n\t\r\n")

    assert events == []


def test_a_last_line_without_newline_is_decoded() -> None:
    data = (TRANSCRIPTS / "success.jsonl").read_bytes().rstrip(b"\n")

    events = decode_all(data)

    assert isinstance(events[-1], ResultEvent)


def test_a_cut_last_line_is_reported_as_truncated() -> None:
    data = (TRANSCRIPTS / "success.jsonl").read_bytes().rstrip(b"\n")
    cut = data[: data.rindex(b"\n") + 120]

    events = decode_all(cut)

    assert isinstance(events[-1], TruncatedLine)
    assert events[-1].size == 119
    assert events[-1].head.startswith('{"is_error":false')
    assert not any(type(e) is ResultEvent for e in events)


def test_a_broken_line_in_the_middle_is_corrupt_and_the_run_goes_on() -> None:
    data = b'{"type": "assistant", "mess\n' + line(type="result")

    events = decode_all(data)

    assert isinstance(events[0], CorruptLine)
    assert events[0].size == 27
    assert "line 1" in events[0].error
    assert isinstance(events[1], ResultEvent)


@pytest.mark.parametrize(
    "raw",
    [b"[1, 2]", b'"text"', b"42", b"null", b'{"no_type": 1}', b'{"type": 7}'],
)
def test_json_that_is_no_typed_object_is_noise(raw: bytes) -> None:
    events = decode_all(raw + b"\n")

    assert events == [NoiseLine(len(raw), raw.decode())]


def test_invalid_utf8_inside_a_line_is_replaced_not_fatal() -> None:
    data = b'{"type":"result","result":"caf\xe9 \xff","is_error":false}\n'

    (result,) = decode_all(data)

    assert isinstance(result, ResultEvent)
    assert result.result == "caf\ufffd \ufffd"


def test_a_multibyte_character_split_across_chunks_survives() -> None:
    data = line(type="result", result="naïve ☃ 👋", is_error=False)

    events = decode_bytewise(data, max_line=1024)

    assert isinstance(events[0], ResultEvent)
    assert events[0].result == "naïve ☃ 👋"


def test_a_line_of_several_megabytes_is_decoded() -> None:
    content = "x" * (6 * 1024 * 1024)
    tool = {"type": "tool_result", "tool_use_id": "t", "content": content}
    data = line(type="user", message={"content": [tool]}) + line(
        type="result",
        result="done",
        is_error=False,
    )
    decoder = StreamDecoder()

    events: list[Event] = []
    for start in range(0, len(data), 65536):
        events += decoder.feed(data[start : start + 65536])
    events += decoder.finish()

    user, result = events
    assert isinstance(user, UserMessage)
    assert len(user.results[0].content) == len(content)
    assert isinstance(result, ResultEvent)


# Lines past 64 KiB inside one chunk are decoded from a view of it.
LONG = "é" * 40_000


@pytest.mark.parametrize(
    "raw",
    [
        line(type="result", result=LONG, is_error=False),
        b'{"type":"result","result":"' + b"\xff" * 70_000 + b'"}\n',
        b'{"type":"result","result":"' + b"x" * 70_000 + b"\n",
        b"   " + line(type="result", result=LONG, is_error=False),
        b"[SandboxDebug] " + b"x" * 70_000 + b"\n",
    ],
    ids=["valid", "invalid-utf8", "corrupt", "indented", "noise"],
)
def test_a_long_line_decodes_alike_in_one_chunk_and_in_many(
    raw: bytes,
) -> None:
    data = raw + line(type="result", result="after", is_error=False)
    decoder = StreamDecoder()

    whole = decode_all(data)
    pieces: list[Event] = []
    for start in range(0, len(data), 4096):
        pieces += decoder.feed(data[start : start + 4096])
    pieces += decoder.finish()

    assert whole == pieces
    assert len(whole) == 2
    assert whole[1] == ResultEvent(
        session_id=None,
        subtype=None,
        is_error=False,
        result="after",
    )


def test_a_fed_buffer_is_free_to_change_once_feed_returns() -> None:
    chunk = bytearray(line(type="result", result=LONG, is_error=False))
    decoder = StreamDecoder()

    (event,) = decoder.feed(chunk)
    chunk.clear()

    assert isinstance(event, ResultEvent)
    assert event.result == LONG


def test_an_oversized_line_is_skipped_and_the_run_goes_on() -> None:
    big = line(type="user", padding="y" * 500)
    data = line(type="system", subtype="init") + big + line(type="result")

    events = decode_all(data, max_line=200)

    assert [type(e) for e in events] == [
        SystemInit,
        OversizedLine,
        ResultEvent,
    ]
    assert events[1] == OversizedLine(len(big) - 1, big[:80].decode())


def test_an_oversized_line_is_the_same_event_whatever_the_chunking() -> None:
    big = line(type="user", padding="y" * 500)
    data = line(type="result") + big + big.rstrip(b"\n")

    events = decode_bytewise(data, max_line=100)

    assert events == decode_all(data, max_line=100)
    assert [type(e) for e in events] == [
        ResultEvent,
        OversizedLine,
        OversizedLine,
    ]


def test_a_line_exactly_at_the_cap_is_kept() -> None:
    data = line(type="result", is_error=False)
    size = len(data) - 1

    at_cap = decode_all(data, max_line=size)
    over_cap = decode_all(data, max_line=size - 1)

    assert type(at_cap[0]) is ResultEvent
    assert type(over_cap[0]) is OversizedLine


def test_a_cap_below_one_byte_is_refused() -> None:
    with pytest.raises(ValueError, match="max_line"):
        StreamDecoder(0)


def test_a_deeply_nested_line_is_corrupt_not_a_crash() -> None:
    data = b'{"type":"x","a":' + b"[" * 200_000 + b"]" * 200_000 + b"}\n"

    events = decode_all(data)

    assert len(events) == 1
    assert type(events[0]) in {CorruptLine, UnknownEvent}


def test_fields_of_the_wrong_type_are_ignored_but_errors_kept() -> None:
    data = line(
        type="result",
        is_error="yes",
        num_turns="3",
        total_cost_usd=True,
        errors="boom",
        usage=[1],
        api_error_status="529",
    )

    (result,) = decode_all(data)

    assert result == ResultEvent(
        session_id=None,
        subtype=None,
        is_error=False,
        errors=("boom",),
        api_error_status=529,
    )


@pytest.mark.parametrize(
    ("fields", "is_error"),
    [
        ({"subtype": "error_max_turns"}, True),
        ({"subtype": "error_during_execution", "is_error": "true"}, True),
        ({"subtype": "error_max_budget_usd", "is_error": None}, True),
        ({"subtype": "success"}, False),
        ({"subtype": "success", "is_error": 1}, False),
        ({}, False),
        ({"subtype": "success", "is_error": True}, True),
        ({"subtype": "error_max_turns", "is_error": False}, False),
    ],
)
def test_without_a_boolean_is_error_the_subtype_decides(
    fields: dict[str, object],
    is_error: bool,
) -> None:
    (result,) = decode_all(line(type="result", **fields))

    assert type(result) is ResultEvent
    assert result.is_error is is_error


@pytest.mark.parametrize(
    ("errors", "kept"),
    [
        ("boom", ("boom",)),
        ({"code": 1}, ('{"code": 1}',)),
        (7, ("7",)),
        (["a", {"b": 2}], ("a", '{"b": 2}')),
        (None, ()),
        ([], ()),
    ],
)
def test_errors_that_are_not_a_list_are_kept_as_one_error(
    errors: object,
    kept: tuple[str, ...],
) -> None:
    (result,) = decode_all(line(type="result", is_error=True, errors=errors))

    assert type(result) is ResultEvent
    assert result.errors == kept
