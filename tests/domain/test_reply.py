import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from returns.pipeline import is_successful

from sandwarden.domain.errors import REPLY_ERROR_KINDS, ErrorKind
from sandwarden.domain.reply import Outcome, ReplyBuilder, decode
from sandwarden.domain.stream import StreamDecoder
from sandwarden.domain.values import SessionId

TRANSCRIPTS = Path(__file__).parent.parent / "fixtures" / "transcripts"


def transcript(name: str) -> bytes:
    return (TRANSCRIPTS / f"{name}.jsonl").read_bytes()


def line(**fields: object) -> bytes:
    return json.dumps(fields).encode() + b"\n"


@pytest.mark.parametrize(
    ("name", "outcome", "kind"),
    [
        ("success", Outcome.SUCCESS, None),
        ("tool_use", Outcome.SUCCESS, None),
        ("partial_messages", Outcome.SUCCESS, None),
        ("resume", Outcome.SUCCESS, None),
        ("sandbox_debug_noise", Outcome.SUCCESS, None),
        ("unknown_events", Outcome.SUCCESS, None),
        ("exit_nonzero_after_success", Outcome.SUCCESS, None),
        ("specification_form", Outcome.SUCCESS, None),
        ("old_cost_names", Outcome.SUCCESS, None),
        ("error_max_turns", Outcome.ERROR, ErrorKind.MAX_TURNS),
        ("error_max_budget_usd", Outcome.ERROR, ErrorKind.MAX_BUDGET),
        ("error_during_execution", Outcome.ERROR, ErrorKind.EXECUTION_ERROR),
        ("auth_not_logged_in", Outcome.ERROR, ErrorKind.AUTH),
        ("usage_limit", Outcome.ERROR, ErrorKind.USAGE_LIMIT),
        ("api_overloaded", Outcome.ERROR, ErrorKind.API_ERROR),
        ("resume_unknown_session", Outcome.ERROR, ErrorKind.SESSION_NOT_FOUND),
    ],
)
def test_each_captured_run_gets_its_verdict(
    name: str,
    outcome: Outcome,
    kind: ErrorKind | None,
) -> None:
    reply = decode(transcript(name))

    assert (reply.outcome, reply.error_kind) == (outcome, kind)
    assert (reply.error_message is None) == (outcome is Outcome.SUCCESS)


def test_a_success_reports_text_session_cost_and_turns() -> None:
    reply = decode(transcript("success"))

    assert reply.text == "The code word is BANANA."
    assert reply.session_id == "5f0c2a1e-8d7b-4c1a-9e3f-1a2b3c4d5e6f"
    assert reply.init_session_id == reply.session_id
    assert reply.model == "claude-sonnet-4-6"
    assert reply.api_key_source == "none"
    assert reply.subtype == "success"
    assert reply.is_error is False
    assert reply.total_cost_usd == pytest.approx(0.0123)
    assert reply.num_turns == 1
    assert reply.terminal_reason == "completed"
    assert reply.event_counts == {
        "assistant": 1,
        "rate_limit_event": 1,
        "result": 1,
        "system": 1,
    }
    assert is_successful(reply.checked())


def test_a_resumed_run_reports_the_session_id_of_its_result() -> None:
    reply = decode(transcript("resume"))

    assert reply.session_id == "22222222-aaaa-4bbb-8ccc-000000000002"
    assert reply.init_session_id == "11111111-aaaa-4bbb-8ccc-000000000001"
    assert reply.resumable_session_id == SessionId(reply.session_id)


def test_an_unknown_session_is_never_offered_for_resume() -> None:
    reply = decode(transcript("resume_unknown_session"))

    assert reply.session_id == "0badbeef-0000-4000-8000-00000000dead"
    assert reply.resumable_session_id is None
    assert reply.init_session_id is None
    assert reply.error_message == (
        "No conversation found with session ID: "
        "0badbeef-0000-4000-8000-00000000dead"
    )


def test_an_auth_failure_reported_as_success_subtype_is_an_error() -> None:
    reply = decode(transcript("auth_not_logged_in"))

    assert reply.subtype == "success"
    assert reply.is_error is True
    assert reply.text == "Not logged in · Please run /login"
    assert reply.assistant_error == "authentication_failed"
    failure = reply.checked()
    assert not is_successful(failure)
    assert failure.failure().kind is ErrorKind.AUTH


def test_a_usage_limit_keeps_the_rejected_rate_limit() -> None:
    reply = decode(transcript("usage_limit"))

    assert reply.rate_limit is not None
    assert reply.rate_limit.status == "rejected"
    assert reply.api_error_status == 429


def test_an_error_without_result_text_shows_the_assistant_text() -> None:
    reply = decode(transcript("error_max_turns"))

    assert reply.text == "I will run the test suite."
    assert reply.errors == ("Reached maximum number of turns (1)",)
    assert reply.error_message == "Reached maximum number of turns (1)"


def test_a_result_without_is_error_fails_by_its_error_subtype() -> None:
    data = line(type="result", subtype="error_max_turns", num_turns=3)

    reply = decode(data)

    assert reply.outcome is Outcome.ERROR
    assert reply.error_kind is ErrorKind.MAX_TURNS
    assert reply.error_message == "error_max_turns"


def test_a_string_is_error_fails_by_its_error_subtype() -> None:
    data = line(
        type="result",
        subtype="error_during_execution",
        is_error="true",
        errors="tool crashed",
    )

    reply = decode(data)

    assert reply.outcome is Outcome.ERROR
    assert reply.error_kind is ErrorKind.EXECUTION_ERROR
    assert reply.error_message == "tool crashed"


def test_an_error_without_errors_or_text_is_named_by_its_subtype() -> None:
    reply = decode(transcript("error_max_budget_usd"))

    assert reply.error_message == "error_max_budget_usd"


def test_an_error_with_only_a_status_names_the_http_status() -> None:
    reply = decode(line(type="result", is_error=True, api_error_status=503))

    assert reply.error_kind is ErrorKind.API_ERROR
    assert reply.error_message == "API error (HTTP 503)"


def test_a_cut_run_is_truncated_and_keeps_what_it_saw() -> None:
    data = transcript("tool_use")
    cut = data[: data.rindex(b'{"type":"result"') + 40]

    reply = decode(cut)

    assert reply.outcome is Outcome.ERROR
    assert reply.error_kind is ErrorKind.TRUNCATED
    assert reply.session_id == "7a1b2c3d-1111-4222-8333-944455566677"
    assert reply.is_error is None
    assert reply.total_cost_usd is None
    assert "There are three entries" in reply.text
    assert reply.event_counts is not None
    assert reply.event_counts["truncated_line"] == 1
    assert "last line was cut off" in (reply.error_message or "")


def test_empty_output_is_truncated() -> None:
    reply = decode(b"")

    assert reply.error_kind is ErrorKind.TRUNCATED
    assert reply.session_id is None
    assert reply.json_events == 0


def test_the_last_result_wins() -> None:
    data = line(type="result", is_error=True, errors=["first"]) + line(
        type="result",
        is_error=False,
        result="second",
    )

    reply = decode(data)

    assert reply.outcome is Outcome.SUCCESS
    assert reply.text == "second"


def test_a_result_without_session_falls_back_to_the_last_seen() -> None:
    data = line(type="system", subtype="init", session_id="s-1") + line(
        type="result",
        is_error=False,
    )

    reply = decode(data)

    assert reply.session_id == "s-1"


@pytest.mark.parametrize(
    ("fields", "kind"),
    [
        ({"errors": ["No conversation found with session ID: x"]}, "sn"),
        ({"subtype": "error_max_turns", "api_error_status": 401}, "mt"),
        ({"result": "Invalid API key · Fix external API key"}, "auth"),
        ({"api_error_status": 401, "result": "API Error: 401"}, "auth"),
        ({"result": "You've hit your weekly limit · resets Mon"}, "ul"),
        ({"result": "Claude AI usage limit reached|1787410800"}, "ul"),
        ({"result": "Credit balance is too low"}, "ul"),
        (
            {
                "result": "API Error: Server is temporarily limiting "
                "requests (not your usage limit)",
                "api_error_status": 429,
            },
            "api",
        ),
        ({"terminal_reason": "api_error", "result": "odd"}, "api"),
        ({"result": "API Error: 500 Internal server error"}, "api"),
        ({"errors": ["Tool crashed"]}, "exec"),
        ({"subtype": "error_max_structured_output_retries"}, "exec"),
    ],
)
def test_error_kinds_follow_the_reference_order(
    fields: dict[str, object],
    kind: str,
) -> None:
    names = {
        "sn": ErrorKind.SESSION_NOT_FOUND,
        "mt": ErrorKind.MAX_TURNS,
        "auth": ErrorKind.AUTH,
        "ul": ErrorKind.USAGE_LIMIT,
        "api": ErrorKind.API_ERROR,
        "exec": ErrorKind.EXECUTION_ERROR,
    }

    reply = decode(line(type="result", is_error=True, **fields))

    assert reply.error_kind is names[kind]


def test_a_throttled_rate_limit_code_is_an_api_error_not_a_quota() -> None:
    failed_turn = line(
        type="assistant",
        error="rate_limit",
        message={
            "model": "<synthetic>",
            "content": [{"type": "text", "text": "API Error: Request "}],
        },
    )
    result = line(
        type="result",
        is_error=True,
        api_error_status=429,
        result="API Error: Request rejected (429) · this may be a "
        "temporary capacity issue.",
    )

    reply = decode(failed_turn + result)

    assert reply.error_kind is ErrorKind.API_ERROR


def test_a_rejected_rate_limit_makes_a_failed_run_a_usage_limit() -> None:
    data = line(
        type="rate_limit_event",
        rate_limit_info={"status": "rejected"},
    ) + line(type="result", is_error=True, errors=["stopped"])

    reply = decode(data)

    assert reply.error_kind is ErrorKind.USAGE_LIMIT


def test_a_rejected_rate_limit_does_not_fail_a_successful_run() -> None:
    data = line(
        type="rate_limit_event",
        rate_limit_info={"status": "rejected"},
    ) + line(type="result", is_error=False, result="ok")

    reply = decode(data)

    assert reply.outcome is Outcome.SUCCESS


def test_the_builder_fed_event_by_event_agrees_with_decode() -> None:
    data = transcript("partial_messages")
    decoder = StreamDecoder()
    builder = ReplyBuilder()

    for start in range(0, len(data), 7):
        for event in decoder.feed(data[start : start + 7]):
            builder.add(event)
    for event in decoder.finish():
        builder.add(event)

    assert builder.build() == decode(data)


def fed(data: bytes) -> ReplyBuilder:
    decoder = StreamDecoder()
    builder = ReplyBuilder()
    for event in decoder.feed(data) + decoder.finish():
        builder.add(event)

    return builder


def turn(number: int) -> bytes:
    assistant = line(
        type="assistant",
        message={
            "id": f"m{number}",
            "content": [{"type": "text", "text": f"turn {number} " * 50}],
        },
    )
    results = line(
        type="user",
        message={"content": [{"type": "tool_result", "content": "ok"}]},
    )

    return assistant + results


def test_the_builder_holds_only_the_last_turns_text() -> None:
    data = b"".join(turn(number) for number in range(500))
    last = line(
        type="assistant",
        message={"id": "last", "content": [{"type": "text", "text": "Bye."}]},
    )

    builder = fed(data + last)

    assert builder.held_text.strip() == "Bye."
    assert builder.build().text == "Bye."


def test_tool_results_without_new_text_keep_the_last_turns_text() -> None:
    data = b"".join(turn(number) for number in range(3))

    builder = fed(data)

    assert builder.held_text.strip() == ("turn 2 " * 50).strip()
    assert builder.build().text == ("turn 2 " * 50).strip()


def test_a_result_with_text_drops_the_held_text() -> None:
    data = turn(1) + line(type="result", is_error=False, result="Done.")

    builder = fed(data)

    assert builder.held_text == ""
    assert builder.build().text == "Done."


@given(st.binary(max_size=300))
def test_any_output_gets_exactly_one_reply_kind(data: bytes) -> None:
    reply = decode(data, max_line=64)

    if reply.outcome is Outcome.SUCCESS:
        assert reply.error_kind is None
        assert reply.error() is None
    else:
        assert reply.error_kind in REPLY_ERROR_KINDS
        assert reply.error_message
