"""
The process runner against real child processes and real small timers.

Each child is a few lines of Python run with ``sys.executable``; the tests
assert which limit stopped a run, what output reached the caller and that
nothing was left alive, never how fast it went.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest
from returns.pipeline import is_successful
from returns.result import Result

from sandwarden.adapters.process import (
    FEED_SIZE,
    STDERR_TAIL,
    FileInput,
    ProcessExecution,
    StopPolicy,
    ToolOutput,
    run,
    start,
)
from sandwarden.domain.deadlines import Limits, Stop
from sandwarden.domain.errors import (
    ErrorKind,
    UnavailableReason,
    WardenError,
)
from sandwarden.domain.sandbox import ExecResult, Stream

_T = TypeVar("_T")

QUICK = StopPolicy(grace=0.2, cleanup_timeout=0.5)


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False

    # A zombie has ended; whoever adopted it reaps it in its own time.
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def gone_soon(pid: int) -> bool:
    until = time.monotonic() + 2.0
    while alive(pid) and time.monotonic() < until:
        time.sleep(0.02)

    return not alive(pid)


def sync(coroutine: Callable[[], Awaitable[_T]]) -> _T:
    async def main() -> _T:
        return await coroutine()

    return asyncio.run(main())


async def started(
    argv: list[str],
    limits: Limits,
    stdin: bytes | None = None,
    policy: StopPolicy = QUICK,
) -> ProcessExecution:
    result = await start(argv, limits=limits, stdin=stdin, policy=policy)
    assert is_successful(result)

    return result.unwrap()


async def drained(execution: ProcessExecution) -> tuple[bytes, ExecResult]:
    out = bytearray()
    async for chunk in execution.output():
        if chunk.stream is Stream.STDOUT:
            out += chunk.data
    ended = await execution.wait()
    assert is_successful(ended)

    return bytes(out), ended.unwrap()


def test_a_command_that_ends_by_itself_delivers_all_output() -> None:
    async def scenario() -> tuple[bytes, ExecResult]:
        execution = await started(
            python("print('one'); print('two'); raise SystemExit(3)"),
            Limits(hard=10.0, inactivity=5.0),
        )
        return await drained(execution)

    out, ended = sync(scenario)

    assert out == b"one\ntwo\n"
    assert ended.exit_code == 3
    assert ended.stopped is None
    assert ended.stdout_size == len(out)


def test_stdin_is_written_then_closed() -> None:
    prompt = b"x" * 300_000
    code = "import sys; data = sys.stdin.buffer.read(); print(len(data))"

    async def scenario() -> tuple[bytes, ExecResult]:
        execution = await started(
            python(code), Limits(hard=10.0, inactivity=5.0), stdin=prompt
        )
        return await drained(execution)

    out, ended = sync(scenario)

    assert out.strip() == str(len(prompt)).encode()
    assert ended.exit_code == 0


def test_without_stdin_the_command_reads_an_empty_input() -> None:
    code = "import sys; print(len(sys.stdin.buffer.read()))"

    async def scenario() -> tuple[bytes, ExecResult]:
        execution = await started(python(code), Limits(hard=10.0))
        return await drained(execution)

    out, _ = sync(scenario)

    assert out.strip() == b"0"


def test_silence_is_stopped_as_a_stall_and_partial_output_is_kept() -> None:
    code = (
        "import sys, time; print('partial', flush=True); "
        "print('noise', file=sys.stderr, flush=True); time.sleep(30)"
    )

    async def scenario() -> tuple[bytes, ExecResult, int]:
        execution = await started(
            python(code), Limits(hard=20.0, inactivity=0.3)
        )
        out, ended = await drained(execution)
        return out, ended, execution.pid

    out, ended, pid = sync(scenario)

    assert ended.stopped is Stop.STALLED
    assert out == b"partial\n"
    assert ended.stderr_tail == b"noise\n"
    assert not alive(pid)


def test_steady_output_does_not_stall_but_the_hard_limit_stops_it() -> None:
    code = (
        "import time\n"
        "while True:\n"
        "    print('tick', flush=True); time.sleep(0.05)\n"
    )

    async def scenario() -> tuple[bytes, ExecResult]:
        execution = await started(
            python(code), Limits(hard=0.8, inactivity=0.3)
        )
        return await drained(execution)

    out, ended = sync(scenario)

    assert ended.stopped is Stop.HARD_TIMEOUT
    assert out.count(b"tick") >= 2


def test_output_on_stderr_alone_counts_as_activity() -> None:
    code = (
        "import sys, time\n"
        "for _ in range(8):\n"
        "    print('.', file=sys.stderr, flush=True); time.sleep(0.1)\n"
    )

    async def scenario() -> tuple[bytes, ExecResult]:
        execution = await started(
            python(code), Limits(hard=10.0, inactivity=0.4)
        )
        return await drained(execution)

    _, ended = sync(scenario)

    assert ended.stopped is None
    assert ended.exit_code == 0


def test_cancel_stops_the_command_and_leaves_no_process() -> None:
    code = "import time; print('up', flush=True); time.sleep(30)"

    async def scenario() -> tuple[ExecResult, int]:
        execution = await started(python(code), Limits(hard=20.0))
        async for _ in execution.output():
            break
        await execution.cancel()
        ended = await execution.wait()
        return ended.unwrap(), execution.pid

    ended, pid = sync(scenario)

    assert ended.stopped is Stop.CANCELLED
    assert not alive(pid)


def test_cancelling_the_consuming_task_stops_the_command() -> None:
    code = "import time; time.sleep(30)"

    async def scenario() -> tuple[ExecResult, int]:
        execution = await started(python(code), Limits(hard=20.0))

        async def consume() -> None:
            async for _ in execution.output():
                pass

        consumer = asyncio.create_task(consume())
        await asyncio.sleep(0.1)
        consumer.cancel()
        ended = await execution.wait()
        return ended.unwrap(), execution.pid

    ended, pid = sync(scenario)

    assert ended.stopped is Stop.CANCELLED
    assert not alive(pid)


def test_a_process_ignoring_sigterm_is_killed_after_the_grace() -> None:
    code = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN)"
        "; print('ready', flush=True); time.sleep(30)"
    )

    async def scenario() -> tuple[ExecResult, int]:
        execution = await started(
            python(code), Limits(hard=20.0, inactivity=0.3)
        )
        _, ended = await drained(execution)
        return ended, execution.pid

    ended, pid = sync(scenario)

    assert ended.stopped is Stop.STALLED
    assert ended.exit_code == -9
    assert not alive(pid)


def test_grandchildren_are_stopped_with_the_group() -> None:
    code = (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', "
        "'import time; time.sleep(30)'])\n"
        "print(child.pid, flush=True); time.sleep(30)\n"
    )

    async def scenario() -> tuple[bytes, ExecResult]:
        execution = await started(
            python(code), Limits(hard=20.0, inactivity=0.4)
        )
        return await drained(execution)

    out, ended = sync(scenario)

    assert ended.stopped is Stop.STALLED
    assert gone_soon(int(out))


def test_stragglers_left_after_a_natural_end_are_swept() -> None:
    code = (
        "import subprocess, sys\n"
        "child = subprocess.Popen([sys.executable, '-c', "
        "'import time; time.sleep(30)'], stdout=subprocess.DEVNULL, "
        "stderr=subprocess.DEVNULL)\n"
        "print(child.pid, flush=True)\n"
    )

    async def scenario() -> tuple[bytes, ExecResult]:
        execution = await started(python(code), Limits(hard=20.0))
        return await drained(execution)

    out, ended = sync(scenario)

    assert ended.stopped is None
    assert ended.exit_code == 0
    assert gone_soon(int(out))


def test_stderr_is_kept_to_its_last_64_kib() -> None:
    code = (
        "import sys\n"
        "for i in range(40):\n"
        "    sys.stderr.write(f'{i:04d}' * 1024)\n"
        "sys.stderr.write('END')\n"
    )

    async def scenario() -> tuple[bytes, ExecResult]:
        execution = await started(python(code), Limits(hard=10.0))
        return await drained(execution)

    _, ended = sync(scenario)

    assert len(ended.stderr_tail) == STDERR_TAIL
    assert ended.stderr_tail.endswith(b"0039END")


def test_a_slow_consumer_is_back_pressure_not_a_stall() -> None:
    size = 4 * 1024 * 1024
    code = f"import sys; sys.stdout.buffer.write(b'y' * {size})"

    async def scenario() -> tuple[int, ExecResult]:
        execution = await started(
            python(code), Limits(hard=20.0, inactivity=0.3)
        )
        received = 0
        async for chunk in execution.output():
            if received == 0:
                # Longer than the inactivity limit, with the pipe full.
                await asyncio.sleep(0.6)
            received += len(chunk.data)
        ended = await execution.wait()
        return received, ended.unwrap()

    received, ended = sync(scenario)

    assert ended.stopped is None
    assert received == size == ended.stdout_size


def test_waiting_without_reading_output_never_blocks_the_command() -> None:
    size = 5 * 1024 * 1024
    code = f"import sys; sys.stdout.buffer.write(b'z' * {size})"

    async def scenario() -> ExecResult:
        execution = await started(
            python(code), Limits(hard=20.0, inactivity=2.0)
        )
        return (await execution.wait()).unwrap()

    ended = sync(scenario)

    assert ended.stopped is None
    assert ended.exit_code == 0
    assert ended.stdout_size == size


def test_the_cleanup_runs_after_a_stop_and_is_bounded() -> None:
    calls: list[str] = []

    async def cleanup() -> None:
        calls.append("started")
        await asyncio.sleep(30)

    async def scenario() -> ExecResult:
        result = await start(
            python("import time; time.sleep(30)"),
            limits=Limits(hard=0.2),
            policy=StopPolicy(grace=0.2, cleanup_timeout=0.2),
            cleanup=cleanup,
        )
        return (await result.unwrap().wait()).unwrap()

    ended = sync(scenario)

    assert ended.stopped is Stop.HARD_TIMEOUT
    assert calls == ["started"]


def test_the_cleanup_does_not_run_after_a_natural_end() -> None:
    calls: list[str] = []

    async def cleanup() -> None:
        calls.append("ran")

    async def scenario() -> ExecResult:
        result = await start(
            python("print('done')"),
            limits=Limits(hard=10.0),
            policy=QUICK,
            cleanup=cleanup,
        )
        return (await result.unwrap().wait()).unwrap()

    ended = sync(scenario)

    assert ended.exit_code == 0
    assert calls == []


def test_output_may_be_iterated_only_once() -> None:
    async def scenario() -> None:
        execution = await started(python("print(1)"), Limits(hard=10.0))
        async for _ in execution.output():
            pass
        with pytest.raises(RuntimeError, match="only once"):
            async for _ in execution.output():
                pass
        await execution.wait()

    sync(scenario)


def test_a_missing_executable_is_reported_as_tool_missing(
    tmp_path: Path,
) -> None:
    async def scenario() -> Result[ProcessExecution, WardenError]:
        return await start(
            [str(tmp_path / "no-such-tool")], limits=Limits(hard=1.0)
        )

    result = sync(scenario)

    assert not is_successful(result)
    assert result.failure().reason is UnavailableReason.TOOL_MISSING


def test_run_collects_output_and_exit_code() -> None:
    code = "import sys; print('out'); print('err', file=sys.stderr); exit(2)"

    async def scenario() -> Result[ToolOutput, WardenError]:
        return await run(python(code), within=10.0)

    result = sync(scenario)

    assert is_successful(result)
    output = result.unwrap()
    assert (output.exit_code, output.stdout, output.stderr) == (
        2,
        b"out\n",
        b"err\n",
    )


def test_run_of_a_hanging_tool_fails_as_wedged_and_kills_it() -> None:
    code = "import time; print('half', flush=True); time.sleep(30)"

    async def scenario() -> Result[ToolOutput, WardenError]:
        return await run(python(code), within=0.3, policy=QUICK)

    result = sync(scenario)

    assert not is_successful(result)
    error = result.failure()
    assert error.kind is ErrorKind.SANDBOX_UNAVAILABLE
    assert error.reason is UnavailableReason.WEDGED
    assert "0.3 s" in error.message


def test_many_cancelled_runs_leave_no_file_descriptor_open() -> None:
    def open_descriptors() -> int:
        return len(os.listdir("/proc/self/fd"))

    async def scenario() -> int:
        before = open_descriptors()
        for _ in range(20):
            execution = await started(
                python("import time; time.sleep(30)"),
                Limits(hard=20.0),
                stdin=b"prompt",
            )
            await execution.cancel()
        return open_descriptors() - before

    leaked = sync(scenario)

    assert leaked <= 0


def test_the_caller_hears_of_a_stall_before_the_kill_completes() -> None:
    code = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN)"
        "; print('ready', flush=True); time.sleep(30)"
    )

    async def scenario() -> tuple[Stop | None, bool, ExecResult]:
        execution = await started(
            python(code),
            Limits(hard=20.0, inactivity=0.3),
            policy=StopPolicy(grace=1.0, cleanup_timeout=0.5),
        )
        async for _ in execution.output():
            pass
        # The stream has ended; the child ignores TERM for the grace.
        heard, still_running = execution.stopped, alive(execution.pid)
        ended = (await execution.wait()).unwrap()
        return heard, still_running, ended

    heard, still_running, ended = sync(scenario)

    assert heard is Stop.STALLED
    assert still_running
    assert ended.stopped is Stop.STALLED
    assert ended.exit_code == -9


COUNT_STDIN = (
    "import hashlib, sys; data = sys.stdin.buffer.read(); "
    "print(len(data), hashlib.sha256(data).hexdigest())"
)


def test_a_file_is_fed_to_stdin_in_pieces_with_a_running_count(
    tmp_path: Path,
) -> None:
    data = os.urandom(FEED_SIZE * 2 + 12345)
    source = tmp_path / "image.tar"
    source.write_bytes(data)
    fed: list[int] = []

    ran = sync(
        lambda: run(
            python(COUNT_STDIN),
            within=10.0,
            stdin=FileInput(str(source), fed.append),
            policy=QUICK,
        )
    ).unwrap()

    size, digest = ran.stdout.decode().split()
    assert int(size) == len(data)
    assert digest == hashlib.sha256(data).hexdigest()
    assert fed == sorted(fed)
    assert len(fed) == 3
    assert fed[-1] == len(data)


def test_a_file_that_cannot_be_read_gives_the_child_an_empty_stdin(
    tmp_path: Path,
) -> None:
    fed: list[int] = []

    ran = sync(
        lambda: run(
            python(COUNT_STDIN),
            within=10.0,
            stdin=FileInput(str(tmp_path / "absent.tar"), fed.append),
            policy=QUICK,
        )
    ).unwrap()

    assert ran.stdout.decode().split()[0] == "0"
    assert fed == []
