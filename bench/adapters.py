"""
Benchmarks of the process runner and the CLI adapters.

Run with ``python -m bench.adapters`` (``--quick`` for fewer rounds). The
last line printed is one JSON object with every figure and whether each
target holds. Every round drives DockerSandboxCli over the fake `docker`
(``FakeTools``), so the in-sandbox side is real processes too: the fake
client relays a process started "inside" in a session of its own, and a
stopped run ends with the adapter's clean-up exec (``STOP_SCRIPT``).

- overhead: one `docker sandbox exec ... claude` through DockerSandboxCli
  against spawning the same fake `docker` directly; the median extra time
  must stay under 15 ms or 0.2 of the direct time, whichever is larger;
- stall: a scripted Claude reply that prints its first lines, then
  nothing; how long after the inactivity limit the stalled outcome
  reaches the caller (``output()`` ends and ``stopped`` says so), over 50
  runs, at most 100 ms late; the clean-up, in-sandbox stop included
  (``wait()``), within grace + 2 s; nothing left running inside;
- cancel: 1000 runs cancelled once the command runs inside the sandbox
  leave no local process, no process inside and no open file descriptor;
  they run four at a time (each costs several fake-tool processes);
- memory: peak resident memory of this process while a command in the
  sandbox prints 200 MB of 100-byte lines through the adapter stays under
  100 MB.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from sandwarden.adapters.docker_sandbox import DockerSandboxCli
from sandwarden.adapters.process import ProcessExecution, StopPolicy
from sandwarden.domain.deadlines import Limits, Stop
from sandwarden.domain.invocation import ClaudeRun
from sandwarden.domain.values import SandboxName, Workspace
from sandwarden.simulator.fakes import FakeTools
from sandwarden.simulator.world import Behaviour, Plan

GRACE = 0.5
INACTIVITY = 0.3
# The in-sandbox clean-up is a fake `docker sandbox exec` of its own.
CLEANUP = 5.0
CANCEL_AT_ONCE = 4


async def overhead(rounds: int) -> dict[str, float | bool]:
    """Median time of an exec through the adapter and of the bare fake."""
    with tempfile.TemporaryDirectory() as raw:
        root = Path(raw)
        workspace = root / "ws"
        workspace.mkdir()
        tools = FakeTools(root, time_scale=0.0)
        tools.add_sandbox("bench", str(workspace))
        env = tools.environment()
        adapter = DockerSandboxCli(env=env)
        name, ws = SandboxName("bench"), Workspace(str(workspace))
        argv = ClaudeRun().argv()
        direct = [
            str(tools.bin_dir / "docker"),
            "sandbox",
            "exec",
            "-i",
            "-w",
            str(workspace),
            "bench",
            *argv,
        ]

        async def through_adapter() -> float:
            began = time.perf_counter()
            execution = (
                await adapter.exec(
                    name, argv, workdir=ws, limits=Limits(30.0), stdin=b"hi"
                )
            ).unwrap()
            async for _ in execution.output():
                pass
            await execution.wait()
            return time.perf_counter() - began

        async def bare() -> float:
            began = time.perf_counter()
            process = await asyncio.create_subprocess_exec(
                *direct,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=env,
            )
            await process.communicate(b"hi")
            return time.perf_counter() - began

        adapter_times, bare_times = [], []
        for _ in range(rounds):
            bare_times.append(await bare())
            adapter_times.append(await through_adapter())

    adapter_ms = statistics.median(adapter_times) * 1000
    bare_ms = statistics.median(bare_times) * 1000
    allowed = max(15.0, 0.2 * bare_ms)

    return {
        "exec_adapter_median_ms": round(adapter_ms, 2),
        "exec_direct_median_ms": round(bare_ms, 2),
        "exec_overhead_ms": round(adapter_ms - bare_ms, 2),
        "exec_overhead_allowed_ms": round(allowed, 2),
        "exec_overhead_ok": adapter_ms - bare_ms <= allowed,
    }


async def stall(runs: int) -> dict[str, float | bool]:
    """Lateness of the stalled outcome, and time to a complete clean-up."""
    late, cleaned, left = [], [], 0
    async with _bench_sandbox() as (tools, adapter, workspace):
        for _ in range(runs):
            tools.queue_reply("bench", Plan(Behaviour.STALL))
            execution = await _exec(
                adapter,
                workspace,
                ClaudeRun().argv(),
                Limits(30.0, INACTIVITY),
                stdin=b"hi",
            )
            last = time.perf_counter()
            async for _ in execution.output():
                last = time.perf_counter()
            heard = time.perf_counter()
            assert execution.stopped is Stop.STALLED
            await execution.wait()
            late.append(heard - last - INACTIVITY)
            cleaned.append(time.perf_counter() - heard)
            left += len(tools.alive("bench"))
    late_ms = sorted(x * 1000 for x in late)

    return {
        "stall_runs": runs,
        "stall_late_ms_min": round(late_ms[0], 2),
        "stall_late_ms_median": round(statistics.median(late_ms), 2),
        "stall_late_ms_p95": round(late_ms[int(0.95 * (runs - 1))], 2),
        "stall_late_ms_max": round(late_ms[-1], 2),
        "stall_ok": late_ms[-1] <= 100.0,
        "stall_cleanup_s_max": round(max(cleaned), 3),
        "stall_cleanup_ok": max(cleaned) <= GRACE + 2.0 and left == 0,
        "stall_left_inside": left,
    }


async def cancels(runs: int) -> dict[str, float | bool]:
    """Cancel many runs; count processes and descriptors left behind."""
    command = ["sh", "-c", "echo up; exec sleep 60"]
    pids: list[int] = []
    async with _bench_sandbox() as (tools, adapter, workspace):
        before = _descriptors()
        room = asyncio.Semaphore(CANCEL_AT_ONCE)

        async def cancel_one() -> Stop | None:
            async with room:
                execution = await _exec(
                    adapter, workspace, command, Limits(30.0)
                )
                pids.append(execution.pid)
                output = execution.output()
                # The first line proves the command runs inside.
                await anext(output)
                await execution.cancel()
                async for _ in output:
                    pass
                return (await execution.wait()).unwrap().stopped

        stops = await asyncio.gather(*(cancel_one() for _ in range(runs)))
        leaked = _descriptors() - before
        inside = len(tools.alive())
    left = [pid for pid in pids if _alive(pid)]

    return {
        "cancel_runs": runs,
        "cancel_all_cancelled": all(s is Stop.CANCELLED for s in stops),
        "cancel_processes_left": len(left),
        "cancel_inside_left": inside,
        "cancel_descriptors_leaked": leaked,
        "cancel_ok": not left and not inside and leaked <= 0,
    }


async def memory(megabytes: int) -> dict[str, float | bool]:
    """Peak RSS while the sandbox prints ``megabytes`` MB of 100-byte lines."""
    line = "x" * 99
    command = ["sh", "-c", f"yes {line} | head -c {megabytes * 1000000}"]
    async with _bench_sandbox() as (_, adapter, workspace):
        execution = await _exec(
            adapter, workspace, command, Limits(300.0, 30.0)
        )
        received = 0
        async for chunk in execution.output():
            received += len(chunk.data)
        ended = (await execution.wait()).unwrap()
    # ru_maxrss is in KiB on Linux.
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    return {
        "memory_printed_mb": round(ended.stdout_size / 1e6, 1),
        "memory_received_mb": round(received / 1e6, 1),
        "memory_peak_rss_mb": round(peak_mb, 1),
        "memory_ok": peak_mb < 100
        and received == ended.stdout_size == megabytes * 1000000,
    }


@contextlib.asynccontextmanager
async def _bench_sandbox() -> AsyncIterator[
    tuple[FakeTools, DockerSandboxCli, Workspace]
]:
    """A fake `docker` with one running sandbox, and the adapter on it."""
    with tempfile.TemporaryDirectory() as raw:
        root = Path(raw)
        workspace = root / "ws"
        workspace.mkdir()
        tools = FakeTools(root, time_scale=0.0)
        tools.add_sandbox("bench", str(workspace))
        adapter = DockerSandboxCli(
            env=tools.environment(),
            policy=StopPolicy(grace=GRACE, cleanup_timeout=CLEANUP),
        )
        yield tools, adapter, Workspace(str(workspace))


async def _exec(
    adapter: DockerSandboxCli,
    workspace: Workspace,
    command: Sequence[str],
    limits: Limits,
    stdin: bytes | None = None,
) -> ProcessExecution:
    started = await adapter.exec(
        SandboxName("bench"),
        command,
        workdir=workspace,
        limits=limits,
        stdin=stdin,
    )
    return started.unwrap()


def _descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


async def main(quick: bool) -> dict[str, float | bool]:
    figures: dict[str, float | bool] = {}
    # Memory first: ru_maxrss only ever grows.
    figures |= await memory(20 if quick else 200)
    figures |= await overhead(5 if quick else 20)
    figures |= await stall(10 if quick else 50)
    figures |= await cancels(100 if quick else 1000)

    return figures


if __name__ == "__main__":
    result = asyncio.run(main("--quick" in sys.argv))
    for key, value in result.items():
        print(f"{key:32} {value}")
    print(json.dumps(result, sort_keys=True))
