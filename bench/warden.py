"""
The warden's own cost, against the fake ``docker`` (real processes).

Run with ``python bench/warden.py [--iterations N]``. It measures:

- ``exec``: ``DockerSandboxCli.exec`` of the claude run ``Warden.ask``
  makes, whose reply is about 1 KB, read to the end;
- ``ask``: ``Warden.ask`` of the same reply with the probe cached
  (warmed first), without and with a conversation (the state store's
  read and write per turn);
- ``probe``: ``Warden.probe`` of one sandbox, and of 20 sandboxes at
  once (``asyncio.gather``).

Exec and ask alternate, so a drift of the machine hits both alike; the
figures are medians in milliseconds. The targets: ask within 5 percent
of exec; 20 concurrent probes within 4 times one probe. The last line
of output is one JSON object with the figures and a pass flag per
target.

The fake tools are Python processes: each tool call costs tens of
milliseconds of CPU (a probe makes three processes: the list, the exec
client and the process "inside" the sandbox), where the real tools are
Go binaries whose time goes mostly to waiting on the VM. On a machine
with few cores the fan-out then measures the fakes' CPU more than the
warden: ``probe_twenty_cpu_floor_ms`` is the least time 20 probes can
take with every core busy running the fakes, and
``probe_fanout_cpu_bound`` says whether that floor alone exceeds the
target. A second, separately labelled measurement (keys starting with
``emulated_``) repeats the probes with ``SANDWARDEN_FAKE_LATENCY`` set,
each tool call sleeping that long first as a real tool waits on its VM;
it checks that the warden probes concurrently rather than one after
another. It is not the plain figure, and its flag is not the target's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from returns.pipeline import is_successful

from sandwarden import SandboxName, Warden, bootstrap, load_settings
from sandwarden.adapters.docker_sandbox import DockerSandboxCli
from sandwarden.domain.invocation import ClaudeRun
from sandwarden.simulator.fakes import LATENCY_ENV, FakeTools
from sandwarden.simulator.world import Plan

_REPLY = ("The sandbox is healthy and the build is green. " * 22)[:1024]
_PROMPT = "Say how the build is."
_FANOUT = 20
# Replies stream with no scripted delay: only the machinery is timed.
_TIME_SCALE = 0.0
_ASK_TARGET = 0.05
_FANOUT_TARGET = 4.0
# The emulated wait of each tool call on its VM, in seconds. An assumed
# figure, not a measured one; kept low, since a longer wait would hide
# more of the fakes' CPU and flatter the ratio.
_EMULATED_LATENCY = 0.25


def main() -> int:
    """Run the three measurements; print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--iterations", type=int, default=40)
    parser.add_argument("--probes", type=int, default=10)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        workspace = root / "workspace"
        workspace.mkdir()
        tools = FakeTools(root / "fakes", time_scale=_TIME_SCALE)
        for index in range(_FANOUT):
            tools.add_sandbox(_name(index).value, workspace)
        with tools.change() as state:
            state.world.default_plan = Plan(text=_REPLY, pace=0.0)
        os.environ.update(tools.environment())
        warden = _warden(root, workspace)
        figures = asyncio.run(_measure(warden, args.iterations, args.probes))
        warden.close()

    for key, value in figures.items():
        print(f"{key:>28}: {value}")
    print(json.dumps(figures))

    return 0


def _warden(root: Path, workspace: Path) -> Warden:
    environ = {
        "PATH": os.environ["PATH"],
        "SANDWARDEN_RUNTIME": "docker",
        "SANDWARDEN_STATE_DIR": str(root / "state"),
        "CLAUDE_SANDBOX_NAME": _name(0).value,
        "BOT_RUNTIME_DIR": str(workspace),
        # Trust a probe for the whole run: the ask figure is the turn's.
        "SANDWARDEN_PROBE_CACHE_MS": "3600000",
    }
    settings = load_settings(environ, {}, str(workspace), str(root))

    return bootstrap(settings.unwrap()).unwrap()


async def _measure(
    warden: Warden,
    iterations: int,
    probes: int,
) -> dict[str, float | bool]:
    config = warden.config
    adapter = DockerSandboxCli()
    argv = ClaudeRun(
        model=config.model,
        system_prompt=config.system_prompt,
        partial_messages=config.partial_messages,
    ).argv()

    async def direct() -> None:
        started = await adapter.exec(
            config.sandbox,
            argv,
            workdir=config.workspace,
            limits=config.prompt_limits,
            stdin=_PROMPT.encode(),
        )
        execution = started.unwrap()
        size = 0
        async for chunk in execution.output():
            size += len(chunk.data)
        ended = await execution.wait()
        _check(is_successful(ended) and size > 1024, "direct exec")

    async def ask() -> None:
        reply = await warden.ask(_PROMPT)
        _check(is_successful(reply), f"ask: {reply}")

    async def ask_conversation() -> None:
        reply = await warden.ask(_PROMPT, conversation="bench")
        _check(is_successful(reply), f"ask: {reply}")

    await warden.probe()
    await direct()
    await ask()
    await ask_conversation()
    times = await _alternate((direct, ask, ask_conversation), iterations)
    exec_ms, ask_ms, conversation_ms = (statistics.median(t) for t in times)

    one, _, _ = await _timed_probes(warden, 1, probes)
    many, tools_cpu, own_cpu = await _timed_probes(warden, _FANOUT, probes)
    cpus = os.cpu_count() or 1
    # With every core busy the fan-out cannot beat the tools' CPU time.
    floor = _FANOUT * (tools_cpu + own_cpu) / cpus

    os.environ[LATENCY_ENV] = repr(_EMULATED_LATENCY)
    try:
        slow_one, _, _ = await _timed_probes(warden, 1, probes)
        slow_many, _, _ = await _timed_probes(warden, _FANOUT, probes)
    finally:
        del os.environ[LATENCY_ENV]
    ask_ratio = ask_ms / exec_ms - 1
    fanout = many / one
    slow_fanout = slow_many / slow_one

    return {
        "exec_median_ms": round(exec_ms, 2),
        "ask_median_ms": round(ask_ms, 2),
        "ask_overhead_ratio": round(ask_ratio, 4),
        "ask_overhead_target": _ASK_TARGET,
        "ask_passed": ask_ratio <= _ASK_TARGET,
        "ask_conversation_median_ms": round(conversation_ms, 2),
        "ask_conversation_overhead_ratio": round(
            conversation_ms / exec_ms - 1,
            4,
        ),
        "probe_one_median_ms": round(one, 2),
        "probe_twenty_median_ms": round(many, 2),
        "probe_fanout_ratio": round(fanout, 3),
        "probe_fanout_target": _FANOUT_TARGET,
        "probe_fanout_passed": fanout <= _FANOUT_TARGET,
        "probe_tools_cpu_ms_each": round(tools_cpu, 2),
        "probe_warden_cpu_ms_each": round(own_cpu, 2),
        "probe_twenty_cpu_floor_ms": round(floor, 2),
        "probe_fanout_cpu_bound": floor > _FANOUT_TARGET * one,
        "emulated_tool_latency_s": _EMULATED_LATENCY,
        "emulated_probe_one_median_ms": round(slow_one, 2),
        "emulated_probe_twenty_median_ms": round(slow_many, 2),
        "emulated_probe_fanout_ratio": round(slow_fanout, 3),
        "emulated_probe_fanout_passed": slow_fanout <= _FANOUT_TARGET,
        "iterations": iterations,
        "cpus": cpus,
    }


async def _alternate(
    runs: tuple[Callable[[], Awaitable[None]], ...],
    iterations: int,
) -> list[list[float]]:
    times: list[list[float]] = [[] for _ in runs]
    for _ in range(iterations):
        for index, run in enumerate(runs):
            started = time.perf_counter()
            await run()
            times[index].append((time.perf_counter() - started) * 1000)

    return times


async def _timed_probes(
    warden: Warden,
    count: int,
    rounds: int,
) -> tuple[float, float, float]:
    """
    Median wall time of ``count`` probes at once, with CPU per probe.

    The CPU figures are milliseconds per probe: the fake tools' (child
    processes) and this process's own.
    """
    names = [_name(index) for index in range(count)]
    times = []
    before = _cpu()
    for _ in range(rounds):
        started = time.perf_counter()
        results = await asyncio.gather(*(warden.probe(n) for n in names))
        times.append((time.perf_counter() - started) * 1000)
        _check(all(map(is_successful, results)), f"probe: {results}")
    after = _cpu()
    probes = count * rounds
    tools = (after[0] - before[0]) * 1000 / probes
    own = (after[1] - before[1]) * 1000 / probes

    return statistics.median(times), tools, own


def _cpu() -> tuple[float, float]:
    """CPU seconds used so far by ended child processes, and by us."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = resource.getrusage(resource.RUSAGE_SELF)

    return (
        children.ru_utime + children.ru_stime,
        own.ru_utime + own.ru_stime,
    )


def _name(index: int) -> SandboxName:
    return SandboxName(f"bench-{index}")


def _check(ok: bool, what: str) -> None:
    if not ok:
        msg = f"the benchmark's run failed: {what}"
        raise SystemExit(msg)


if __name__ == "__main__":
    sys.exit(main())
