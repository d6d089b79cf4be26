import asyncio
import json

from hypothesis import given, settings
from hypothesis import strategies as st
from returns.pipeline import is_successful

from sandwarden.domain.deadlines import Limits, Stop
from sandwarden.domain.errors import ErrorKind, UnavailableReason
from sandwarden.domain.events import (
    Event,
    NoiseLine,
    OversizedLine,
    RateLimitEvent,
    SystemEvent,
    TruncatedLine,
    UnknownEvent,
)
from sandwarden.domain.reply import Outcome, ReplyBuilder, decode
from sandwarden.domain.sandbox import ExecResult, SandboxSpec, Stream
from sandwarden.domain.stream import StreamDecoder
from sandwarden.domain.values import ImageTag, SandboxName, Workspace
from sandwarden.simulator.claude import OAUTH_EXPIRED, USAGE_LIMIT
from sandwarden.simulator.runtime import SimulatedRuntime
from sandwarden.simulator.world import Behaviour, Plan
from tests.simulator.helpers import NAME, RUN, WORKSPACE, run, simulation


def _result_line(stdout: bytes) -> dict[str, object]:
    lines = [json.loads(x) for x in stdout.splitlines() if x.startswith(b"{")]
    last: dict[str, object] = lines[-1]

    return last


async def _stdout_chunks(
    runtime: SimulatedRuntime, limits: Limits
) -> tuple[ExecResult, list[bytes]]:
    execution = (
        await runtime.exec(
            NAME, RUN, workdir=WORKSPACE, limits=limits, stdin=b"hello"
        )
    ).unwrap()
    chunks = [
        chunk.data
        async for chunk in execution.output()
        if chunk.stream is Stream.STDOUT
    ]

    return (await execution.wait()).unwrap(), chunks


@given(
    piece=st.integers(1, 2048),
    pace=st.floats(0.001, 5.0),
    text=st.text(min_size=1, max_size=200),
    seed=st.integers(0, 2**31),
)
@settings(max_examples=40, deadline=None)
def test_a_slow_drip_reaches_the_consumer_complete_and_in_order(
    piece: int, pace: float, text: str, seed: int
) -> None:
    world, clock, runtime = simulation(seed)
    world.sandboxes[NAME.value].plans.append(
        Plan(Behaviour.SLOW_DRIP, pace=pace, text=text, piece=piece)
    )
    # The same run, one write per line: the bytes the drip must match.
    twin, twin_clock, twin_runtime = simulation(seed)
    twin.sandboxes[NAME.value].plans.append(
        Plan(Behaviour.NORMAL, pace=pace, text=text)
    )
    limits = Limits(hard=1e9)

    result, chunks = clock.run(_stdout_chunks(runtime, limits))
    _, whole, _ = twin_clock.run(run(twin_runtime, limits=limits))

    stdout = b"".join(chunks)
    assert stdout == whole
    assert [len(x) for x in chunks[:-1]] == [piece] * (len(chunks) - 1)
    assert 1 <= len(chunks[-1]) <= piece
    assert result.exit_code == 0
    assert result.stdout_size == len(stdout)
    assert _result_line(stdout)["result"] == text
    assert world.sandboxes[NAME.value].processes == {}


def _events(stdout: bytes) -> list[Event]:
    decoder = StreamDecoder()
    return decoder.feed(stdout) + decoder.finish()


def test_unknown_events_pass_through_and_the_run_still_succeeds() -> None:
    world, clock, runtime = simulation()
    world.sandboxes[NAME.value].plans.append(Plan(Behaviour.UNKNOWN_EVENTS))

    result, stdout, _ = clock.run(run(runtime))

    events = _events(stdout)
    unknown = [e for e in events if isinstance(e, UnknownEvent)]
    assert [(e.type, e.data["payload"]) for e in unknown] == [
        ("sandwarden_future_type", {"nested": [1, 2, 3]}),
    ]
    assert [e.subtype for e in events if isinstance(e, SystemEvent)] == [
        "sandwarden_future_subtype"
    ]
    assert [e.head for e in events if isinstance(e, NoiseLine)] == [
        "[SandboxDebug] proxy ready",
    ]
    assert [e.status for e in events if isinstance(e, RateLimitEvent)] == [
        "allowed"
    ]
    reply = decode(stdout)
    assert (reply.outcome, reply.error_kind) == (Outcome.SUCCESS, None)
    assert reply.text == "You said: hello"
    assert result.exit_code == 0


def test_a_truncated_run_decodes_as_truncated_after_its_cut_line() -> None:
    world, clock, runtime = simulation()
    world.sandboxes[NAME.value].plans.append(Plan(Behaviour.TRUNCATED))

    result, stdout, _ = clock.run(run(runtime))

    reply = decode(stdout)
    assert (reply.outcome, reply.error_kind) == (
        Outcome.ERROR,
        ErrorKind.TRUNCATED,
    )
    assert isinstance(_events(stdout)[-1], TruncatedLine)
    assert "last line was cut off" in (reply.error_message or "")
    assert result.exit_code == 1


def test_a_usage_limit_run_decodes_as_a_usage_limit() -> None:
    world, clock, runtime = simulation()
    world.sandboxes[NAME.value].plans.append(Plan(Behaviour.USAGE_LIMIT))

    result, stdout, _ = clock.run(run(runtime))

    reply = decode(stdout)
    assert (reply.outcome, reply.error_kind) == (
        Outcome.ERROR,
        ErrorKind.USAGE_LIMIT,
    )
    assert reply.error_message == USAGE_LIMIT
    assert reply.rate_limit is not None
    assert reply.rate_limit.status == "rejected"
    assert result.exit_code == 1


def test_a_max_turns_run_decodes_as_max_turns() -> None:
    world, clock, runtime = simulation()
    world.sandboxes[NAME.value].plans.append(Plan(Behaviour.MAX_TURNS))

    result, stdout, _ = clock.run(run(runtime))

    reply = decode(stdout)
    assert (reply.outcome, reply.error_kind) == (
        Outcome.ERROR,
        ErrorKind.MAX_TURNS,
    )
    assert reply.subtype == "error_max_turns"
    assert reply.error_message == "Reached maximum number of turns (1)"
    assert result.exit_code == 1


def test_a_line_over_the_decoders_cap_is_skipped_and_the_run_finishes() -> (
    None
):
    world, clock, runtime = simulation()
    size = 200_000
    world.sandboxes[NAME.value].plans.append(
        Plan(Behaviour.OVERSIZED_LINE, size=size)
    )
    decoder, builder = StreamDecoder(max_line=size // 2), ReplyBuilder()

    result, chunks = clock.run(_stdout_chunks(runtime, Limits(hard=600)))
    events = [e for chunk in chunks for e in decoder.feed(chunk)]
    events += decoder.finish()
    for event in events:
        builder.add(event)

    line = b"".join(chunks).split(b"\n")[1]
    (oversized,) = [e for e in events if isinstance(e, OversizedLine)]
    assert oversized.size == len(line) > 2 * size
    assert oversized.head.startswith('{"type":"user"')
    reply = builder.build()
    assert (reply.outcome, reply.text) == (Outcome.SUCCESS, "You said: hello")
    assert result.exit_code == 0


def test_the_default_oversized_line_fits_the_decoders_default_cap() -> None:
    world, clock, runtime = simulation()
    world.sandboxes[NAME.value].plans.append(Plan(Behaviour.OVERSIZED_LINE))

    _, stdout, _ = clock.run(run(runtime))

    counts = decode(stdout).event_counts or {}
    assert (counts.get("user"), counts.get("oversized_line")) == (1, None)


def test_a_stall_is_stopped_by_the_inactivity_limit_at_its_instant() -> None:
    world, clock, runtime = simulation()
    world.sandboxes[NAME.value].plans.append(Plan(Behaviour.STALL, pace=1.0))

    result, stdout, _ = clock.run(
        run(runtime, limits=Limits(hard=600.0, inactivity=30.0))
    )

    assert result.stopped is Stop.STALLED
    assert stdout.count(b"\n") == 2
    # 0.2 s of exec latency, two lines 1 s apart, then 30 s of silence.
    assert result.ended - result.started == 32.2
    assert world.sandboxes[NAME.value].processes == {}


def test_a_hang_is_stopped_by_the_hard_limit() -> None:
    world, clock, runtime = simulation()
    world.sandboxes[NAME.value].plans.append(Plan(Behaviour.HANG))

    result, stdout, _ = clock.run(run(runtime, limits=Limits(hard=45.0)))

    assert (result.stopped, stdout) == (Stop.HARD_TIMEOUT, b"")
    assert result.duration == 45.0


def test_a_missing_bypass_permission_hangs_until_the_limit() -> None:
    _, clock, runtime = simulation()
    command = RUN[:-2]

    result, stdout, stderr = clock.run(
        run(runtime, command, limits=Limits(hard=600, inactivity=60))
    )

    assert (result.stopped, stdout, stderr) == (Stop.STALLED, b"", b"")


def test_cancel_stops_the_run_and_clears_its_process() -> None:
    world, clock, runtime = simulation()
    world.sandboxes[NAME.value].plans.append(Plan(Behaviour.HANG))

    async def main() -> Stop | None:
        execution = (
            await runtime.exec(
                NAME,
                RUN,
                workdir=WORKSPACE,
                limits=Limits(hard=None),
                stdin=b"hi",
            )
        ).unwrap()
        await clock.sleep(5)
        assert world.sandboxes[NAME.value].processes
        await execution.cancel()
        await execution.cancel()
        return (await execution.wait()).unwrap().stopped

    assert clock.run(main()) is Stop.CANCELLED
    assert world.sandboxes[NAME.value].processes == {}


def test_the_clean_up_script_ends_the_marked_run() -> None:
    world, clock, runtime = simulation()
    world.sandboxes[NAME.value].plans.append(Plan(Behaviour.HANG))

    async def main() -> int | None:
        execution = (
            await runtime.exec(
                NAME,
                RUN,
                workdir=WORKSPACE,
                limits=Limits(hard=None),
                env={"SANDWARDEN_RUN": "run-7"},
                stdin=b"hi",
            )
        ).unwrap()
        stop = ("sh", "-c", "...", "sandwarden-stop", "run-7", "TERM")
        await run(runtime, stop)
        return (await execution.wait()).unwrap().exit_code

    assert clock.run(main()) == 143
    assert world.sandboxes[NAME.value].processes == {}


def test_a_login_expiring_mid_run_turns_the_rest_into_an_auth_failure() -> (
    None
):
    world, clock, runtime = simulation()
    sandbox = world.sandboxes[NAME.value]
    sandbox.plans.append(Plan(Behaviour.NORMAL, pace=10.0))
    sandbox.login.expires_at = clock.time() + 15.0

    result, stdout, _ = clock.run(run(runtime))

    lines = [json.loads(x) for x in stdout.splitlines()]
    assert [line["type"] for line in lines] == [
        "system",
        "assistant",
        "result",
    ]
    assert lines[1]["error"] == "authentication_failed"
    assert lines[2]["result"] == OAUTH_EXPIRED
    assert result.exit_code == 1


def test_exec_with_another_workdir_fails_with_no_output_at_all() -> None:
    _, clock, runtime = simulation()

    async def main() -> tuple[int | None, bytes, bytes]:
        execution = (
            await runtime.exec(
                NAME,
                RUN,
                workdir=Workspace("/srv/other"),
                limits=Limits(hard=60),
            )
        ).unwrap()
        chunks = [chunk async for chunk in execution.output()]
        result = (await execution.wait()).unwrap()
        return result.exit_code, b"".join(c.data for c in chunks), b""

    code, output, _ = clock.run(main())

    assert (code, output) == (1, b"")


def test_exec_on_a_missing_sandbox_prints_the_tools_sentence() -> None:
    _, clock, runtime = simulation()

    async def main() -> bytes:
        execution = (
            await runtime.exec(
                SandboxName("ghost"), RUN, workdir=WORKSPACE, limits=Limits(9)
            )
        ).unwrap()
        chunks = [c async for c in execution.output()]
        return b"".join(c.data for c in chunks if c.stream is Stream.STDERR)

    assert clock.run(main()) == b"no sandbox found in 'ghost'\n"


def test_resume_works_until_the_sandbox_is_removed() -> None:
    _, clock, runtime = simulation()

    async def main() -> tuple[str, str]:
        _, first, _ = await run(runtime, stdin=b"code word: HERON")
        session = str(_result_line(first)["session_id"])
        resume = (*RUN, f"--resume={session}")
        _, second, _ = await run(runtime, resume, stdin=b"which word?")
        await runtime.remove(NAME)
        await runtime.create(SandboxSpec(NAME, WORKSPACE))
        _, _, third = await run(runtime, resume, stdin=b"again?")
        return str(_result_line(second)["result"]), third.decode()

    remembered, lost = clock.run(main())

    assert "HERON" in remembered
    assert "No conversation found with session ID" in lost


def test_auth_status_reads_logged_out_as_success_not_logged_in() -> None:
    world, clock, runtime = simulation()
    world.sandboxes[NAME.value].login.expires_at = 0.0

    status = clock.run(runtime.auth_status(NAME, WORKSPACE, Limits(30)))

    assert status.unwrap().logged_in is False


def test_auth_status_falls_back_to_the_plain_form_on_old_clis() -> None:
    world, clock, runtime = simulation()
    world.sandboxes[NAME.value].claude.auth_json = False

    status = clock.run(runtime.auth_status(NAME, WORKSPACE, Limits(30)))

    assert status.unwrap().logged_in is True


def test_a_template_carries_the_login_to_a_new_sandbox() -> None:
    _, clock, runtime = simulation()
    tag = ImageTag("warden-auth")
    other = SandboxName("other")

    async def main() -> bool:
        (await runtime.save(NAME, tag)).unwrap()
        spec = SandboxSpec(other, WORKSPACE, template=tag)
        (await runtime.create(spec)).unwrap()
        status = await runtime.auth_status(other, WORKSPACE, Limits(30))
        return status.unwrap().logged_in

    assert clock.run(main()) is True


def test_an_exported_tar_loads_back_with_its_tags() -> None:
    world, clock, runtime = simulation()
    tag = ImageTag("warden-auth")

    async def main() -> tuple[ImageTag, ...]:
        (await runtime.save(NAME, tag)).unwrap()
        (await runtime.image_export(tag, "/b/a.tar")).unwrap()
        world.tags.clear()
        return (await runtime.image_load("/b/a.tar")).unwrap()

    assert clock.run(main()) == (tag,)


def test_a_wedged_daemon_fails_calls_after_the_runtimes_deadline() -> None:
    world, clock, runtime = simulation()
    world.daemon_wedged = True
    before = clock.monotonic()

    listed = clock.run(runtime.list())

    assert not is_successful(listed)
    assert listed.failure().reason is UnavailableReason.WEDGED
    assert clock.monotonic() - before == 60.0


def test_operations_run_concurrently_on_one_clock() -> None:
    world, clock, runtime = simulation()
    world.sandboxes[NAME.value].plans.append(Plan(Behaviour.HANG))

    async def main() -> list[object]:
        return list(
            await asyncio.gather(
                run(runtime, limits=Limits(hard=100)),
                runtime.git_head(NAME, WORKSPACE),
            ),
        )

    hung, head = clock.run(main())

    assert hung[0].stopped is Stop.HARD_TIMEOUT  # type: ignore[index]
    assert head.unwrap() == "a" * 40  # type: ignore[attr-defined]


def test_errors_name_the_kind_the_specification_gives() -> None:
    world, clock, runtime = simulation()
    world.image_store_up = False

    saved = clock.run(runtime.save(NAME, ImageTag("t")))

    assert saved.failure().kind is ErrorKind.DESKTOP_REQUIRED
