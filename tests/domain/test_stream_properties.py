import itertools
import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from sandwarden.domain.events import (
    ApiRetry,
    AssistantMessage,
    Event,
    RateLimitEvent,
    ResultEvent,
    StreamEvent,
    TextBlock,
    UnknownEvent,
)
from sandwarden.domain.stream import StreamDecoder

TRANSCRIPTS = Path(__file__).parent.parent / "fixtures" / "transcripts"
FIXTURE_LINES = sorted(
    {
        raw
        for path in TRANSCRIPTS.glob("*.jsonl")
        for raw in path.read_bytes().splitlines(keepends=True)
    },
)

noise_lines = st.binary(max_size=60).filter(lambda raw: b"\n" not in raw)
lines = st.one_of(
    st.sampled_from(FIXTURE_LINES),
    st.sampled_from(FIXTURE_LINES).map(lambda raw: raw[:-1] + b"\r\n"),
    noise_lines.map(lambda raw: raw + b"\n"),
    st.just(b"\n"),
)


@st.composite
def transcripts(draw: st.DrawFn) -> bytes:
    data = b"".join(draw(st.lists(lines, max_size=12)))
    if data and draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return data


def decode_in(chunks: list[bytes], max_line: int) -> list[Event]:
    decoder = StreamDecoder(max_line)
    events: list[Event] = []
    for chunk in chunks:
        events += decoder.feed(chunk)
    return events + decoder.finish()


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({0, len(data), *(c % (len(data) + 1) for c in cuts)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


@settings(max_examples=150)
@given(
    data=transcripts(),
    cuts=st.lists(st.integers(0, 10**6), max_size=40),
    max_line=st.sampled_from([40, 300, 1500, 64 * 1024 * 1024]),
)
def test_any_chunking_yields_the_events_of_one_feed(
    data: bytes,
    cuts: list[int],
    max_line: int,
) -> None:
    whole = decode_in([data], max_line)

    chunked = decode_in(split(data, cuts), max_line)

    assert chunked == whole


@given(
    data=st.binary(max_size=400),
    cuts=st.lists(st.integers(0, 400), max_size=10),
    max_line=st.integers(1, 100),
)
def test_arbitrary_bytes_never_make_the_decoder_raise(
    data: bytes,
    cuts: list[int],
    max_line: int,
) -> None:
    events = decode_in(split(data, cuts), max_line)

    assert all(hasattr(event, "type") for event in events)


@given(
    before=st.lists(noise_lines, max_size=5),
    after=st.lists(noise_lines, max_size=5),
    crlf=st.booleans(),
)
def test_a_result_is_found_whatever_noise_surrounds_it(
    before: list[bytes],
    after: list[bytes],
    crlf: bool,
) -> None:
    end = b"\r\n" if crlf else b"\n"
    result = (TRANSCRIPTS / "success.jsonl").read_bytes().splitlines()[-1]
    data = b"".join(raw + end for raw in [*before, result, *after])

    events = decode_in([data], 64 * 1024 * 1024)

    results = [e for e in events if type(e) is ResultEvent]
    assert len(results) == 1
    assert results[0].result == "The code word is BANANA."
    assert results[0].session_id == "5f0c2a1e-8d7b-4c1a-9e3f-1a2b3c4d5e6f"


texts = st.text(max_size=30)
ids = st.none() | st.text(min_size=1, max_size=12)
counts = st.none() | st.integers(0, 10**6)
amounts = st.none() | st.floats(0, 1e4, allow_nan=False)
extras = st.dictionaries(
    st.text(min_size=1, max_size=8).map(lambda key: "x_" + key),
    st.integers() | texts,
    max_size=3,
)


def dropping_none(**fields: object) -> dict[str, object]:
    return {key: value for key, value in fields.items() if value is not None}


@st.composite
def results(draw: st.DrawFn) -> tuple[dict[str, object], Event]:
    event = ResultEvent(
        session_id=draw(ids),
        subtype=draw(st.none() | st.sampled_from(["success", "error_x"])),
        is_error=draw(st.booleans()),
        result=draw(st.none() | texts),
        errors=tuple(draw(st.lists(texts, max_size=3))),
        total_cost_usd=draw(amounts),
        num_turns=draw(counts),
        api_error_status=draw(st.none() | st.integers(100, 599)),
        terminal_reason=draw(st.none() | texts),
        stop_reason=draw(st.none() | texts),
        duration_ms=draw(amounts),
    )
    fields = dropping_none(
        type="result",
        session_id=event.session_id,
        subtype=event.subtype,
        is_error=event.is_error,
        result=event.result,
        errors=list(event.errors),
        total_cost_usd=event.total_cost_usd,
        num_turns=event.num_turns,
        api_error_status=event.api_error_status,
        terminal_reason=event.terminal_reason,
        stop_reason=event.stop_reason,
        duration_ms=event.duration_ms,
    )
    return fields, event


@st.composite
def assistants(draw: st.DrawFn) -> tuple[dict[str, object], Event]:
    words = draw(st.lists(texts, max_size=3))
    event = AssistantMessage(
        session_id=draw(ids),
        message_id=draw(ids),
        model=draw(st.none() | st.sampled_from(["<synthetic>", "claude"])),
        blocks=tuple(TextBlock(word) for word in words),
        error=draw(st.none() | st.sampled_from(["rate_limit", "unknown"])),
    )
    message = dropping_none(
        id=event.message_id,
        model=event.model,
        content=[{"type": "text", "text": word} for word in words],
    )
    fields = dropping_none(
        type="assistant",
        session_id=event.session_id,
        message=message,
        error=event.error,
    )
    return fields, event


@st.composite
def deltas(draw: st.DrawFn) -> tuple[dict[str, object], Event]:
    event = StreamEvent(
        session_id=draw(ids),
        event_type="content_block_delta",
        delta_type="text_delta",
        text=draw(texts),
        index=draw(st.integers(0, 5)),
    )
    inner = {
        "type": "content_block_delta",
        "index": event.index,
        "delta": {"type": "text_delta", "text": event.text},
    }
    fields = dropping_none(
        type="stream_event",
        session_id=event.session_id,
        event=inner,
    )
    return fields, event


@st.composite
def retries(draw: st.DrawFn) -> tuple[dict[str, object], Event]:
    event = ApiRetry(
        session_id=draw(ids),
        attempt=draw(counts),
        max_retries=draw(counts),
        retry_delay_ms=draw(amounts),
        error_status=draw(st.none() | st.integers(400, 599)),
        error=draw(st.none() | texts),
    )
    fields = dropping_none(
        type="system",
        subtype="api_retry",
        session_id=event.session_id,
        attempt=event.attempt,
        max_retries=event.max_retries,
        retry_delay_ms=event.retry_delay_ms,
        error_status=event.error_status,
        error=event.error,
    )
    return fields, event


@st.composite
def rate_limits(draw: st.DrawFn) -> tuple[dict[str, object], Event]:
    info = dropping_none(
        status=draw(st.sampled_from(["allowed", "rejected"])),
        resetsAt=draw(amounts),
        rateLimitType=draw(st.none() | texts),
        utilization=draw(amounts),
        errorCode=draw(st.none() | texts),
    )
    event = RateLimitEvent(
        session_id=None,
        status=info.get("status"),  # type: ignore[arg-type]
        resets_at=info.get("resetsAt"),  # type: ignore[arg-type]
        rate_limit_type=info.get("rateLimitType"),  # type: ignore[arg-type]
        utilization=info.get("utilization"),  # type: ignore[arg-type]
        error_code=info.get("errorCode"),  # type: ignore[arg-type]
        info=info,
    )
    return {"type": "rate_limit_event", "rate_limit_info": info}, event


@st.composite
def unknowns(draw: st.DrawFn) -> tuple[dict[str, object], Event]:
    kind = "future_" + draw(st.text(min_size=1, max_size=8))
    fields: dict[str, object] = {
        "type": kind,
        "value": draw(st.integers() | texts),
    }
    return fields, UnknownEvent(kind, fields)


@st.composite
def shuffled_with_extras(
    draw: st.DrawFn,
    pair: tuple[dict[str, object], Event],
) -> tuple[dict[str, object], Event]:
    fields, event = pair
    extra = draw(extras) if type(event) is not UnknownEvent else {}
    keys = draw(st.permutations([*fields, *extra]))
    merged = {**fields, **extra}
    return {key: merged[key] for key in keys}, event


valid_events = st.one_of(
    results(),
    assistants(),
    deltas(),
    retries(),
    rate_limits(),
    unknowns(),
).flatmap(shuffled_with_extras)


@given(pairs=st.lists(valid_events, min_size=1, max_size=6))
def test_generated_events_survive_encoding_and_decoding(
    pairs: list[tuple[dict[str, object], Event]],
) -> None:
    data = b"".join(
        json.dumps(fields, ensure_ascii=False).encode() + b"\n"
        for fields, _ in pairs
    )

    events = decode_in([data], 64 * 1024 * 1024)

    assert events == [event for _, event in pairs]
