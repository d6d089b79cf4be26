"""
The heal lock across real processes: one heals, the others use its result.

Three ``sandwarden ask`` processes share one state store and one fake
``docker`` whose primary sandbox is logged out; each sees the same auth
failure and heals. A ``docker`` shim in front of the fake logs every
command line, and holds the heal sandbox's ``create`` until the other
processes have logged that they wait for the heal lock: so the overlap
is arranged by what the processes say, not by how fast they run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import IO

import pytest

from sandwarden.simulator.fakes import FakeTools
from sandwarden.simulator.fakes.sandboxes import snapshot
from tests.cli.warden_cli import isolate, real_environment, sandwarden_process

PROCESSES = 3
TEMPLATE = "sandwarden-auth:latest"
HEAL_SANDBOX = "sandwarden-heal"
WAITS = "another process holds the heal lock; the heal waits"
# Only reached when the lock is not honoured: no process ever waits, and
# the creates go on so that the assertions, not a hang, report it.
BARRIER_SECONDS = 20.0

_SHIM = """\
#!{python}
import os
import sys
import time
from pathlib import Path

argv = sys.argv[1:]
with open({calls!r}, "a", encoding="utf-8") as calls:
    calls.write(" ".join(argv) + "\\n")
if argv[:2] == ["sandbox", "create"] and {heal!r} in argv:
    deadline = time.monotonic() + {barrier!r}
    while time.monotonic() < deadline:
        logs = [
            path.read_text(encoding="utf-8", errors="replace")
            for path in Path({logs!r}).glob("*.err")
        ]
        if sum({waits!r} in log for log in logs) >= {others!r}:
            break
        time.sleep(0.05)
os.execv({docker!r}, [{docker!r}, *argv])
"""


@pytest.fixture(autouse=True)
def workspace(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    return isolate(monkeypatch, tmp_path)


def install_shim(tools: FakeTools, root: Path, logs: Path) -> Path:
    """Put the logging, holding ``docker`` first; return its call log."""
    bin_dir = root / "shim"
    bin_dir.mkdir()
    calls = root / "docker-calls.log"
    shim = bin_dir / "docker"
    shim.write_text(
        _SHIM.format(
            python=sys.executable,
            calls=str(calls),
            heal=HEAL_SANDBOX,
            barrier=BARRIER_SECONDS,
            logs=str(logs),
            waits=WAITS,
            others=PROCESSES - 1,
            docker=str(tools.bin_dir / "docker"),
        ),
        encoding="utf-8",
    )
    shim.chmod(0o755)

    return calls


def answers(asks: list[subprocess.Popen[str]]) -> list[str]:
    """Wait for every ask's stdout; kill any left when one times out."""
    try:
        return [ask.communicate(timeout=120)[0] for ask in asks]
    finally:
        for ask in asks:
            if ask.poll() is None:
                ask.kill()
                ask.wait()


def test_of_asks_seeing_one_failure_one_heals_and_the_others_reuse_it(
    tmp_path: Path,
    workspace: Path,
) -> None:
    tools = FakeTools(tmp_path / "fakes", time_scale=0.01)
    tools.add_sandbox("sandwarden", workspace)
    with tools.change() as state:
        primary = state.world.sandboxes["sandwarden"]
        snapshot(state.world, primary, TEMPLATE)
    tools.log_out("sandwarden")
    logs = tmp_path / "logs"
    logs.mkdir()
    calls = install_shim(tools, tmp_path, logs)
    environment = real_environment(tools, tmp_path)
    environment["PATH"] = os.pathsep.join(
        [str(tmp_path / "shim"), environment["PATH"]],
    )
    environment["PWD"] = str(workspace)
    errs: list[IO[str]] = [
        (logs / f"ask-{n}.err").open("w", encoding="utf-8")
        for n in range(PROCESSES)
    ]

    # All started before any is waited on; the DEBUG log carries the
    # lock's "waits" note that the shim's barrier reads.
    asks = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sandwarden",
                "ask",
                f"question {n}",
                "--log-level",
                "debug",
            ],
            stdout=subprocess.PIPE,
            stderr=errs[n],
            text=True,
            env=environment,
            cwd=workspace,
        )
        for n in range(PROCESSES)
    ]
    outs = answers(asks)
    for err in errs:
        err.close()
    stderrs = [
        (logs / f"ask-{n}.err").read_text(encoding="utf-8")
        for n in range(PROCESSES)
    ]
    status = sandwarden_process(environment, workspace, "status", "--json")

    for n, ask in enumerate(asks):
        assert ask.returncode == 0, stderrs[n]
        assert outs[n] == f"You said: question {n}\n", stderrs[n]
    healers = [err for err in stderrs if "healed: sandwarden-heal" in err]
    reusers = [err for err in stderrs if "another process healed" in err]
    assert len(healers) == 1, stderrs
    assert len(reusers) == PROCESSES - 1, stderrs
    assert all(WAITS in err for err in reusers)
    assert all(
        f"another process healed; now using {HEAL_SANDBOX}" in err
        for err in reusers
    )
    recorded = json.loads(status.stdout)
    assert status.returncode == 0, status.stderr
    assert recorded["active"] == HEAL_SANDBOX
    assert [heal["sandbox"] for heal in recorded["heals"]] == [HEAL_SANDBOX]
    assert recorded["heals"][0]["succeeded"] is True
    creates = [
        line
        for line in calls.read_text(encoding="utf-8").splitlines()
        if line.startswith("sandbox create ")
    ]
    assert len(creates) == 1, creates
    assert f"--name {HEAL_SANDBOX} " in creates[0]
    assert set(tools.sandboxes()) == {"sandwarden", HEAL_SANDBOX}
