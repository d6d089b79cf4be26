import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sandwarden.domain import live_text
from sandwarden.domain.live_text import LiveText
from sandwarden.domain.stream import StreamDecoder

TRANSCRIPTS = Path(__file__).parent.parent / "fixtures" / "transcripts"


def shown(data: bytes, *, include_errors: bool = False) -> list[str]:
    decoder = StreamDecoder()
    live = LiveText(include_errors=include_errors)
    pieces = [live.feed(event) for event in decoder.feed(data)]
    pieces += [live.feed(event) for event in decoder.finish()]
    return [piece for piece in pieces if piece]


def line(**fields: object) -> bytes:
    return json.dumps(fields).encode() + b"\n"


def delta(text: str, index: int = 0) -> bytes:
    event = {
        "type": "content_block_delta",
        "index": index,
        "delta": {"type": "text_delta", "text": text},
    }
    return line(type="stream_event", event=event)


def start(message_id: str) -> bytes:
    event = {"type": "message_start", "message": {"id": message_id}}
    return line(type="stream_event", event=event)


def assistant(message_id: str | None, *texts: str) -> bytes:
    content = [{"type": "text", "text": text} for text in texts]
    message = {"id": message_id, "model": "claude", "content": content}
    return line(type="assistant", message=message)


def result(text: str, *, is_error: bool = False) -> bytes:
    return line(type="result", result=text, is_error=is_error)


def test_deltas_are_shown_as_they_arrive_and_not_repeated() -> None:
    data = (TRANSCRIPTS / "partial_messages.jsonl").read_bytes()

    pieces = shown(data)

    assert pieces == ["Hello", ", wörld", "! 👋", "\nToday is ", "Saturday."]


def test_without_deltas_each_assistant_text_is_shown_once() -> None:
    data = (TRANSCRIPTS / "tool_use.jsonl").read_bytes()

    pieces = shown(data)

    assert "".join(pieces) == (
        "Let me look at the directory.\n"
        "There are three entries: README.md, src and tests."
    )


def test_the_specifications_bare_deltas_are_not_repeated() -> None:
    data = (TRANSCRIPTS / "specification_form.jsonl").read_bytes()

    pieces = shown(data)

    assert pieces == ["Here is ", "my response..."]


def test_a_result_nobody_showed_yet_is_shown() -> None:
    data = result("Only the result said this.")

    pieces = shown(data)

    assert pieces == ["Only the result said this."]


def test_the_rest_of_a_block_cut_short_by_deltas_is_shown() -> None:
    data = start("m1") + delta("Hel") + assistant("m1", "Hello there")

    pieces = shown(data)

    assert "".join(pieces) == "Hello there"


def test_blocks_of_one_message_on_separate_lines_are_each_matched() -> None:
    data = (
        start("m1")
        + delta("First ", 0)
        + delta("block.", 0)
        + assistant("m1", "First block.")
        + delta("Second block.", 2)
        + assistant("m1", "Second block.")
        + result("Second block.")
    )

    pieces = shown(data)

    assert "".join(pieces) == "First block.\nSecond block."


def test_a_second_turn_with_its_own_message_is_shown_too() -> None:
    tool_results = line(
        type="user",
        message={
            "content": [
                {"type": "tool_result", "tool_use_id": "t", "content": "ok"},
            ],
        },
    )
    data = (
        start("m1")
        + delta("Checking.")
        + assistant("m1", "Checking.")
        + tool_results
        + assistant("m2", "All good.")
        + result("All good.")
    )

    pieces = shown(data)

    assert "".join(pieces) == "Checking.\nAll good."


def test_the_same_words_in_two_turns_are_both_shown() -> None:
    tool_results = line(
        type="user",
        message={"content": [{"type": "tool_result", "content": "x"}]},
    )
    data = (
        assistant("m1", "Done.")
        + tool_results
        + assistant("m2", "Done.")
        + result("Done.")
    )

    pieces = shown(data)

    assert "".join(pieces) == "Done.\nDone."


def test_failed_turns_are_left_to_the_reply_by_default() -> None:
    data = (TRANSCRIPTS / "auth_not_logged_in.jsonl").read_bytes()

    hidden = shown(data)
    included = shown(data, include_errors=True)

    assert hidden == []
    assert included == ["Not logged in · Please run /login"]


@given(
    words=st.lists(
        st.text(alphabet="abc .", min_size=1, max_size=8),
        min_size=1,
        max_size=4,
    ),
    messages=st.integers(1, 3),
)
def test_streamed_runs_show_every_text_exactly_once(
    words: list[str],
    messages: int,
) -> None:
    data = b""
    for number in range(messages):
        message_id = f"m{number}"
        data += start(message_id)
        for word in words:
            data += delta(word)
        data += assistant(message_id, "".join(words))
    data += result("".join(words))

    text = "".join(shown(data))

    assert text == "\n".join(["".join(words)] * messages)


def tool_results() -> bytes:
    return line(
        type="user",
        message={"content": [{"type": "tool_result", "content": "x"}]},
    )


@pytest.mark.parametrize("answer", ["A\n\nB", "AB", "A B", "B"])
def test_a_result_is_not_repeated_after_its_turn_was_shown(
    answer: str,
) -> None:
    data = assistant("m1", "A") + assistant("m1", "B") + result(answer)

    pieces = shown(data)

    assert pieces == ["A", "\nB"]


def test_a_result_is_not_repeated_after_streamed_blocks() -> None:
    data = (
        start("m1")
        + delta("A", 0)
        + assistant("m1", "A")
        + delta("B", 1)
        + assistant("m1", "B")
        + result("A\n\nB")
    )

    pieces = shown(data)

    assert pieces == ["A", "\nB"]


def test_a_result_after_a_turn_that_showed_nothing_is_shown() -> None:
    data = assistant("m1", "Checking.") + tool_results() + result("Done.")

    pieces = shown(data)

    assert pieces == ["Checking.", "\nDone."]


@pytest.mark.parametrize(
    ("deltas", "full", "expected"),
    [
        (["Hello "], "Hello", "Hello "),
        (["Hello", " "], "Hello", "Hello "),
        (["Hello"], "Hello\n", "Hello\n"),
        (["  Hello"], "Hello", "  Hello"),
        (["Hello "], "Hello world", "Hello world"),
        (["Hello\n"], "Hello\n\nworld", "Hello\n\nworld"),
        (["Hel"], "Hello there", "Hello there"),
    ],
)
def test_a_full_line_differing_only_in_whitespace_is_not_repeated(
    deltas: list[str],
    full: str,
    expected: str,
) -> None:
    data = start("m1")
    for text in deltas:
        data += delta(text)
    data += assistant("m1", full) + result(full)

    text = "".join(shown(data))

    assert text == expected


@given(
    words=st.lists(
        st.text(alphabet="ab", min_size=1, max_size=4),
        min_size=1,
        max_size=4,
    ),
    padding=st.lists(
        st.sampled_from(["", " ", "\n", " \n"]),
        min_size=4,
        max_size=4,
    ),
)
def test_whitespace_around_the_deltas_never_repeats_a_block(
    words: list[str],
    padding: list[str],
) -> None:
    body = " ".join(words)
    data = start("m1") + delta(padding[0] + body + padding[1])
    data += assistant("m1", padding[2] + body + padding[3])
    data += result(body)

    text = "".join(shown(data))

    assert text.strip() == body


@given(
    st.text(st.sampled_from("ab \n\t"), max_size=12),
    st.text(st.sampled_from("ab \n\t"), max_size=12),
)
def test_matching_a_full_line_to_its_deltas_takes_the_fast_path_safely(
    text: str, streamed: str
) -> None:
    fast = live_text._rest(text, streamed)

    assert fast == live_text._walk(text, streamed)
